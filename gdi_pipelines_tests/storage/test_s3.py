"""Object store, landing discovery and write-audit-publish on a real S3 server (moto_server)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gdi_pipelines.config import load_settings
from gdi_pipelines.config.locations import Location, S3Credentials
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.landing import discover_batches, read_manifest
from gdi_pipelines.storage.objectstore import S3Store
from gdi_pipelines.storage.publish import PartitionPublisher
from gdi_pipelines_tests.defs.landing_fixtures import write_batch

SCHEMA = pl.Schema({"country": pl.String, "batch_id": pl.String, "value": pl.Int64})


@pytest.fixture
def bucket(s3_env) -> str:
    return s3_env.new_bucket()


def test_objects_stream_list_and_move(bucket: str, s3_env):
    store = S3Store(S3Credentials.from_env(s3_env.env))
    base = f"s3://{bucket}/x"
    store.write_bytes(f"{base}/a/one.bin", b"1" * 10)
    store.write_bytes(f"{base}/a/b/two.bin", b"22")
    listed = store.list(f"{base}/a")
    assert [(o.relative, o.size) for o in listed] == [("b/two.bin", 2), ("one.bin", 10)]
    with store.open_read(f"{base}/a/one.bin") as stream:
        assert stream.read(4) == b"1111"
    store.move_prefix(f"{base}/a", f"{base}/moved")
    assert store.list(f"{base}/a") == []
    assert store.exists(f"{base}/moved/b/two.bin")


def test_landing_on_s3_is_discovered_manifest_last(
    bucket: str, s3_env, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("GDI_LANDING_URI", f"s3://{bucket}/landing")
    monkeypatch.setenv("GDI_COUNTRIES", "SE")
    settings = load_settings()
    node = settings.node("SE")
    local = tmp_path / "batch"
    reads = b"@r\nACGT\n+\nIIII\n"
    files = {"reads/s1_R1.fastq": (reads, "sequencing", "FASTQ", {"sample_id": "s1", "read": 1})}
    write_batch(local, "SE", "b001", ["s1"], files)
    store = S3Store(node.landing.s3)
    store.write_bytes(f"{node.landing.uri}/b001/reads/s1_R1.fastq", reads[:3])  # uploading
    store.write_bytes(
        f"{node.landing.uri}/b001/manifest.json", (local / "manifest.json").read_bytes()
    )
    (half,) = discover_batches(node)
    assert not half.complete and half.missing == ("reads/s1_R1.fastq",)
    store.upload_tree(local, f"{node.landing.uri}/b001")
    (ready,) = discover_batches(node)
    assert ready.complete
    assert read_manifest(node, "b001").samples[0].sample_id == "s1"


def test_write_audit_publish_on_s3(bucket: str, s3_env):
    creds = S3Credentials.from_env(s3_env.env)
    node = Location(f"s3://{bucket}/warehouse/nodes/SE", creds)

    def publisher(batch: str, run: str) -> PartitionPublisher:
        return PartitionPublisher(node.child("t"), node, "t", {"batch_id": batch}, run, SCHEMA)

    def frame(batch: str, values: list[int]) -> pl.DataFrame:
        n = len(values)
        return pl.DataFrame({"country": ["SE"] * n, "batch_id": [batch] * n, "value": values})

    first = publisher("b1", "r1")
    first.stage(frame("b1", [1, 2]))
    assert first.publish().version == 0
    second = publisher("b2", "r2")
    second.stage(frame("b2", [3]))
    second.publish()
    again = publisher("b1", "r3")
    again.stage(frame("b1", [9]))
    result = again.publish()
    table = TableRef(node.child("t"))
    assert result.version == table.version() == 2
    assert sorted(table.read()["value"]) == [3, 9]
    bad = publisher("b2", "r4")
    bad.stage(frame("b2", [100]))
    where = bad.quarantine({"failed": "x"})
    assert table.version() == 2
    assert S3Store(creds).exists(f"{where}/report.json")
    assert not S3Store(creds).list(bad.staging.uri)
