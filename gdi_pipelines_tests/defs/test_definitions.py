"""The code location loads as Dagster loads it, and refuses a bad configuration in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from gdi_pipelines.defs.jobs import INGEST_JOB

REPO = Path(__file__).resolve().parents[2]


def test_definitions_assemble_assets_checks_job_and_resource(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GDI_COUNTRIES", "SE,DK")
    from gdi_pipelines.definitions import defs

    loaded = defs()
    graph = loaded.resolve_asset_graph()
    raw = graph.get(dg.AssetKey("raw_sequences"))
    assert raw.group_name == "sequencing"
    partitions = raw.partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    assert [d.name for d in partitions.partitions_defs] == ["batch", "country"]
    country = partitions.get_partitions_def_for_dimension("country")
    assert country.get_partition_keys() == ["SE", "DK"]
    raw_def = next(a for a in loaded.assets if dg.AssetKey("raw_sequences") in a.keys)
    checks = {spec.name: spec for spec in raw_def.check_specs}
    assert checks["files_present_and_intact"].blocking
    assert not checks["read_quality"].blocking
    assert loaded.resolve_job_def(INGEST_JOB).partitions_def == partitions
    assert "platform" in loaded.resources


def _validate(env: dict[str, str]) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "DAGSTER_"))}
    full = inherited | env
    return subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_dagster_loads_the_workspace(gdi_home: Path):
    done = _validate({"GDI_HOME": str(gdi_home)})
    assert done.returncode == 0, done.stdout + done.stderr


def test_dagster_refuses_a_bad_setting_naming_it(gdi_home: Path):
    done = _validate({"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE,XX"})
    assert done.returncode != 0
    assert (
        "GDI_COUNTRIES: 'XX' is not an ISO 3166-1 alpha-2 country code" in done.stdout + done.stderr
    )


@pytest.mark.parametrize(
    ("name", "executor"),
    [("multiprocess", "multiprocess"), ("in_process", "in_process"), ("k8s", "k8s")],
)
def test_executor_follows_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, executor: str):
    monkeypatch.setenv("GDI_EXECUTOR", name)
    from gdi_pipelines.definitions import defs

    job = defs().resolve_job_def(INGEST_JOB)
    assert job.executor_def.name == executor


def test_unknown_executor_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GDI_EXECUTOR", "spark")
    from gdi_pipelines.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=r"^GDI_EXECUTOR: 'spark' is not one of"):
        load_settings()
