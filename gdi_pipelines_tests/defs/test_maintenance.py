"""The maintenance job compacts and vacuums, and time travel survives within the retention."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gdi_pipelines.config import load_settings
from gdi_pipelines.defs.maintenance import delta_maintenance
from gdi_pipelines.defs.resources import PlatformResource


@pytest.fixture
def table(gdi_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GDI_COUNTRIES", "SE")
    uri = Path(load_settings().node("SE").warehouse.uri) / "raw_sequences"
    for batch in range(6):  # six small commits, six small files
        frame = pl.DataFrame({"batch_id": [f"b{batch}"], "value": [batch]})
        frame.write_delta(str(uri), mode="append")
    return uri


def run(retention_days: int) -> dg.ExecuteInProcessResult:
    return delta_maintenance.execute_in_process(
        run_config={"ops": {"compact_and_vacuum": {"config": {"retention_days": retention_days}}}},
        resources={"platform": PlatformResource()},
    )


def files(table: Path) -> int:
    return len(list(table.glob("*.parquet")))


def test_compaction_keeps_old_versions_within_retention(table: Path):
    before = files(table)
    result = run(retention_days=30)
    assert result.success
    assert result.output_for_node("compact_and_vacuum") == 1  # tables maintained
    latest = pl.read_delta(str(table))
    assert sorted(latest["value"]) == list(range(6))
    assert pl.read_delta(str(table), version=2).height == 3, "time travel within retention"
    assert files(table) == before + 1  # compacted file added, old ones kept for time travel


def test_zero_retention_vacuums_what_compaction_replaced(table: Path):
    assert run(retention_days=0).success
    assert files(table) == 1
    assert sorted(pl.read_delta(str(table))["value"]) == list(range(6))
