"""Parquet data files of a Delta table written by polars, for deltalake to commit.

polars writes Parquet about twice as fast as deltalake's writer and, given the rows in bounded
pieces, in bounded memory; `create_write_transaction` then commits the files it wrote.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from urllib.parse import quote

import polars as pl
from deltalake.transaction import AddAction

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage.objectstore import store_for

ROW_GROUP_ROWS = 131_072  # readers stream a row group at a time: small groups, small peaks
ROWS_PER_FILE = 524_288  # a file's rows at most: 4 row groups
# a partition's rows are written once they take this much memory (Arrow size): wide rows (the
# calls) go to disk chunk by chunk, narrow ones (sites, rejects) gather into fewer files
BYTES_PER_FILE = 16 << 20
MAX_BUFFERED_BYTES = 2 * BYTES_PER_FILE  # held across partitions before the largest goes
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "statistics": True,
    "row_group_size": ROW_GROUP_ROWS,
}


def write_data_file(
    table: Location,
    frame: pl.DataFrame,
    partition_values: dict[str, str] | None = None,
    *,
    column_statistics: bool = True,
) -> AddAction:
    """Write `frame` (without the partition columns) as one Parquet file of the table at
    `table`, in the partition's Hive-style folder; return the action that adds it.

    Without `column_statistics` the file holds no per-row-group min/max, which cost about a
    sixth of the writing: for staged files, which are only ever read whole."""
    partition_values = partition_values or {}
    options = PARQUET_OPTIONS | {"statistics": column_statistics}
    folders = [f"{k}={_folder_value(v)}" for k, v in partition_values.items()]
    path = "/".join([*folders, f"part-{uuid.uuid4().hex}-c000.zstd.parquet"])
    where = table.child(*path.split("/"))
    if where.is_s3:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, **options)
        size = buffer.tell()
        store_for(where).write_bytes(where.uri, buffer.getvalue())
    else:  # straight to disk: polars then writes without taking the GIL
        os.makedirs(os.path.dirname(where.uri), exist_ok=True)
        frame.write_parquet(where.uri, **options)
        size = os.path.getsize(where.uri)
    # the path as it is on disk; deltalake percent-encodes it for the log
    return AddAction(path, size, partition_values, int(time.time() * 1000), True, file_stats(frame))


def file_stats(frame: pl.DataFrame) -> str:
    """Delta's per-file statistics: row count, null counts, and min/max of the integer columns
    (exact, unlike truncated strings or NaN-bearing floats), for readers to skip files."""
    integers = [n for n, t in frame.schema.items() if t.is_integer()]
    row = (
        frame.select(
            *(pl.col(n).null_count().alias(f"null:{n}") for n in frame.columns),
            *(pl.col(n).min().alias(f"min:{n}") for n in integers),
            *(pl.col(n).max().alias(f"max:{n}") for n in integers),
        ).row(0, named=True)
        if frame.width
        else {}
    )
    stats: dict = {"numRecords": frame.height, "nullCount": {}, "minValues": {}, "maxValues": {}}
    for key, value in row.items():
        kind, name = key.split(":", 1)
        if kind == "null":
            stats["nullCount"][name] = value
        elif value is not None:
            stats["minValues" if kind == "min" else "maxValues"][name] = value
    return json.dumps(stats)


class PartitionedFiles:
    """Files for the rows of one partition `fixed` (e.g. a batch) of a table partitioned by
    `partition_by` (its keys and any further column, e.g. chrom), fed frame by frame. Rows wait
    in memory per partition value until they fill a file (ROWS_PER_FILE rows or BYTES_PER_FILE
    bytes), MAX_BUFFERED_BYTES at most in all; `add` and `flush` return the actions of the files
    they wrote."""

    def __init__(self, table: Location, fixed: dict[str, str], partition_by: list[str]):
        self.table, self.fixed, self.partition_by = table, fixed, partition_by
        self.varying = [c for c in partition_by if c not in fixed]
        self._buffers: dict[tuple, list[pl.DataFrame]] = {}
        self._held: dict[tuple, tuple[int, int]] = {}  # rows, bytes

    def add(self, frame: pl.DataFrame) -> list[AddAction]:
        written = []
        groups = _partitions(frame, self.varying)
        for key, part in groups.items():
            self._buffers.setdefault(key, []).append(part)
            rows, size = self._held.get(key, (0, 0))
            self._held[key] = rows, size = rows + part.height, size + part.estimated_size()
            if rows >= ROWS_PER_FILE or size >= BYTES_PER_FILE:
                written.append(self._write(key))
        while sum(size for _, size in self._held.values()) > MAX_BUFFERED_BYTES:
            written.append(self._write(max(self._held, key=lambda k: self._held[k][1])))
        return written

    def flush(self) -> list[AddAction]:
        return [self._write(key) for key in list(self._buffers)]

    def _write(self, key: tuple) -> AddAction:
        del self._held[key]
        frame = pl.concat(self._buffers.pop(key), rechunk=False).drop(self.partition_by)
        values = {c: _partition_value(v) for c, v in zip(self.varying, key, strict=True)}
        values |= self.fixed
        return write_data_file(self.table, frame, {c: values[c] for c in self.partition_by})


def _partitions(frame: pl.DataFrame, columns: list[str]) -> dict[tuple, pl.DataFrame]:
    """`frame` by the values of `columns`; a frame of one partition (a chunk of a sorted VCF
    mostly is) whole, without the copy `partition_by` makes of every column."""
    if not columns:
        return {(): frame}
    if frame.height and frame.select(pl.col(columns).n_unique()).row(0) == (1,) * len(columns):
        return {frame.select(columns).row(0): frame}
    return frame.partition_by(columns, as_dict=True)


def _partition_value(value) -> str | None:
    return None if value is None else str(value)


def _folder_value(value: str | None) -> str:
    return "__HIVE_DEFAULT_PARTITION__" if value is None else quote(value, safe="")
