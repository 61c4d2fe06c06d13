"""Write-audit-publish for one partition of a Delta table.

Stage the partition's rows in a staging table, let the caller validate the staged data, then
either publish them into the real table in ONE commit that replaces exactly that partition (the
whole table for an empty partition), or move the staged data and a report to quarantine.
Readers never see unvalidated rows.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage.delta import TableRef, sql_predicate
from gdi_pipelines.storage.objectstore import store_for

COMMIT_ATTEMPTS = 5
FILES_PER_COMMIT = 16  # staged files committed together (the staging table is private)


@dataclass(frozen=True)
class PublishResult:
    table_uri: str
    version: int
    rows_written: int
    partition_rows: int


class PartitionPublisher:
    def __init__(
        self,
        table: Location,
        work_root: Location,
        table_name: str,
        partition: dict[str, str],
        run_id: str,
        schema: pl.Schema,
        partition_by: tuple[str, ...] = ("batch_id",),
        descriptions: dict[str, str] | None = None,
    ):
        slug = "/".join(f"{k}={v}" for k, v in sorted(partition.items())) or "all"
        self.target = TableRef(table)
        self.table_name = table_name
        self.partition = partition
        self.partition_by = list(partition_by)
        self.schema = schema
        self.descriptions = descriptions or {}
        self.staging = TableRef(work_root.child("_staging", table_name, slug, run_id))
        self.quarantine_location = work_root.child("_quarantine", table_name, slug, run_id)
        self.rows_staged = 0
        self._started = False
        self._staging_table: DeltaTable | None = None  # opened by the first stage()
        self._uncommitted: list[AddAction] = []

    def stage(self, frames: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
        """Append rows to the staging table; call as often as there are chunks. The first call
        empties the staging folder, so a retried step never publishes an earlier attempt's rows."""
        if isinstance(frames, pl.DataFrame):
            frames = [frames]
        if not self._started:
            # a retried attempt (same run_id) starts clean, whatever the failed one left here
            store_for(self.staging.location).delete_prefix(self.staging.uri)
            empty = pl.DataFrame(schema=self.schema)
            empty.write_delta(
                self.staging.uri, mode="overwrite", storage_options=self.staging.options
            )
            # one handle for every append: it follows its own commits, the log is read once
            self._staging_table = DeltaTable(self.staging.uri, storage_options=self.staging.options)
            self._started = True
        for frame in frames:
            if frame.height == 0:
                continue
            frame = frame.select(self.schema.names()).cast(dict(self.schema))
            if _flat(self.schema):
                self._append_file(frame)
            else:
                frame.write_delta(self._staging_table, mode="append")
            self.rows_staged += frame.height
        return self.rows_staged

    def _append_file(self, frame: pl.DataFrame) -> None:
        """Append one Parquet file written by polars (about twice as fast as deltalake's
        writer); deltalake commits it to the staging table with the next FILES_PER_COMMIT - 1
        (or when the staged rows are read)."""
        name = f"part-{uuid.uuid4().hex}-c000.zstd.parquet"
        where = self.staging.location.child(name)
        options = {"compression": "zstd", "compression_level": 1, "statistics": True}
        if where.is_s3:
            buffer = io.BytesIO()
            frame.write_parquet(buffer, **options)
            size = buffer.tell()
            store_for(where).write_bytes(where.uri, buffer.getvalue())
        else:  # straight to disk: polars then writes without taking the GIL
            frame.write_parquet(where.uri, **options)
            size = os.path.getsize(where.uri)
        stats = json.dumps({"numRecords": frame.height})
        self._uncommitted.append(AddAction(name, size, {}, int(time.time() * 1000), True, stats))
        if len(self._uncommitted) >= FILES_PER_COMMIT:
            self._commit_files()

    def _commit_files(self) -> None:
        """Commit the files written since the last commit, in one staging-table version."""
        if self._uncommitted:
            table = self._staging_table
            table.create_write_transaction(self._uncommitted, mode="append", schema=table.schema())
            self._uncommitted = []

    def staged(self) -> pl.LazyFrame:
        if not self._started:
            self.stage([])
        self._commit_files()
        return self.staging.scan()

    def publish(self) -> PublishResult:
        """Replace the partition in the target table with the staged rows, in one commit.

        Publishers of other partitions committing meanwhile are rebased by deltalake; one that
        conflicts (same partition) raises CommitFailedError and is retried on a fresh snapshot.
        The first publish creates the table and must land as version 0: deltalake would rebase a
        losing creator without any conflict check (appending to a partition another publisher
        just replaced), so that write gets no commit retries and is redone as an overwrite.
        The version returned is this publish's own commit, not whatever the table reached since.
        """
        self.staged()  # commits what is staged
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = self._open_target()
            try:
                write_deltalake(
                    table if table is not None else self.target.uri,
                    _arrow_stream(self.staging, self.schema),
                    mode="overwrite",
                    predicate=sql_predicate(self.partition) or None,
                    partition_by=self.partition_by or None,
                    # a whole-table publish may change the columns (e.g. a new country's)
                    schema_mode=None if self.partition else "overwrite",
                    storage_options=self.target.options,
                    commit_properties=CommitProperties(max_commit_retries=0)
                    if table is None
                    else None,
                )
                break
            except CommitFailedError:
                if attempt == COMMIT_ATTEMPTS:
                    raise
                time.sleep(0.2 * 2**attempt)
        # a DeltaTable written through holds the state of its own commit
        version = 0 if table is None else table.version()
        store_for(self.staging.location).delete_prefix(self.staging.uri)
        in_partition = [pl.col(k) == v for k, v in self.partition.items()]
        partition_rows = (
            self.target.scan(version)
            .filter(pl.all_horizontal(True, *in_partition))
            .select(pl.len())
            .collect()
            .item()
        )
        return PublishResult(self.target.uri, version, self.rows_staged, partition_rows)

    def _open_target(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.target.uri, storage_options=self.target.options)
        except TableNotFoundError:
            return None

    def quarantine(self, report: dict) -> str:
        """Move the staged data and a JSON report to quarantine; return its URI."""
        if not self._started:
            self.stage([])
        self._commit_files()
        store = store_for(self.quarantine_location)
        store.delete_prefix(self.quarantine_location.uri)  # what a failed attempt moved here
        store.move_prefix(self.staging.uri, self.quarantine_location.child("data").uri)
        report_uri = self.quarantine_location.child("report.json").uri
        store.write_bytes(report_uri, json.dumps(report, indent=2, default=str).encode())
        return self.quarantine_location.uri


def _flat(schema: pl.Schema) -> bool:
    """Only scalar columns whose Parquet form polars and Delta readers agree on."""
    return all(dtype.is_numeric() or dtype in (pl.String, pl.Boolean) for dtype in schema.dtypes())


def _arrow_stream(staging: TableRef, schema: pl.Schema) -> pa.RecordBatchReader:
    """The staged rows file by file (one staged frame each): memory holds two files at most,
    whereas a streaming query would run ahead of a slower writer and buffer the whole table."""
    arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
    files = DeltaTable(staging.uri, storage_options=staging.options).file_uris()

    def read(uri: str) -> pa.Table:
        frame = pl.read_parquet(uri, storage_options=staging.options)
        return frame.select(schema.names()).cast(dict(schema)).to_arrow().cast(arrow_schema)

    def batches():
        if not files:
            return
        # the next file is read while the writer takes this one: two files in memory at most
        with ThreadPoolExecutor(1, thread_name_prefix="gdi-publish-read") as reader:
            upcoming = reader.submit(read, files[0])
            for following in [*files[1:], None]:
                table = upcoming.result()
                upcoming = reader.submit(read, following) if following else None
                yield from table.to_batches()

    return pa.RecordBatchReader.from_batches(arrow_schema, batches())
