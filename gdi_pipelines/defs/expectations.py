"""The tables' Great Expectations suites as Dagster checks, decided on the staged rows.

Each suite entry (gdi_pipelines/domain/expectations/suites/{table}.json) is one asset check;
ERROR entries block publication like the domain gates, WARN entries report. GX Data Docs of
each validation are written under `{node warehouse}/_docs/gx/{table}/batch_id={B}/` (node
tables) or `{warehouse}/federation/_docs/gx/{table}/` (federation tables).
"""

import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl

from gdi_pipelines.config.locations import Location
from gdi_pipelines.domain.expectations.suites import load_suite
from gdi_pipelines.domain.quality import CheckOutcome, Severity
from gdi_pipelines.storage.objectstore import store_for


def suite_checks(table: str) -> tuple[tuple[str, Severity, str], ...]:
    """(name, severity, description) of every entry, for the asset's check specs."""
    suite = load_suite(table)
    return tuple(
        (e.name, e.severity, f"Great Expectations: {e.description}") for e in suite.expectations
    )


def validate_staged(
    staged: pl.LazyFrame,
    table: str,
    parameters: dict,
    docs: Location,
    run_id: str,
    log: dg.DagsterLogManager,
) -> list[CheckOutcome]:
    """Run the suite over the staged rows in chunks; Data Docs are uploaded to `docs`."""
    started = time.perf_counter()
    from gdi_pipelines.domain.expectations.runner import run_suite  # imports GX (~3 s)

    with tempfile.TemporaryDirectory(prefix="gdi-gx-docs-") as tmp:
        validation = run_suite(staged, table, parameters, Path(tmp), run_name=run_id)
        validated = time.perf_counter()
        store_for(docs).upload_tree(Path(tmp), docs.uri)
    index = (
        f"{docs.uri}/{validation.docs_index.relative_to(tmp)}" if validation.docs_index else None
    )
    log.info(
        f"{table}: {validation.rows} rows validated in {validated - started:.2f} s "
        f"(polars pushdown, {validation.chunks} chunk(s) through GX, Data Docs included)"
    )
    return [_with_docs(o, index) for o in validation.outcomes]


def _with_docs(outcome: CheckOutcome, index: str | None) -> CheckOutcome:
    figures = {k: v for k, v in outcome.figures.items() if k not in ("data_docs", "data_docs_page")}
    if index:
        figures["data_docs"] = index
    return CheckOutcome(
        outcome.name,
        outcome.passed,
        outcome.severity,
        outcome.description,
        figures,
        outcome.failures,
    )
