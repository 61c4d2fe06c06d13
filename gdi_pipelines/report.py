"""Plain-text summaries of what a run published: tables, versions, row counts, checks."""

from __future__ import annotations

import polars as pl

from gdi_pipelines.config import Settings
from gdi_pipelines.orchestrate import RunSummary
from gdi_pipelines.storage.delta import TableRef

NODE_TABLES = (
    "raw_sequences",
    "harmonised_variants",
    "variant_rejects",
    "variant_samples",
    "variant_sites",
    "clinical_phenotypes",
    "clinical_rejects",
    "sample_qc",
    "country_variant_summaries",
    "country_cohort_counts",
)
FEDERATION_TABLES = ("cross_country_aggregates", "cohort_summary")


def table_rows(settings: Settings) -> list[tuple[str, str, int, int]]:
    """(country, table, delta version, rows) for every node table that exists."""
    places = [(n.country, n.warehouse.child(t), t) for n in settings.nodes for t in NODE_TABLES]
    places += [("shared", settings.federation.child(t), t) for t in FEDERATION_TABLES]
    rows = []
    for owner, location, table in places:
        ref = TableRef(location)
        version = ref.version()
        if version is not None:
            count = ref.scan().select(pl.len()).collect().item()
            rows.append((owner, table, version, count))
    return rows


def format_tables(settings: Settings) -> str:
    rows = table_rows(settings)
    if not rows:
        return "no tables published yet"
    lines = [f"{'country':<8}{'table':<28}{'version':>8}{'rows':>12}"]
    lines += [f"{c:<8}{t:<28}{v:>8}{n:>12}" for c, t, v, n in rows]
    return "\n".join(lines)


def format_runs(runs: list[RunSummary]) -> str:
    lines = []
    for run in runs:
        passed = sum(c.passed for c in run.checks)
        failed = [f"{c.asset}.{c.check} ({c.severity})" for c in run.checks if not c.passed]
        status = "ok" if run.success else "FAILED"
        where = run.partition
        label = f"{where.country}/{where.batch_id}" if where else "federation"
        line = f"{label}: {status}, checks passed {passed}"
        line += f", failed {len(failed)}" + (f": {', '.join(failed)}" if failed else "")
        lines.append(line)
        if run.error:
            lines.append(f"    {run.error.splitlines()[0]}")
    return "\n".join(lines)
