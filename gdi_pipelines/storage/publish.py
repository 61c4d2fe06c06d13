"""Write-audit-publish for one partition of a Delta table.

Stage the partition's rows in a staging table, let the caller validate the staged data, then
either publish them into the real table in ONE commit that replaces exactly that partition (the
whole table for an empty partition), or move the staged data and a report to quarantine.
Readers never see unvalidated rows.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, create_table_with_add_actions

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage.data_files import PartitionedFiles, write_data_file
from gdi_pipelines.storage.delta import TableRef, sql_predicate
from gdi_pipelines.storage.objectstore import store_for

COMMIT_ATTEMPTS = 5
PUBLISH_TOKEN = "gdi_publish"  # commit metadata naming the publish that made the commit
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
        slug = "/".join(f"{k}-{v}" for k, v in sorted(partition.items())) or "all"
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
        self._staged_files: list[AddAction] = []  # committed to the staging table
        # flat rows of one partition (or of a whole unpartitioned table) are staged as the
        # table's own files, in its layout, and published by moving them into its folder:
        # nothing is encoded twice
        one_partition = bool(partition) and set(partition) <= set(partition_by)
        whole_table = not partition and not partition_by
        self._files = (
            PartitionedFiles(self.staging.location, dict(partition), self.partition_by)
            if _flat(schema) and (one_partition or whole_table)
            else None
        )

    def stage(self, frames: pl.DataFrame | Iterable[pl.DataFrame]) -> int:
        """Append rows to the staging table; call as often as there are chunks. The first call
        empties the staging folder, so a retried step never publishes an earlier attempt's rows."""
        if isinstance(frames, pl.DataFrame):
            frames = [frames]
        if not self._started:
            self._start_staging()
        for frame in frames:
            if frame.height == 0:
                continue
            frame = frame.select(self.schema.names()).cast(dict(self.schema))
            if self._files is not None:
                self._check_partition(frame)
                self._add_files(self._files.add(frame))
            elif _flat(self.schema):
                # read whole by the gates and the publish: no row-group statistics needed
                self._add_files(
                    [write_data_file(self.staging.location, frame, column_statistics=False)]
                )
            else:
                frame.write_delta(self._staging_table, mode="append")
            self.rows_staged += frame.height
        return self.rows_staged

    def _start_staging(self) -> None:
        # a retried attempt (same run_id) starts clean, whatever the failed one left here
        store_for(self.staging.location).delete_prefix(self.staging.uri)
        partitioned = self._files is not None and bool(self.partition_by)
        pl.DataFrame(schema=self.schema).write_delta(
            self.staging.uri,
            mode="overwrite",
            storage_options=self.staging.options,
            delta_write_options={"partition_by": self.partition_by} if partitioned else None,
        )
        # one handle for every append: it follows its own commits, the log is read once
        self._staging_table = DeltaTable(self.staging.uri, storage_options=self.staging.options)
        self._started = True

    def _check_partition(self, frame: pl.DataFrame) -> None:
        """Staged files hold the partition's values in their folder names only: rows of another
        partition would silently take this one's values."""
        for column, value in self.partition.items():
            others = frame[column].filter(frame[column].ne_missing(value)).unique().to_list()
            if others:
                raise ValueError(
                    f"{self.table_name}: rows of {column} {sorted(others, key=str)} staged for "
                    f"partition {column}={value}"
                )

    def _add_files(self, actions: list[AddAction]) -> None:
        """Files written to the staging folder; deltalake commits them to the staging table
        in groups of FILES_PER_COMMIT (or when the staged rows are read)."""
        self._uncommitted += actions
        if len(self._uncommitted) >= FILES_PER_COMMIT:
            self._commit_files()

    def _commit_files(self) -> None:
        """Commit the files written since the last commit, in one staging-table version."""
        if self._files is not None:
            self._uncommitted += self._files.flush()
        if self._uncommitted:
            table = self._staging_table
            table.create_write_transaction(
                self._uncommitted,
                mode="append",
                schema=table.schema(),
                partition_by=self.partition_by if self._files is not None else None,
            )
            self._staged_files += self._uncommitted
            self._uncommitted = []

    def staged(self) -> pl.LazyFrame:
        if not self._started:
            self.stage([])
        self._commit_files()
        return self.staging.scan()

    def staged_partitions(self, column: str) -> list[str | None] | None:
        """The values of partition column `column` that the staged files hold, sorted; None
        when they are not staged in partitions of it."""
        if self._files is None or column not in self.partition_by:
            return None
        self._commit_files()
        values = {action.partition_values.get(column) for action in self._staged_files}
        return sorted(values, key=lambda v: (v is None, v or ""))

    def publish(self) -> PublishResult:
        """Replace the partition in the target table with the staged rows, in one commit.

        Publishers of other partitions committing meanwhile are rebased by deltalake; one that
        conflicts (same partition) raises CommitFailedError and is retried on a fresh snapshot.
        The version returned is this publish's own commit, not whatever the table reached since.
        """
        self.staged()  # commits what is staged
        files: list[AddAction] | None = None  # moved once, committed by whichever attempt
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = self._open_target()
            try:
                if self._commits_own_files(table):
                    if files is None:
                        files = self._move_staged_files()
                    version = self._commit_published_files(table, files)
                else:
                    self._write_through_deltalake(table)
                    # a DeltaTable written through holds the state of its own commit
                    version = 0 if table is None else table.version()
                break
            except (CommitFailedError, _LostCreation):
                if attempt == COMMIT_ATTEMPTS:
                    raise
                time.sleep(0.2 * 2**attempt)
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

    def _commits_own_files(self, table: DeltaTable | None) -> bool:
        """Files staged in the table's layout, into a table (if any) of the same partition
        columns and, unless they replace the whole table, the same schema, are moved there and
        committed; anything else is written by deltalake's writer."""
        if self._files is None:
            return False
        if table is None:
            return True
        if table.metadata().partition_columns != self.partition_by:
            return False
        # a whole-table publish may change the columns (e.g. a new country's)
        return not self.partition or table.schema().to_json() == self._delta_schema().to_json()

    def _delta_schema(self) -> DeltaSchema:
        return DeltaSchema.from_arrow(pl.DataFrame(schema=self.schema).to_arrow().schema)

    def _move_staged_files(self) -> list[AddAction]:
        """The staged files, moved to the same paths below the table's folder."""
        store = store_for(self.staging.location)
        for action in self._staged_files:
            target = self.target.location.child(*action.path.split("/")).uri
            store.move(self._staged_uri(action), target)
        return list(self._staged_files)

    def _staged_uri(self, action: AddAction) -> str:
        return self.staging.location.child(*action.path.split("/")).uri

    def _commit_published_files(self, table: DeltaTable | None, files: list[AddAction]) -> int:
        """One commit replacing the partition. The first publish creates the table and must
        land as version 0: deltalake would rebase a losing creator without any conflict check
        (appending to a partition another publisher just replaced), so it gets no retries and
        is redone as an overwrite."""
        if table is None:
            try:
                create_table_with_add_actions(
                    self.target.uri,
                    self._delta_schema(),
                    files,
                    mode="error",
                    partition_by=self.partition_by,
                    storage_options=self.target.options,
                    commit_properties=CommitProperties(max_commit_retries=0),
                )
            except DeltaError as exc:  # "already exists": another publisher created it first
                if self._open_target() is None:
                    raise
                raise _LostCreation(self.target.uri) from exc
            return 0
        token = uuid.uuid4().hex
        before = table.version()
        table.create_write_transaction(
            files,
            mode="overwrite",
            schema=self._delta_schema(),  # a new schema replaces the table's
            partition_by=self.partition_by,
            partition_filters=[(k, "=", v) for k, v in sorted(self.partition.items())],
            commit_properties=CommitProperties(custom_metadata={PUBLISH_TOKEN: token}),
        )
        return self._own_commit(token, after=before)

    def _own_commit(self, token: str, after: int) -> int:
        """The version of the commit tagged `token`, among those after version `after`. Read
        from the log itself: the handle does not follow its own transaction, and its history
        numbers commits from its possibly stale version."""
        log = self.target.location.child("_delta_log")
        store = store_for(log)
        version = after + 1
        while store.exists(where := log.child(f"{version:020d}.json").uri):
            with store.open_read(where) as commit:
                for line in commit:
                    info = json.loads(line).get("commitInfo")
                    if info is not None and info.get(PUBLISH_TOKEN) == token:
                        return version
            version += 1
        raise RuntimeError(f"{self.target.uri}: commit of publish {token} not found after v{after}")

    def _write_through_deltalake(self, table: DeltaTable | None) -> None:
        write_deltalake(
            table if table is not None else self.target.uri,
            _arrow_stream(self._staged_rows(), self.schema),
            mode="overwrite",
            predicate=sql_predicate(self.partition) or None,
            partition_by=self.partition_by or None,
            # a whole-table publish may change the columns (e.g. a new country's)
            schema_mode=None if self.partition else "overwrite",
            storage_options=self.target.options,
            commit_properties=CommitProperties(max_commit_retries=0) if table is None else None,
        )

    def _staged_rows(self) -> Iterator[pl.DataFrame]:
        """The staged rows file by file; files staged in the table's layout get their partition
        columns back from their folder names."""
        if _flat(self.schema):
            files = [(self._staged_uri(a), a.partition_values) for a in self._staged_files]
        else:
            staged = DeltaTable(self.staging.uri, storage_options=self.staging.options)
            files = [(uri, {}) for uri in staged.file_uris()]
        return _staged_frames(files, self.schema, self.staging.options)

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


