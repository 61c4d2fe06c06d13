"""`raw_sequences` through Dagster on real Illumina reads: figures, gates, idempotence."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gdi_pipelines.config import load_settings
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch, country_batch_partitions
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.sequencing import build_sequencing_defs
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.domain.sequencing import load_private_key
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines_tests.defs.landing_fixtures import KEY, materialise, write_batch
from gdi_pipelines_tests.domain.crypt4gh_files import encrypt, make_keypair

READS = Path(__file__).resolve().parents[1] / "data" / "reads"
PAIR = ("ERR127302_1_subset.fastq.gz", "ERR127302_2_subset.fastq.gz")


def land(landing: Path, country: str, batch: str, samples: dict[str, tuple[str, ...]]) -> Path:
    files = {
        f"reads/{sample}_R{read}.fastq.gz": (
            READS / name,
            "sequencing",
            "FASTQ",
            {"sample_id": sample, "read": read},
        )
        for sample, names in samples.items()
        for read, name in enumerate(names, start=1)
    }
    return write_batch(landing / country / batch, country, batch, list(samples), files)


@pytest.fixture
def node(gdi_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GDI_COUNTRIES", "SE,DK")
    monkeypatch.setenv("GDI_PSEUDONYM_KEY", KEY)
    settings = load_settings()
    instance = dg.DagsterInstance.ephemeral()
    defs = build_sequencing_defs(country_batch_partitions(settings.countries))
    return settings, instance, defs


def run(instance, defs, country: str, batch: str) -> dg.ExecuteInProcessResult:
    return materialise(instance, defs, country, batch)


def seqkit(path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["seqkit", "stats", "-a", "-T", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return dict(zip(out[0].split("\t"), out[1].split("\t"), strict=True))


def test_real_reads_are_measured_like_seqkit(node):
    settings, instance, defs = node
    folder = land(Path(settings.landing.uri), "SE", "b001", {"SE-LAB-1": PAIR})
    result = run(instance, defs, "SE", "b001")
    assert result.success
    table = TableRef(settings.node("SE").warehouse.child("raw_sequences")).read()
    assert table.height == 2
    assert set(table["sample"]) == {pseudonymise(KEY.encode(), "SE", "SE-LAB-1")}
    assert "SE-LAB-1" not in table.write_csv()
    for row in table.iter_rows(named=True):
        oracle = seqkit(READS / PAIR[row["read"] - 1])
        assert row["read_count"] == int(oracle["num_seqs"])
        assert row["base_count"] == int(oracle["sum_len"])
        assert row["read_length_min"] == int(oracle["min_len"])
        assert row["read_length_max"] == int(oracle["max_len"])
        assert abs(100 * row["q30_fraction"] - float(oracle["Q30(%)"])) <= 0.005 + 1e-9
        assert abs(100 * row["gc_fraction"] - float(oracle["GC(%)"])) <= 0.005 + 1e-9
        landed = (folder / "reads" / f"SE-LAB-1_R{row['read']}.fastq.gz").read_bytes()
        assert row["checksum_computed"] == hashlib.sha256(landed).hexdigest()
        assert row["checksum_ok"] and row["problem"] is None
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations["files_present_and_intact"] and evaluations["every_sample_sequenced"]


def test_rematerialising_replaces_only_its_partition(node):
    settings, instance, defs = node
    landing = Path(settings.landing.uri)
    land(landing, "SE", "b001", {"SE-LAB-1": PAIR})
    land(landing, "SE", "b002", {"SE-LAB-2": PAIR[:1]})
    assert run(instance, defs, "SE", "b001").success
    assert run(instance, defs, "SE", "b002").success
    assert run(instance, defs, "SE", "b001").success
    table = TableRef(settings.node("SE").warehouse.child("raw_sequences")).read()
    counts = dict(table.group_by("batch_id").len().iter_rows())
    assert counts == {"b001": 2, "b002": 1}


def _corrupt_checksum(folder: Path) -> str:
    manifest = (folder / "manifest.json").read_text()
    digest = hashlib.sha256((folder / "reads" / "SE-LAB-1_R1.fastq.gz").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(manifest.replace(digest, "0" * 64))
    return "checksum or size differs from the manifest"


def _missing_file(folder: Path) -> str:
    (folder / "reads" / "SE-LAB-1_R2.fastq.gz").unlink()
    return "missing: listed in the manifest but not landed"


def _truncated_gzip(folder: Path) -> str:
    path = folder / "reads" / "SE-LAB-1_R1.fastq.gz"
    data = path.read_bytes()[:40_000]
    path.write_bytes(data)
    manifest = (folder / "manifest.json").read_text()
    original = (READS / PAIR[0]).read_bytes()
    manifest = manifest.replace(
        hashlib.sha256(original).hexdigest(), hashlib.sha256(data).hexdigest()
    )
    (folder / "manifest.json").write_text(manifest.replace(str(len(original)), str(len(data))))
    return "truncated"


@pytest.mark.parametrize("damage", [_corrupt_checksum, _missing_file, _truncated_gzip])
def test_damaged_batch_fails_the_gate_and_publishes_nothing(node, damage):
    settings, instance, defs = node
    landing = Path(settings.landing.uri)
    land(landing, "SE", "b001", {"SE-LAB-1": PAIR})
    assert run(instance, defs, "SE", "b001").success
    table = TableRef(settings.node("SE").warehouse.child("raw_sequences"))
    before_version, before = table.version(), table.read()
    shutil.rmtree(landing / "SE" / "b001")
    folder = land(landing, "SE", "b001", {"SE-LAB-1": PAIR})
    expected = damage(folder)
    result = run(instance, defs, "SE", "b001")
    assert not result.success
    evaluation = {e.check_name: e for e in result.get_asset_check_evaluations()}
    intact = evaluation["files_present_and_intact"]
    assert not intact.passed and intact.metadata["failed_files"].value == 1
    assert expected in intact.metadata["failures"].value
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    pseudonym = pseudonymise(KEY.encode(), "SE", "SE-LAB-1")
    assert (
        f"{pseudonym}_R" in message and expected in message and "Nothing was published" in message
    )
    assert "SE-LAB-1" not in message, "national sample ids never reach the event log"
    assert table.version() == before_version
    assert table.read().equals(before)
    quarantine = Path(failure.step_failure_data.user_failure_data.metadata["quarantine_uri"].value)
    assert (quarantine / "report.json").exists()
    assert pl.read_delta(str(quarantine / "data")).height == 2


def test_unlisted_file_and_low_quality_warn_but_publish(node):
    settings, instance, defs = node
    folder = land(Path(settings.landing.uri), "DK", "b001", {"DK-LAB-1": PAIR[:1]})
    (folder / "reads" / "stray.fastq.gz").write_bytes(gzip.compress(b"@r\nA\n+\nI\n"))
    instance.add_dynamic_partitions(BATCHES.name, ["b001"])
    result = dg.materialize(
        defs.assets,
        instance=instance,
        partition_key=CountryBatch("DK", "b001").key,
        resources={"platform": PlatformResource()},
        run_config={"ops": {"raw_sequences": {"config": {"min_q30_fraction": 0.999}}}},
        raise_on_error=False,
    )
    assert result.success
    evaluation = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluation["no_unlisted_files"].passed
    assert "stray.fastq.gz" in evaluation["no_unlisted_files"].metadata["failures"].value
    assert not evaluation["read_quality"].passed
    assert evaluation["read_quality"].metadata["files_below"].value == 1


PASSPHRASE = "node passphrase, never logged"
QC = [
    "read",
    "read_count",
    "base_count",
    "mean_base_quality",
    "q30_fraction",
    "gc_fraction",
    "read_length_min",
    "read_length_mean",
    "read_length_max",
    "mapped_fraction",
    "checksum_ok",
    "problem",
]


def land_encrypted(landing: Path, batch: str, sample: str, pubkey: bytes) -> Path:
    """The pair as a lab lands it for the SE node: Crypt4GH for the node's public key."""
    files = {
        f"reads/{sample}_R{read}.fastq.gz.c4gh": (
            encrypt((READS / name).read_bytes(), pubkey),
            "sequencing",
            "FASTQ",
            {"sample_id": sample, "read": read, "encryption": "crypt4gh"},
        )
        for read, name in enumerate(PAIR, start=1)
    }
    return write_batch(landing / "SE" / batch, "SE", batch, [sample], files)


