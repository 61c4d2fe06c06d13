"""Write-audit-publish on local Delta tables: one commit per partition, quarantine on failure."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage.delta import TableRef, sql_predicate
from gdi_pipelines.storage.publish import PartitionPublisher

SCHEMA = pl.Schema({"country": pl.String, "batch_id": pl.String, "value": pl.Int64})


def publisher(root: Path, batch: str, run_id: str) -> PartitionPublisher:
    node = Location(str(root / "nodes" / "SE"))
    return PartitionPublisher(node.child("t"), node, "t", {"batch_id": batch}, run_id, SCHEMA)


def rows(batch: str, values: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"country": ["SE"] * len(values), "batch_id": [batch] * len(values), "value": values},
        schema=SCHEMA,
    )


def test_publish_replaces_exactly_one_partition(tmp_path: Path):
    first = publisher(tmp_path, "b1", "r1")
    first.stage(rows("b1", [1, 2]))
    first.stage(rows("b1", [3]))
    assert first.staged().select(pl.len()).collect().item() == 3
    result = first.publish()
    assert (result.version, result.rows_written, result.partition_rows) == (0, 3, 3)
    second = publisher(tmp_path, "b2", "r2")
    second.stage(rows("b2", [10]))
    second.publish()
    again = publisher(tmp_path, "b1", "r3")
    again.stage(rows("b1", [7, 8]))
    result = again.publish()
    table = TableRef(Location(result.table_uri)).read()
    assert result.version == 2
    assert sorted(table.filter(pl.col("batch_id") == "b1")["value"]) == [7, 8]
    assert table.filter(pl.col("batch_id") == "b2")["value"].to_list() == [10]
    assert not Path(again.staging.uri).exists(), "staging is removed after publishing"


def test_empty_partition_publishes_a_deletion(tmp_path: Path):
    p = publisher(tmp_path, "b1", "r1")
    p.stage(rows("b1", [1]))
    p.publish()
    empty = publisher(tmp_path, "b1", "r2")
    result = empty.publish()
    assert result.partition_rows == 0 and result.version == 1


def test_quarantine_leaves_table_untouched(tmp_path: Path):
    good = publisher(tmp_path, "b1", "r1")
    good.stage(rows("b1", [1]))
    published = good.publish()
    bad = publisher(tmp_path, "b1", "r2")
    bad.stage(rows("b1", [99, 100]))
    where = bad.quarantine({"failed_checks": ["value_range"]})
    ref = TableRef(Location(published.table_uri))
    assert ref.version() == published.version
    assert ref.read()["value"].to_list() == [1]
    report = json.loads((Path(where) / "report.json").read_text())
    assert report["failed_checks"] == ["value_range"]
    quarantined = pl.read_delta(str(Path(where) / "data"))
    assert sorted(quarantined["value"]) == [99, 100]


def test_stage_rejects_rows_of_the_wrong_schema(tmp_path: Path):
    p = publisher(tmp_path, "b1", "r1")
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        p.stage(pl.DataFrame({"country": ["SE"], "batch_id": ["b1"]}))


def test_sql_predicate_escapes_quotes():
    assert sql_predicate({"b": "x'y", "a": "1"}) == "a = '1' AND b = 'x''y'"


def whole_table(root: Path, run_id: str, schema: pl.Schema) -> PartitionPublisher:
    zone = Location(str(root / "federation"))
    return PartitionPublisher(zone.child("pooled"), zone, "pooled", {}, run_id, schema, ())


def test_whole_table_publish_moves_its_files_and_may_change_the_columns(tmp_path: Path):
    def parquet(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in folder.rglob("*.parquet")}

    first = whole_table(tmp_path, "r1", SCHEMA)
    first.stage(rows("b1", [1, 2]))
    assert first.publish().version == 0
    wider = SCHEMA | {"AC_DK": pl.Int64}
    second = whole_table(tmp_path, "r2", wider)
    second.stage(rows("b2", [5, 6, 7]).with_columns(AC_DK=pl.col("value") * 10))
    second.staged()
    staged = parquet(Path(second.staging.uri))
    result = second.publish()
    assert (result.version, result.rows_written, result.partition_rows) == (1, 3, 3)
    table = TableRef(Location(result.table_uri))
    latest = table.read()
    assert latest.schema == wider
    assert latest.sort("value")["AC_DK"].to_list() == [50, 60, 70]
    assert table.read(version=0).schema == SCHEMA
    published = parquet(tmp_path / "federation" / "pooled")
    assert staged and set(staged) <= set(published), "the staged files were moved, not rewritten"
    assert all(published[name] == data for name, data in staged.items())


def test_staged_partitions_lists_the_values_of_a_partition_column(tmp_path: Path):
    node = Location(str(tmp_path / "nodes" / "SE"))
    schema = pl.Schema({**SCHEMA, "chrom": pl.String})
    by_chrom = PartitionPublisher(
        node.child("c"), node, "c", {"batch_id": "b1"}, "r1", schema, ("batch_id", "chrom")
    )
    for chrom in ("chrX", "chr1", "chrX", "chr10"):
        by_chrom.stage(rows("b1", [1, 2]).with_columns(chrom=pl.lit(chrom)))
    assert by_chrom.staged_partitions("chrom") == ["chr1", "chr10", "chrX"]
    assert by_chrom.staged_partitions("batch_id") == ["b1"]
    assert by_chrom.staged_partitions("value") is None  # not a partition column
    assert by_chrom.staged().select("chrom").unique().collect()["chrom"].sort().to_list() == [
        "chr1",
        "chr10",
        "chrX",
    ]