class _LostCreation(Exception):
    """Another publisher created the table between our look and our commit."""


def _flat(schema: pl.Schema) -> bool:
    """Only scalar columns whose Parquet form polars and Delta readers agree on."""
    return all(dtype.is_numeric() or dtype in (pl.String, pl.Boolean) for dtype in schema.dtypes())


def _staged_frames(
    files: list[tuple[str, Mapping[str, str | None]]],
    schema: pl.Schema,
    options: dict[str, str] | None,
) -> Iterator[pl.DataFrame]:
    """The staged rows file by file, given (uri, partition values) per file: memory holds two
    files at most, whereas a streaming query would run ahead of a slower writer and buffer the
    whole table. The caller lists the files, not the iterator, which deltalake's runtime may
    drive."""

    def read(file: tuple[str, Mapping[str, str | None]]) -> pl.DataFrame:
        uri, values = file
        frame = pl.read_parquet(uri, storage_options=options)
        frame = frame.with_columns(pl.lit(v, pl.String).alias(k) for k, v in values.items())
        return frame.select(schema.names()).cast(dict(schema))

    def frames():
        if not files:
            return
        # the next file is read while the writer takes this one
        with ThreadPoolExecutor(1, thread_name_prefix="gdi-publish-read") as reader:
            upcoming = reader.submit(read, files[0])
            for following in [*files[1:], None]:
                frame = upcoming.result()
                upcoming = reader.submit(read, following) if following else None
                yield frame

    return frames()


def _arrow_stream(staged: Iterator[pl.DataFrame], schema: pl.Schema) -> pa.RecordBatchReader:
    arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
    batches = (
        batch for frame in staged for batch in frame.to_arrow().cast(arrow_schema).to_batches()
    )
    return pa.RecordBatchReader.from_batches(arrow_schema, batches)
