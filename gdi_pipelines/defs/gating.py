"""Every asset publishes through this: emit check results, then publish or quarantine and raise."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import dagster as dg
import polars as pl

from gdi_pipelines.config.locations import Location
from gdi_pipelines.defs.expectations import validate_staged
from gdi_pipelines.domain.quality import CheckOutcome, Severity, blocking_failures
from gdi_pipelines.storage.publish import PartitionPublisher

MAX_LISTED_FAILURES = 25


def check_specs(asset: str, checks: Sequence[tuple[str, Severity, str]]) -> list[dg.AssetCheckSpec]:
    """Specs for (name, severity, description); ERROR checks block downstream materialisation."""
    return [
        dg.AssetCheckSpec(name, asset=asset, blocking=sev is Severity.ERROR, description=desc)
        for name, sev, desc in checks
    ]


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    metadata: dict[str, object] = dict(outcome.figures)
    if "data_docs" in metadata:
        metadata["data_docs"] = dg.MetadataValue.path(str(metadata["data_docs"]))
    if outcome.failures:
        listed = outcome.failures[:MAX_LISTED_FAILURES]
        more = len(outcome.failures) - len(listed)
        text = "\n".join(f"- {line}" for line in listed)
        text += f"\n- ... and {more} more" if more else ""
        metadata["failures"] = dg.MetadataValue.md(text)
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity.value),
        description=outcome.description,
        metadata=metadata,
    )


def gate_and_publish(
    context: dg.AssetExecutionContext,
    publisher: PartitionPublisher,
    outcomes: list[CheckOutcome],
    extra_metadata: dict[str, object] | None = None,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Yield the check results; publish when no blocking check failed, else quarantine and raise."""
    for outcome in outcomes:
        yield check_result(outcome)
    failed = blocking_failures(outcomes)
    if failed:
        report = {
            "run_id": context.run_id,
            "partition": publisher.partition,
            "table": publisher.target.uri,
            "failed_checks": [
                {"name": o.name, "figures": o.figures, "failures": list(o.failures)} for o in failed
            ],
        }
        quarantine = publisher.quarantine(report)
        first = failed[0].failures[0] if failed[0].failures else failed[0].description
        raise dg.Failure(
            description=(
                f"{len(failed)} blocking check(s) failed ({', '.join(o.name for o in failed)}): "
                f"{first}. Nothing was published; staged data and report in {quarantine}"
            ),
            metadata={"quarantine_uri": quarantine},
        )
    result = publisher.publish()
    yield dg.MaterializeResult(
        metadata={
            "table_uri": dg.MetadataValue.path(result.table_uri),
            "delta_version": result.version,
            "rows_written": result.rows_written,
            "partition_row_count": result.partition_rows,
            "dagster/row_count": result.partition_rows,
            "dagster/column_schema": column_schema(publisher.schema, publisher.descriptions),
            **(extra_metadata or {}),
        }
    )


def stage_gate_publish(
    context: dg.AssetExecutionContext,
    publisher: PartitionPublisher,
    frame: pl.DataFrame | Iterable[pl.DataFrame],
    outcomes: list[CheckOutcome] | Callable[[pl.LazyFrame], list[CheckOutcome]],
    extra_metadata: dict[str, object] | None = None,
    suite_docs: Location | None = None,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Stage `frame` (or frames); with `suite_docs` also run the table's GX suite (Data Docs go
    there); then `gate_and_publish`. `outcomes` may be a function of the staged rows, called
    once they are staged."""
    rows = publisher.stage(frame)
    staged = publisher.staged()  # the last rows written
    context.log.info(f"{publisher.table_name}: {rows} rows staged")  # the gates start here
    if callable(outcomes):
        outcomes = outcomes(staged)
    if suite_docs is not None:
        outcomes = [
            *outcomes,
            *validate_staged(
                staged, publisher.table_name, {}, suite_docs, context.run_id, context.log
            ),
        ]
    yield from gate_and_publish(context, publisher, outcomes, extra_metadata)


def column_schema(schema: pl.Schema, descriptions: dict[str, str]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=descriptions.get(name))
            for name, dtype in schema.items()
        ]
    )
