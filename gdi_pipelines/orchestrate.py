"""Discover landed batches, register them as partitions and materialise them through Dagster."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from gdi_pipelines.config import Settings
from gdi_pipelines.defs.federation import JOB as FEDERATION_JOB
from gdi_pipelines.defs.jobs import INGEST_JOB
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.storage.landing import LandedBatch, discover_batches


@dataclass(frozen=True)
class CheckSummary:
    asset: str
    check: str
    passed: bool
    severity: str


@dataclass(frozen=True)
class RunSummary:
    partition: CountryBatch | None  # None: the federation refresh
    run_id: str
    success: bool
    checks: tuple[CheckSummary, ...]
    error: str | None


def landed_batches(
    settings: Settings, countries: tuple[str, ...] | None = None
) -> list[LandedBatch]:
    found = []
    for node in settings.nodes:
        if countries is None or node.country in countries:
            found.extend(discover_batches(node))
    return found


def register_batches(instance: dg.DagsterInstance, batches: list[LandedBatch]) -> list[str]:
    """Add complete batches to the dynamic `batches` dimension; return the new ids."""
    known = set(instance.get_dynamic_partitions(BATCHES.name))
    new = sorted({b.batch_id for b in batches if b.complete} - known)
    if new:
        instance.add_dynamic_partitions(BATCHES.name, new)
    return new


def materialise(
    defs: dg.Definitions, instance: dg.DagsterInstance, partitions: list[CountryBatch]
) -> list[RunSummary]:
    """Run the ingest job once per partition, in this process, recorded in `instance`."""
    job = defs.resolve_job_def(INGEST_JOB)
    summaries = []
    for where in partitions:
        result = job.execute_in_process(
            instance=instance,
            partition_key=where.key,
            raise_on_error=False,
            tags={"gdi/country": where.country, "gdi/batch": where.batch_id},
        )
        summaries.append(_summary(where, result))
    return summaries


def refresh_federation(defs: dg.Definitions, instance: dg.DagsterInstance) -> RunSummary:
    """Pool the nodes' published summaries: the job the nightly schedule runs."""
    result = defs.resolve_job_def(FEDERATION_JOB).execute_in_process(
        instance=instance, raise_on_error=False
    )
    return _summary(None, result)


def _summary(where: CountryBatch | None, result: dg.ExecuteInProcessResult) -> RunSummary:
    checks = tuple(
        CheckSummary(e.asset_key.to_user_string(), e.check_name, e.passed, e.severity.value)
        for e in result.get_asset_check_evaluations()
    )
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        error = failures[0].step_failure_data.error.message.strip() if failures else "run failed"
    return RunSummary(where, result.run_id, result.success, checks, error)
