"""Build landing batches for asset tests: files copied in, a manifest written last."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.domain.manifest import FileEntry, Manifest, SampleEntry

KEY = "test-node-key-0123456789"


def entry(folder: Path, path: str, kind: str, fmt: str, **extra) -> FileEntry:
    data = (folder / path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    return FileEntry(path=path, kind=kind, format=fmt, size=len(data), sha256=digest, **extra)


def write_batch(
    folder: Path,
    country: str,
    batch: str,
    samples: list[str],
    files: dict[str, tuple[Path | bytes, str, str, dict]],
) -> Path:
    """`files`: path in batch -> (source file or bytes, kind, format, extra manifest fields)."""
    entries = []
    for path, (source, kind, fmt, extra) in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
        entries.append(entry(folder, path, kind, fmt, **extra))
    manifest = Manifest(
        country=country,
        batch_id=batch,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        reference_build="GRCh38",
        samples=[SampleEntry(sample_id=s) for s in samples],
        files=entries,
    )
    (folder / "manifest.json").write_text(manifest.to_json())
    return folder


def materialise(instance, defs, country: str, batch: str, run_config=None):
    if batch not in instance.get_dynamic_partitions(BATCHES.name):
        instance.add_dynamic_partitions(BATCHES.name, [batch])
    return dg.materialize(
        defs.assets,
        instance=instance,
        partition_key=CountryBatch(country, batch).key,
        resources={"platform": PlatformResource()},
        run_config=run_config,
        raise_on_error=False,
    )
