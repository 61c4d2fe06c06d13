from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gdi_pipelines.config import load_settings
from gdi_pipelines.domain.manifest import FileEntry, Manifest, ManifestError, SampleEntry
from gdi_pipelines.storage.landing import discover_batches, read_manifest


def land_batch(
    root: Path, country: str, batch: str, content: bytes = b"@r\nACGT\n+\nIIII\n"
) -> Path:
    folder = root / country / batch
    (folder / "reads").mkdir(parents=True)
    (folder / "reads" / "s1_R1.fastq").write_bytes(content)
    manifest = Manifest(
        country=country,
        batch_id=batch,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        reference_build="GRCh38",
        samples=[SampleEntry(sample_id="s1")],
        files=[
            FileEntry(
                path="reads/s1_R1.fastq",
                kind="sequencing",
                format="FASTQ",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                sample_id="s1",
                read=1,
            )
        ],
    )
    (folder / "manifest.json").write_text(manifest.to_json())
    return folder


def test_discovery_tells_complete_from_arriving(gdi_home: Path):
    settings = load_settings()
    landing = Path(settings.landing.uri)
    land_batch(landing, "SE", "b001")
    half = land_batch(landing, "SE", "b002")
    (half / "reads" / "s1_R1.fastq").write_bytes(b"@r\nAC")  # still uploading
    (landing / "SE" / "b003" / "reads").mkdir(parents=True)
    (landing / "SE" / "b003" / "reads" / "s1_R1.fastq").write_bytes(b"@r\n")  # no manifest yet
    found = {b.batch_id: b for b in discover_batches(settings.node("SE"))}
    assert found["b001"].complete
    assert not found["b002"].complete and found["b002"].missing == ("reads/s1_R1.fastq",)
    assert not found["b003"].complete and found["b003"].problem == "no manifest yet"
    assert discover_batches(settings.node("DK")) == []


def test_manifest_in_the_wrong_folder_is_refused(gdi_home: Path):
    settings = load_settings()
    folder = land_batch(Path(settings.landing.uri), "SE", "b001")
    (Path(settings.landing.uri) / "DK").mkdir()
    folder.rename(Path(settings.landing.uri) / "DK" / "b001")  # SE's batch landed under DK/
    with pytest.raises(ManifestError, match="manifest says SE/b001, but it lies in DK/b001"):
        read_manifest(settings.node("DK"), "b001")


def test_missing_manifest_is_a_clear_error(gdi_home: Path):
    settings = load_settings()
    with pytest.raises(ManifestError, match="no manifest: batch b9 has not landed for FI"):
        read_manifest(settings.node("FI"), "b9")
