"""Validate a table against its suite in bounded memory; one CheckOutcome per suite entry.

Three engines, chosen per GX expectation (each Decision records its engine):

- row-level (map) expectations that `pushdown` supports are decided by polars with GX's results
  (counts, examples, success): on a LazyFrame over the whole table, in a few streaming passes
  (one per group of columns, one per list path, one `head` query per failing expectation); on
  an iterable of frames chunk by chunk, counts added up.
- every other row-level expectation runs in GX on pandas chunks of at most `chunk_rows` rows
  (only the columns it reads are converted); counts and examples add up across chunks.
- expectations no chunk can decide (column list and types, row count, uniqueness, distinct
  counts) are computed by polars on the whole table (`whole_table`): from the LazyFrame itself,
  or, for an iterable of frames, from the key columns spooled to a temporary Parquet folder
  while the chunks go by.

For GX, a LazyFrame is read as slices of `chunk_rows` rows, each its own query: cheap for a scan
(Delta, Parquet), where polars pushes the slice down; a plan with joins or aggregations would be
recomputed per slice (and per pushdown query), so sink such a plan to a table first (or pass an
iterable of frames). No slice is read when GX has nothing to check.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from gdi_pipelines.domain.expectations import pushdown
from gdi_pipelines.domain.expectations import whole_table as wt
from gdi_pipelines.domain.expectations.results import Decision, MapTally, outcome
from gdi_pipelines.domain.expectations.suites import (
    ExpectationSpec,
    SuiteSpec,
    base_column,
    columns_of,
    label_of,
    load_suite,
    resolve,
)
from gdi_pipelines.domain.quality import CheckOutcome

DEFAULT_CHUNK_ROWS = 500_000
UNIQUE_PASS_CHUNKS = 4  # uniqueness passes hold at most this many chunks' worth of keys


@dataclass
class Instance:
    """One GX expectation of a suite entry, with its parameters resolved."""

    spec: ExpectationSpec
    kwargs: dict[str, Any]
    key: int
    absent: tuple[str, ...]  # columns it reads that the table lacks
    check: pushdown.Check | None = None  # set: a map expectation polars decides

    @property
    def engine(self) -> str:
        return "polars" if self.spec.whole_table or self.check is not None else "gx"

    @property
    def view(self) -> str | None:
        """The list path whose exploded elements it checks; None for plain columns."""
        column = self.kwargs.get("column", "")
        return column if "[]" in column else None


@dataclass(frozen=True)
class TableValidation:
    suite: SuiteSpec
    outcomes: list[CheckOutcome]
    decisions: dict[str, list[Decision]]
    rows: int
    chunks: int  # read for GX (an iterable of frames is always read in chunks)
    docs_index: Path | None = None
    docs_page: Path | None = None


def validate_table(
    frames: Iterable[pl.DataFrame] | pl.LazyFrame,
    suite_name: str,
    parameters: dict | None = None,
    docs_dir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> list[CheckOutcome]:
    """Outcomes in suite order; with `docs_dir`, Data Docs are built there and every outcome's
    figures carry `data_docs` (index.html) and `data_docs_page` (this validation)."""
    return run_suite(frames, suite_name, parameters, docs_dir, chunk_rows).outcomes


def run_suite(
    frames: Iterable[pl.DataFrame] | pl.LazyFrame,
    suite_name: str,
    parameters: dict | None = None,
    docs_dir: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    run_name: str | None = None,
    unique_rows_per_pass: int | None = None,
) -> TableValidation:
    """As validate_table, with the details; `unique_rows_per_pass` bounds the keys one
    uniqueness pass groups (default: UNIQUE_PASS_CHUNKS chunks)."""
    suite = load_suite(suite_name)
    values = _parameters(suite, parameters)
    if isinstance(frames, pl.DataFrame):  # one frame, not an iterable of its columns
        frames = [frames]
    with tempfile.TemporaryDirectory(prefix="gdi-gx-keys-") as spool:
        if isinstance(frames, pl.LazyFrame):
            plan = _Plan(suite, frames.collect_schema(), values)
            rows = frames.select(pl.len()).collect(engine="streaming").item()
            plan.push_down(frames)
            _, count = plan.run_chunks(_lazy_chunks(frames, plan.chunk_columns, rows, chunk_rows))
            table = frames
        else:
            first, rest = _peek(iter(frames))
            schema = first.schema if first is not None else pl.Schema()
            plan = _Plan(suite, schema, values)
            chunks = _eager_chunks(first, rest, chunk_rows, schema)
            spooled = _spooled(chunks, plan.key_columns, Path(spool))
            rows, count = plan.run_chunks(spooled, push_down=True)
            table = _spool_scan(Path(spool), schema, plan.key_columns)
        per_pass = unique_rows_per_pass or UNIQUE_PASS_CHUNKS * chunk_rows
        decisions = plan.decide_whole_table(table, rows, per_pass)
    extra: dict[str, str] = {}
    docs_index = docs_page = None
    if docs_dir is not None:
        from gdi_pipelines.domain.expectations.docs import build_data_docs

        name = run_name or f"{suite.table}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        given = json.loads(json.dumps(values, default=str))
        engines = [i.engine for i in plan.instances]
        meta = {
            "rows": rows,
            "chunks": count,
            "chunk_rows": chunk_rows,
            "parameters": given,
            "engines": {e: engines.count(e) for e in sorted(set(engines))},
        }
        docs = build_data_docs(suite, decisions, Path(docs_dir), name, meta)
        docs_index, docs_page = docs.index, docs.page
        extra = {"data_docs": str(docs.index), "data_docs_page": str(docs.page)}
    outcomes = [outcome(s, decisions[s.name], **extra) for s in suite.expectations]
    return TableValidation(suite, outcomes, decisions, rows, count, docs_index, docs_page)


def _parameters(suite: SuiteSpec, given: dict | None) -> dict[str, Any]:
    values = {"current_year": datetime.now(UTC).year, **(given or {})}
    if missing := sorted(suite.parameter_names() - set(values)):
        raise ValueError(f"suite {suite.table} needs parameters: {', '.join(missing)}")
    return values


@dataclass
class _Plan:
    """Which GX expectations polars decides (whole table or pushed-down map expectations) and
    which run in GX on chunks (grouped by view)."""

    suite: SuiteSpec
    schema: pl.Schema
    parameters: dict[str, Any]
    instances: list[Instance] = field(default_factory=list)

    def __post_init__(self) -> None:
        columns = self.schema.names()
        for spec in self.suite.expectations:
            for kwargs in spec.instances(columns):
                kwargs = resolve(kwargs, self.parameters)
                absent = ()
                if spec.expectation not in wt.SCHEMA_LEVEL:
                    absent = tuple(c for c in columns_of(kwargs) if base_column(c) not in columns)
                instance = Instance(spec, kwargs, len(self.instances), absent)
                if not spec.whole_table and not absent:
                    instance.check = pushdown.check_for(spec.expectation, kwargs, self.schema)
                self.instances.append(instance)
        self.tallies = {
            i.key: MapTally(i.spec.expectation, i.kwargs, i.engine)
            for i in self.instances
            if not i.spec.whole_table and not i.absent
        }

    def _chunked(self) -> list[Instance]:
        """The map expectations GX checks on chunks."""
        return [i for i in self.instances if i.key in self.tallies and i.check is None]

    def _pushed(self) -> dict[int, pushdown.Check]:
        """The map expectations polars decides."""
        return {i.key: i.check for i in self.instances if i.check is not None}

    @property
    def chunk_columns(self) -> list[str]:
        """Columns the chunks must carry for GX, in table order."""
        read = {base_column(c) for i in self._chunked() for c in columns_of(i.kwargs)}
        return [c for c in self.schema.names() if c in read]

    @property
    def key_columns(self) -> list[str]:
        """Columns the whole-table value decisions (uniqueness, distinct counts) read."""
        value_level = wt.UNIQUE | wt.DISTINCT_COUNT
        read = {
            c
            for i in self.instances
            if i.spec.expectation in value_level and not i.absent
            for c in columns_of(i.kwargs)
        }
        return [c for c in self.schema.names() if c in read]

    def push_down(self, table: pl.LazyFrame) -> None:
        """Polars decides its map expectations on `table` (the whole table, or one chunk). An
        error raises, as a failed read of a chunk does: it is no verdict on the data."""
        checks = self._pushed()
        if checks:
            for key, result in pushdown.evaluate(checks, table).items():
                self.tallies[key].add(result)

    def run_chunks(self, chunks: Iterator[pl.DataFrame], push_down: bool = False):
        """Feeds every chunk to GX (and to polars if `push_down`); returns (rows, chunks). GX is
        imported (seconds) only if it has something to check."""
        views: dict[str | None, list[Instance]] = {}
        for instance in self._chunked():
            views.setdefault(instance.view, []).append(instance)
        suites = {}
        if views:
            from gdi_pipelines.domain.expectations.gx_bridge import gx_expectation, gx_suite

            for view, members in views.items():
                expectations = [gx_expectation(i.spec, i.kwargs, i.key) for i in members]
                suites[view] = gx_suite(f"{self.suite.table}:{view or 'rows'}", expectations)
        rows = count = 0
        for chunk in chunks:
            rows += chunk.height
            count += 1
            if push_down:
                self.push_down(chunk.lazy())
            for view, members in views.items():
                self._validate_view(chunk, view, members, suites[view])
        return rows, count

    def _validate_view(self, chunk, view, members, suite) -> None:
        from gdi_pipelines.domain.expectations.gx_bridge import exception_message, validate_chunk

        try:
            frame = _view_frame(chunk, view, members)
        except pl.exceptions.PolarsError as error:
            for instance in members:
                self.tallies[instance.key].add_error(f"{view}: {error}")
            return
        for key, result in validate_chunk(frame, suite).items():
            if message := exception_message(result):
                self.tallies[key].add_error(message)
            else:
                self.tallies[key].add(result.result)

    def decide_whole_table(
        self, table: pl.LazyFrame, rows: int, rows_per_pass: int
    ) -> dict[str, list[Decision]]:
        decisions: dict[str, list[Decision]] = {s.name: [] for s in self.suite.expectations}
        for instance in self.instances:
            decisions[instance.spec.name].append(self._decide(instance, table, rows, rows_per_pass))
        return decisions

    def _decide(self, instance: Instance, table, rows: int, rows_per_pass: int) -> Decision:
        expectation, kwargs = instance.spec.expectation, instance.kwargs
        if instance.absent:
            where = f"{expectation} on {label_of(kwargs)}"
            failures = [f"{where}: column {base_column(c)} is absent" for c in instance.absent]
            result = {"absent_columns": list(instance.absent)}
            return Decision(kwargs, False, result, failures, instance.engine)
        if expectation in wt.SCHEMA_LEVEL:
            return wt.schema_decision(expectation, kwargs, self.schema)
        if expectation in wt.ROW_COUNT:
            return wt.row_count_decision(expectation, kwargs, rows)
        if expectation in wt.UNIQUE:
            return wt.uniqueness_decision(expectation, kwargs, table, rows, rows_per_pass)
        if expectation in wt.DISTINCT_COUNT:
            return wt.distinct_count_decision(kwargs, table)
        return self.tallies[instance.key].decision()


def _view_frame(chunk: pl.DataFrame, view: str | None, members: list[Instance]):
    """The pandas frame GX checks: the chunk's plain columns, or one list path's elements."""
    if view is None:
        read = {c for i in members for c in columns_of(i.kwargs)}
        frame = chunk.select([c for c in chunk.columns if c in read])
    else:
        frame = chunk.select(pushdown.view_expr(view).alias(view))
    return _widened(frame).to_pandas()


def _widened(frame: pl.DataFrame) -> pl.DataFrame:
    """Int8..Int32 as Int64, Float32 as Float64: GX's pandas range checks are vectorised only
    for int64/float64 and fall back to a Python call per value otherwise (~1 µs each)."""
    wide = {
        name: pl.Float64 if dtype == pl.Float32 else pl.Int64
        for name, dtype in frame.schema.items()
        if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32, pl.Float32)
    }
    return frame.cast(wide) if wide else frame


def _lazy_chunks(table: pl.LazyFrame, columns: list[str], rows: int, chunk_rows: int):
    """Slices of the scan, read one at a time. Polars pushes a slice down into a Delta/Parquet
    scan; `collect_batches` reads ahead instead (RSS grew 0.3 -> 0.8 GB from 1M to 10M rows)."""
    for offset in range(0, rows if columns else 0, chunk_rows):
        yield table.select(columns).slice(offset, chunk_rows).collect(engine="streaming")


def _peek(frames: Iterator[pl.DataFrame]):
    first = next(frames, None)
    return first, frames


def _eager_chunks(first, rest, chunk_rows: int, schema: pl.Schema):
    if first is None:
        return
    for index, frame in enumerate(itertools.chain([first], rest)):
        if frame.schema != schema:
            raise ValueError(f"frame {index} has another schema than the first: {frame.schema}")
        yield from frame.iter_slices(chunk_rows)


def _spooled(chunks, columns: list[str], folder: Path):
    """Passes chunks on, writing their key columns to `folder` for the whole-table decisions."""
    for index, chunk in enumerate(chunks):
        if columns:
            chunk.select(columns).write_parquet(folder / f"{index:07d}.parquet")
        yield chunk


def _spool_scan(folder: Path, schema: pl.Schema, columns: list[str]) -> pl.LazyFrame:
    if not any(folder.glob("*.parquet")):
        return pl.LazyFrame(schema={c: schema[c] for c in columns})
    return pl.scan_parquet(folder / "*.parquet")
