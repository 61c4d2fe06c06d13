"""The landing-zone sensor on a local landing zone: new, half-uploaded, unchanged, re-landed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from gdi_pipelines.config import load_settings
from gdi_pipelines.defs.partitions import CountryBatch
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.sensors import landing_zone_sensor
from gdi_pipelines.storage.objectstore import S3Store
from gdi_pipelines_tests.defs.landing_fixtures import write_batch

FASTQ = b"@r1\nACGT\n+\nIIII\n"


def land(landing: Path, country: str, batch: str, content: bytes = FASTQ) -> Path:
    files = {"reads/s1_R1.fastq": (content, "sequencing", "FASTQ", {"sample_id": "s1", "read": 1})}
    return write_batch(landing / country / batch, country, batch, ["s1"], files)


def tick(instance: dg.DagsterInstance, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"platform": PlatformResource()}
    )
    return landing_zone_sensor()(context)


@pytest.fixture
def landing(gdi_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GDI_COUNTRIES", "SE,DK")
    return Path(load_settings().landing.uri)


def test_new_batches_become_partitions_and_runs_once(landing: Path):
    instance = dg.DagsterInstance.ephemeral()
    land(landing, "SE", "b001")
    land(landing, "DK", "b001")
    first = tick(instance, None)
    keys = sorted(str(r.partition_key) for r in first.run_requests)
    assert keys == sorted(str(CountryBatch(c, "b001").key) for c in ("SE", "DK"))
    assert first.dynamic_partitions_requests[0].partition_keys == ["b001"]
    instance.add_dynamic_partitions("batches", ["b001"])
    again = tick(instance, first.cursor)
    assert again.run_requests == [] and again.dynamic_partitions_requests == []
    assert again.skip_reason is not None


def test_half_uploaded_batch_waits_until_complete(landing: Path):
    instance = dg.DagsterInstance.ephemeral()
    folder = land(landing, "SE", "b002")
    reads = folder / "reads" / "s1_R1.fastq"
    reads.write_bytes(FASTQ[:5])  # upload in progress: size differs from the manifest
    waiting = tick(instance, None)
    assert waiting.run_requests == []
    reads.write_bytes(FASTQ)
    ready = tick(instance, waiting.cursor)
    assert [str(r.partition_key) for r in ready.run_requests] == [
        str(CountryBatch("SE", "b002").key)
    ]


def test_relanded_batch_runs_again(landing: Path):
    instance = dg.DagsterInstance.ephemeral()
    land(landing, "SE", "b003")
    first = tick(instance, None)
    folder = landing / "SE" / "b003"
    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    land(landing, "SE", "b003", content=b"@r2\nTTTT\n+\nIIII\n")
    second = tick(instance, first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_sensor_on_an_s3_landing_zone(s3_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bucket = s3_env.new_bucket()
    monkeypatch.setenv("GDI_LANDING_URI", f"s3://{bucket}/landing")
    monkeypatch.setenv("GDI_COUNTRIES", "SE")
    node = load_settings().node("SE")
    store = S3Store(node.landing.s3)
    local = land(tmp_path, "SE", "b001")
    instance = dg.DagsterInstance.ephemeral()
    store.write_bytes(f"{node.landing.uri}/b001/reads/s1_R1.fastq", FASTQ)  # manifest not yet
    assert tick(instance, None).run_requests == []
    store.upload_tree(local, f"{node.landing.uri}/b001")  # manifest uploaded last
    ready = tick(instance, None)
    assert [str(r.partition_key) for r in ready.run_requests] == [
        str(CountryBatch("SE", "b001").key)
    ]
    instance.add_dynamic_partitions("batches", ["b001"])
    assert tick(instance, ready.cursor).run_requests == []
