"""Data files written by polars and committed by deltalake: partition folders, file sizes,
statistics, and a publisher committing them into a table partitioned beyond the batch."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import SchemaMismatchError

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage import data_files
from gdi_pipelines.storage.data_files import PartitionedFiles, file_stats
from gdi_pipelines.storage.publish import PartitionPublisher

SCHEMA = pl.Schema({"batch_id": pl.String, "chrom": pl.String, "pos": pl.Int64, "af": pl.Float64})


def calls(batch: str, chrom: str, positions: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "batch_id": [batch] * len(positions),
            "chrom": [chrom] * len(positions),
            "pos": positions,
            "af": [p / 1000 for p in positions],
        },
        schema=SCHEMA,
    )


def publisher(root: Path, batch: str, run_id: str, schema=SCHEMA) -> PartitionPublisher:
    node = Location(str(root))
    return PartitionPublisher(
        node.child("calls"),
        node,
        "calls",
        {"batch_id": batch},
        run_id,
        schema,
        partition_by=("batch_id", "chrom"),
    )


def test_stats_are_exact_for_integers_and_count_nulls():
    frame = pl.DataFrame({"pos": [5, None, 2], "name": ["b", None, None], "af": [0.1, None, 1.0]})
    stats = json.loads(file_stats(frame))
    assert stats["numRecords"] == 3
    assert stats["nullCount"] == {"pos": 1, "name": 2, "af": 1}
    assert (stats["minValues"], stats["maxValues"]) == ({"pos": 2}, {"pos": 5})


def write_counting_reads(table: Location, frames: list[pl.DataFrame]):
    """The actions of `PartitionedFiles`, and how many frames it had been given by its first."""
    files = PartitionedFiles(table, {"batch_id": "b1"}, ["batch_id", "chrom"])
    actions, frames_read_by_first = [], None
    for given, frame in enumerate(frames, start=1):
        actions += files.add(frame)
        frames_read_by_first = frames_read_by_first or (given if actions else None)
    return actions + files.flush(), frames_read_by_first


def test_files_split_by_partition_and_size(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(data_files, "ROWS_PER_FILE", 4)
    frames = [
        pl.concat([calls("b1", "chr1", [1, 2, 3]), calls("b1", "chrX", [7])]),
        calls("b1", "chr1", [4, 5, 6]),
        calls("b1", "HLA-A*01:01", [9, 10]),
    ]
    actions, frames_read_by_first = write_counting_reads(Location(str(tmp_path / "t")), frames)
    rows = {}
    for action in actions:
        stats = json.loads(action.stats)
        assert stats["numRecords"] <= 6
        chrom = action.partition_values["chrom"]
        rows[chrom] = rows.get(chrom, 0) + stats["numRecords"]
        on_disk = pl.read_parquet(tmp_path / "t" / action.path)
        assert on_disk.columns == ["pos", "af"], "partition columns live in the path"
        assert on_disk.height == stats["numRecords"]
    assert rows == {"chr1": 6, "chrX": 1, "HLA-A*01:01": 2}
    assert any(a.path.startswith("batch_id=b1/chrom=HLA-A%2A01%3A01/") for a in actions)
    # chr1 reached the file size with the second frame: written before the third was read
    assert actions[0].partition_values["chrom"] == "chr1" and frames_read_by_first == 2


def test_a_partition_goes_to_disk_once_its_rows_fill_a_file_in_bytes(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(data_files, "BYTES_PER_FILE", calls("b1", "chr1", [1, 2]).estimated_size())
    frames = [calls("b1", "chr1", [1]), calls("b1", "chr1", [2]), calls("b1", "chr1", [3])]
    actions, frames_read_by_first = write_counting_reads(Location(str(tmp_path / "t")), frames)
    assert frames_read_by_first == 2
    assert [json.loads(a.stats)["numRecords"] for a in actions] == [2, 1]


def test_rows_held_across_partitions_are_bounded(tmp_path: Path, monkeypatch):
    held = calls("b1", "chr1", [1, 2, 3]).estimated_size()
    monkeypatch.setattr(data_files, "MAX_BUFFERED_BYTES", held + 1)
    frames = [
        calls("b1", "chr1", [1, 2, 3]),
        calls("b1", "chrX", [4, 5, 6]),
        calls("b1", "chr2", [7]),
    ]
    actions, frames_read_by_first = write_counting_reads(Location(str(tmp_path / "t")), frames)
    # 6 rows held after the second frame: the largest partition went before the third was read
    assert frames_read_by_first == 2
    assert sorted(a.partition_values["chrom"] for a in actions) == ["chr1", "chr2", "chrX"]


def test_publish_replaces_one_batch_of_a_chrom_partitioned_table(tmp_path: Path):
    first = publisher(tmp_path, "b1", "r1")
    first.stage([calls("b1", "chr1", [1, 2]), calls("b1", "chrX", [3])])
    assert first.publish().version == 0
    other = publisher(tmp_path, "b2", "r2")
    other.stage(calls("b2", "chr1", [50]))
    other.publish()
    again = publisher(tmp_path, "b1", "r3")
    again.stage(calls("b1", "chr2", [7, 8, 9]))
    result = again.publish()
    assert (result.version, result.partition_rows) == (2, 3)
    table = pl.read_delta(str(tmp_path / "calls"))
    assert table.sort("pos").select("batch_id", "chrom", "pos").rows() == [
        ("b1", "chr2", 7),
        ("b1", "chr2", 8),
        ("b1", "chr2", 9),
        ("b2", "chr1", 50),
    ]
    assert table.schema == SCHEMA
    # readers can skip files by the integer column statistics in the log
    added = pl.DataFrame(DeltaTable(str(tmp_path / "calls")).get_add_actions(flatten=True))
    assert sorted(added["min.pos"]) == [7, 50]


def test_publish_into_a_table_of_other_columns_still_fails(tmp_path: Path):
    first = publisher(tmp_path, "b1", "r1")
    first.stage(calls("b1", "chr1", [1]))
    first.publish()
    wider = SCHEMA | {"extra": pl.Int64}
    changed = publisher(tmp_path, "b2", "r2", schema=wider)
    changed.stage(calls("b2", "chr1", [2]).with_columns(extra=pl.lit(1, pl.Int64)))
    with pytest.raises(SchemaMismatchError):
        changed.publish()
    assert pl.read_delta(str(tmp_path / "calls"))["pos"].to_list() == [1]


def test_staged_files_are_published_as_they_are(tmp_path: Path):
    """Staged in the table's layout, with row-group statistics: the publish moves the files."""
    import pyarrow.parquet as pq

    def files(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.parquet")}

    stager = publisher(tmp_path, "b1", "r1")
    stager.stage([calls("b1", "chr1", [1, 2]), calls("b1", "chrX", [3])])
    staged_rows = stager.staged().sort("pos").collect()
    assert staged_rows.columns == list(SCHEMA.names())
    assert staged_rows.select("chrom", "pos").rows() == [("chr1", 1), ("chr1", 2), ("chrX", 3)]
    staged = files(Path(stager.staging.uri))
    assert sorted(p.rsplit("/", 1)[0] for p in staged) == [
        "batch_id=b1/chrom=chr1",
        "batch_id=b1/chrom=chrX",
    ]
    stager.publish()
    assert files(tmp_path / "calls") == staged
    groups = [
        pq.ParquetFile(f).metadata.row_group(0) for f in (tmp_path / "calls").rglob("*.parquet")
    ]
    assert {g.column(j).is_stats_set for g in groups for j in range(g.num_columns)} == {True}


def test_rows_of_another_partition_are_refused(tmp_path: Path):
    stager = publisher(tmp_path, "b1", "r1")
    with pytest.raises(ValueError, match=r"calls: rows of batch_id \['b2'\] staged for partition"):
        stager.stage(pl.concat([calls("b1", "chr1", [1]), calls("b2", "chr1", [2])]))
    nameless = calls("b1", "chr1", [3]).with_columns(batch_id=pl.lit(None, pl.String))
    with pytest.raises(ValueError, match=r"rows of batch_id \[None\]"):
        stager.stage(nameless)
