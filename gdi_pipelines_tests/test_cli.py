"""`gdi` end to end on a fresh GDI_HOME: the demo publishes tables and records runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]


def gdi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "DAGSTER_"))}
    return subprocess.run(
        [sys.executable, "-m", "gdi_pipelines.cli", *args],
        cwd=REPO,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_bad_setting_is_one_line_naming_it(gdi_home: Path):
    done = gdi("check", env={"GDI_HOME": str(gdi_home), "GDI_WAREHOUSE_URI": "ftp://x/y"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "gdi: configuration error: GDI_WAREHOUSE_URI: 'ftp://x/y' uses scheme 'ftp'; "
        "only local paths and s3:// are supported"
    ]


def test_check_lists_the_nodes(gdi_home: Path):
    done = gdi("check", env={"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE,EE"})
    assert done.returncode == 0, done.stderr
    assert "EE Estonia: landing" in done.stdout


@pytest.mark.slow
def test_demo_publishes_every_asset_into_the_local_instance(gdi_home: Path):
    env = {"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE,DK"}
    small = ("--samples", "4", "--variants", "150", "--reads", "40")
    done = gdi("demo", *small, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SE/b001: ok" in done.stdout and "DK/b001: ok" in done.stdout
    warehouse = gdi_home / "warehouse" / "nodes"
    for country in ("SE", "DK"):
        table = pl.read_delta(str(warehouse / country / "raw_sequences"))
        assert table.height == 8  # 4 samples x R1/R2
        assert table["checksum_ok"].all()
    instance = dg.DagsterInstance.from_config(str(gdi_home / "dagster"))
    runs = instance.get_runs()
    assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert instance.get_dynamic_partitions("batches") == ["b001"]
    again = gdi("demo", *small, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    table = pl.read_delta(str(warehouse / "SE" / "raw_sequences"))
    assert table.height == 8, "re-running the demo replaces its partitions"
