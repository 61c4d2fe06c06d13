"""A batch whose sample QC fails its gate: nothing published, quarantined with the figure,
the summaries downstream not run, other partitions untouched; the same batch then passes."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import load_settings
from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines_tests.defs.landing_fixtures import KEY

STRICT = {"ops": {"sample_qc": {"config": {"min_pass_fraction": 1.01}}}}


def test_a_failing_sample_qc_gate_publishes_nothing_and_stops_the_summaries(
    gdi_home: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GDI_COUNTRIES", "SE,DK")
    monkeypatch.setenv("GDI_PSEUDONYM_KEY", KEY)
    assert gdi(["synth", "--samples", "12", "--variants", "300", "--reads", "10"]) == 0
    settings = load_settings()
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(BATCHES.name, ["b001"])
    job = build_definitions(settings.countries, "in_process").resolve_job_def("ingest_batch")

    def run(country: str, run_config=None):
        key = CountryBatch(country, "b001").key
        return job.execute_in_process(
            instance=instance, partition_key=key, run_config=run_config, raise_on_error=False
        )

    assert run("DK").success
    se = settings.node("SE").warehouse
    qc, summaries = TableRef(se.child("sample_qc")), TableRef(se.child("country_variant_summaries"))
    dk_qc = TableRef(settings.node("DK").warehouse.child("sample_qc"))
    dk_before = (dk_qc.version(), dk_qc.read())

    bad = run("SE", STRICT)
    assert not bad.success
    checks = {e.check_name: e for e in bad.get_asset_check_evaluations()}
    gate = checks["qc_pass_fraction"]
    assert not gate.passed and gate.metadata["fraction"].value < 1.01
    assert qc.version() is None and summaries.version() is None
    started = {e.step_key for e in bad.all_events if e.event_type_value == "STEP_START"}
    assert "sample_qc" in started and "country_variant_summaries" not in started
    quarantine = Path(se.uri) / "_quarantine" / "sample_qc" / "batch_id-b001" / bad.run_id
    report = json.loads((quarantine / "report.json").read_text())
    assert [c["name"] for c in report["failed_checks"]] == ["qc_pass_fraction"]
    assert pl.read_delta(str(quarantine / "data")).height == 12
    assert dk_qc.version() == dk_before[0]
    assert dk_qc.read().sort("sample").equals(dk_before[1].sort("sample"))

    good = run("SE")
    assert good.success
    assert qc.read().height == 12 and summaries.version() == 0