def test_crypt4gh_reads_publish_the_same_qc_as_plain_ones(node, tmp_path, monkeypatch):
    settings, instance, defs = node
    seckey_file, pubkey = make_keypair(tmp_path / "secrets", "se-node", PASSPHRASE)
    monkeypatch.setenv("GDI_CRYPT4GH_SECKEY_FILE", str(tmp_path / "absent.sec"))  # SE's wins
    monkeypatch.setenv("GDI_CRYPT4GH_SECKEY_FILE_SE", str(seckey_file))
    monkeypatch.setenv("GDI_CRYPT4GH_PASSPHRASE", PASSPHRASE)
    landing = Path(settings.landing.uri)
    land(landing, "SE", "b001", {"SE-LAB-1": PAIR})
    folder = land_encrypted(landing, "b002", "SE-LAB-1", pubkey)
    results = [run(instance, defs, "SE", batch) for batch in ("b001", "b002")]
    assert all(result.success for result in results)
    table = TableRef(settings.node("SE").warehouse.child("raw_sequences")).read()
    plain, encrypted = (
        table.filter(pl.col("batch_id") == batch).sort("read") for batch in ("b001", "b002")
    )
    assert encrypted.select(QC).equals(plain.select(QC))
    assert encrypted["checksum_ok"].all() and encrypted["read_count"].min() > 0
    landed = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert landed == [
        "manifest.json",
        "reads/SE-LAB-1_R1.fastq.gz.c4gh",
        "reads/SE-LAB-1_R2.fastq.gz.c4gh",
    ], "only the encrypted files: no plaintext next to them"
    assert encrypted["size_bytes"].to_list() == [
        (folder / path).stat().st_size for path in landed[1:]
    ]
    events = repr(list(instance.all_logs(results[1].run_id)))
    assert PASSPHRASE not in events
    assert load_private_key(seckey_file, PASSPHRASE).hex() not in events


def test_crypt4gh_reads_without_a_node_key_fail_naming_the_setting(node, tmp_path):
    settings, instance, defs = node
    _, pubkey = make_keypair(tmp_path / "secrets", "se-node")
    land_encrypted(Path(settings.landing.uri), "b001", "SE-LAB-1", pubkey)
    result = run(instance, defs, "SE", "b001")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.cause.message
    assert message.startswith("gdi_pipelines.config.errors.ConfigError: GDI_CRYPT4GH_SECKEY_FILE:")
    assert "node SE has Crypt4GH-encrypted files to read but no private key" in message
    assert "set GDI_CRYPT4GH_SECKEY_FILE_SE or GDI_CRYPT4GH_SECKEY_FILE" in message
    assert TableRef(settings.node("SE").warehouse.child("raw_sequences")).version() is None
