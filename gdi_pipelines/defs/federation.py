"""The federation: pooled, disclosure-controlled figures in `{warehouse}/federation/`.

Every asset here reads the nodes through `NodeSummaries` (the country summaries, nothing
else) or the federation's own tables. They are unpartitioned and refreshed by the nightly
`federation_refresh` schedule (or by hand): an eager condition over the country x batch grid
would wait for partitions that never land (a country without batch b002).
"""

import itertools
import json
import tempfile
from datetime import timedelta
from functools import partial
from pathlib import Path

import dagster as dg
import polars as pl
import pysam

from gdi_pipelines.config import Settings
from gdi_pipelines.config.locations import Location
from gdi_pipelines.defs.expectations import suite_checks
from gdi_pipelines.defs.gating import check_result, check_specs, stage_gate_publish
from gdi_pipelines.defs.memory import HOOKS
from gdi_pipelines.defs.plots import plot_metadata
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.retries import retry_transient_storage
from gdi_pipelines.domain.aggregates import gates
from gdi_pipelines.domain.aggregates.disclosure import protect_cohort_cells
from gdi_pipelines.domain.aggregates.exports import (
    FORMAT_ROWS,
    beacon_lines,
    ordered_blocks,
    write_beacon_jsonl,
    write_sites_vcf,
)
from gdi_pipelines.domain.aggregates.federation import (
    FederationConfig,
    in_region,
    pool_country_summaries,
    regions,
)
from gdi_pipelines.domain.aggregates.plots import af_country_vs_pooled_png
from gdi_pipelines.domain.aggregates.variant_summaries import country_totals
from gdi_pipelines.domain.quality import CheckOutcome
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.node_summaries import SummaryInput
from gdi_pipelines.storage.objectstore import store_for
from gdi_pipelines.storage.publish import PartitionPublisher
from gdi_pipelines.storage.reference_catalogue import load_catalogue

AGGREGATES = "cross_country_aggregates"
REGION_POSITIONS = 131_072  # positions pooled at once
COHORT = "cohort_summary"
EXPORTS = "network_exports"
JOB = "federation_refresh"
GROUP = "federation"
# nightly refresh: a day without one warns, two fail
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=50), warn_window=timedelta(hours=26)
)
AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)


class FederationSettings(dg.Config):
    k: int = 5  # counts of persons (and per-country AC) below k are suppressed
    min_samples: int = 20  # smaller countries count in the pooled figures only
    faf_confidence: float = 0.95


class ExportSettings(dg.Config):
    source: str = "1+MG Genomic Data Infrastructure"
    source_reference: str = "https://gdi.onemilliongenomes.eu/"
    population: str = "GDI"


def _publisher(settings: Settings, table: str, schema: pl.Schema, run_id: str):
    zone = settings.federation
    return PartitionPublisher(zone.child(table), zone, table, {}, run_id, schema, partition_by=())


def _lineage(inputs: list[SummaryInput]) -> str:
    return ", ".join(f"{i.country} v{i.version}" for i in inputs) or "none"


def _af_by_country_markdown(pooled: pl.DataFrame, countries: list[str]) -> str:
    """Mean |AF_country - AF_pooled| and the AF spectrum per country: a table reads at a glance."""
    bins = [0.0, 0.01, 0.05, 0.5, 1.0]
    lines = ["| population | variants | mean abs(AF - pooled AF) | 0-1% | 1-5% | 5-50% | 50-100% |"]
    lines.append("|---|---|---|---|---|---|---|")
    for name, column in [("pooled", "AF"), *((c, f"AF_{c}") for c in countries)]:
        af = pooled.select(x=pl.col(column), pooled=pl.col("AF")).drop_nulls()
        diff = af.select((pl.col("x") - pl.col("pooled")).abs().mean()).item() or 0.0
        counts = [
            af.filter((pl.col("x") > lo) & (pl.col("x") <= hi)).height
            for lo, hi in itertools.pairwise(bins)
        ]
        lines.append(
            f"| {name} | {af.height} | {diff:.4f} | " + " | ".join(map(str, counts)) + " |"
        )
    return "\n".join(lines)


def _af_plot(context, docs: Location, pooled: pl.DataFrame, countries: list[str]) -> dict:
    """AF per country against the pooled AF as a PNG next to the table's Data Docs and inline
    in the metadata; published (non-null) figures only."""
    where = docs.child("plots", f"af_country_vs_pooled_{context.run_id}.png")
    render = partial(af_country_vs_pooled_png, pooled, countries)
    return plot_metadata(context.log, where, render, "af_plot", "AF per country against pooled AF")


def build_federation_defs() -> dg.Definitions:
    @dg.asset(
        name=AGGREGATES,
        freshness_policy=FRESHNESS,
        group_name=GROUP,
        kinds={"delta", "polars"},
        owners=["team:federation"],
        deps=["country_variant_summaries"],
        check_specs=check_specs(AGGREGATES, gates.AGGREGATE_CHECKS + suite_checks(AGGREGATES)),
        description=(
            "Per variant across countries, from the country summaries only: pooled AC/AN/AF, "
            "nhomalt, nhemi, the XX/XY split, n_countries, gnomAD's faf95, and per-country "
            "AC/AN/AF/nhomalt, withheld (null) below k, for countries under min_samples, and "
            "complementarily so no withheld figure follows from the pooled one."
        ),
    )
    @retry_transient_storage
    def cross_country_aggregates(
        context: dg.AssetExecutionContext, config: FederationSettings, platform: PlatformResource
    ):
        inputs = platform.node_summaries().read("country_variant_summaries")
        if not inputs:
            raise dg.Failure("no node has published country_variant_summaries yet")
        federation = FederationConfig(config.min_samples, config.k, config.faf_confidence)
        frames = [i.frame for i in inputs]
        countries = pl.concat([f.select("country").unique() for f in frames]).collect()
        countries = sorted(countries.get_column("country").unique())

        def pool(on: pl.Expr) -> pl.DataFrame:
            # filtered before summing: a filter on the sums would not reach the scan
            totals = [country_totals(f.filter(on)) for f in frames]
            return pool_country_summaries(totals, federation, countries)

        def per_region():
            """A region at a time, in row order: memory holds its variants only."""
            for region in regions(frames, REGION_POSITIONS):
                yield pool(in_region(*region))

        def outcomes(staged: pl.LazyFrame) -> list[CheckOutcome]:
            return [
                gates.no_person_level_data(staged),
                gates.country_cells_protected(staged, config.k),
            ]

        settings = platform.settings()
        docs = settings.federation.child("_docs", "gx", AGGREGATES)
        publisher = _publisher(settings, AGGREGATES, pool(pl.lit(False)).schema, context.run_id)
        variants = publisher.stage(per_region())
        frequencies = publisher.staged().select("AF", *(f"AF_{c}" for c in countries)).collect()
        extra = {
            "inputs": _lineage(inputs),
            "countries": ", ".join(i.country for i in inputs),
            "variants": variants,
            "af_by_country": dg.MetadataValue.md(_af_by_country_markdown(frequencies, countries)),
        }
        extra.update(_af_plot(context, docs, frequencies, countries))
        yield from stage_gate_publish(context, publisher, [], outcomes, extra, suite_docs=docs)

    @dg.asset(
        name=COHORT,
        freshness_policy=FRESHNESS,
        group_name=GROUP,
        kinds={"delta", "polars"},
        owners=["team:federation"],
        deps=["country_cohort_counts"],
        check_specs=check_specs(COHORT, gates.SUPPRESSION_CHECKS),
        description=(
            "Persons by country x sex x diagnosis group x phenotype group with TOTAL margins; "
            "counts below k suppressed (primary) and further cells (complementary) until no "
            "suppressed count follows from the published ones."
        ),
    )
    @retry_transient_storage
    def cohort_summary(
        context: dg.AssetExecutionContext, config: FederationSettings, platform: PlatformResource
    ):
        inputs = platform.node_summaries().read("country_cohort_counts")
        if not inputs:
            raise dg.Failure("no node has published country_cohort_counts yet")
        cells = pl.concat([i.frame.drop("batch_id").collect() for i in inputs])
        summary = protect_cohort_cells(cells, config.k)
        outcomes = [
            gates.no_person_level_data(summary),
            *gates.cohort_suppression(summary, config.k),
        ]
        publisher = _publisher(platform.settings(), COHORT, summary.schema, context.run_id)
        extra = {"inputs": _lineage(inputs), "suppressed": summary["n_persons"].null_count()}
        yield from stage_gate_publish(context, publisher, summary, outcomes, extra)

    @dg.asset(
        name=EXPORTS,
        freshness_policy=FRESHNESS,
        group_name=GROUP,
        kinds={"vcf", "json"},
        owners=["team:federation"],
        deps=[AGGREGATES],
        automation_condition=AUTOMATION,
        check_specs=check_specs(EXPORTS, gates.EXPORT_CHECKS),
        description=(
            "Files for the GDI network, per version of cross_country_aggregates, under "
            "`{warehouse}/federation/exports/v{version}/`: Beacon v2 allele-frequency documents "
            "(JSON Lines, gzipped) and a bgzipped, tabix-indexed sites-only VCF with AC/AN/AF "
            "per country in INFO. `exports/latest.json` points at the newest."
        ),
    )
    @retry_transient_storage
    def network_exports(
        context: dg.AssetExecutionContext, config: ExportSettings, platform: PlatformResource
    ):
        settings = platform.settings()
        table = TableRef(settings.federation.child(AGGREGATES))
        version = table.version()
        if version is None:
            raise dg.Failure(f"{AGGREGATES} has not been published yet")
        pooled = table.scan(version)  # read a region at a time
        target = settings.federation.child("exports", f"v{version:06d}")
        with tempfile.TemporaryDirectory(prefix="gdi-exports-") as tmp:
            folder = Path(tmp)
            vcf = write_sites_vcf(pooled, folder / "gdi_sites.vcf.gz", "GRCh38", _lengths(settings))
            beacon = folder / "gdi_beacon_frequencies.jsonl.gz"
            blocks = (  # one slice of documents in memory at a time
                beacon_lines(
                    piece,
                    config.source,
                    config.source_reference,
                    "GRCh38",
                    config.population,
                    str(version),
                )
                for part in ordered_blocks(pooled)
                for piece in part.iter_slices(FORMAT_ROWS)
            )
            write_beacon_jsonl(blocks, beacon)
            variants = pooled.select(pl.len()).collect().item()
            context.log.info(f"{EXPORTS}: {variants} variants written for v{version}")
            check = gates.exports_match(pooled, vcf, beacon)
            yield check_result(check)
            store = store_for(target)
            if not check.passed:
                quarantine = settings.federation.child("_quarantine", EXPORTS, context.run_id)
                store.upload_tree(folder, quarantine.child("data").uri)
                report = {"run_id": context.run_id, "aggregates_version": version}
                report["failed_checks"] = [{"name": check.name, "failures": check.failures}]
                store.write_bytes(quarantine.child("report.json").uri, json.dumps(report).encode())
                raise dg.Failure(
                    f"exports do not match {AGGREGATES} v{version}: {check.failures[0]}. "
                    f"Nothing was published; files and report in {quarantine.uri}",
                    metadata={"quarantine_uri": quarantine.uri},
                )
            store.upload_tree(folder, target.uri)
        latest = {"version": version, "files": [vcf.name, vcf.name + ".tbi", beacon.name]}
        latest_uri = settings.federation.child("exports", "latest.json").uri
        store.write_bytes(latest_uri, json.dumps(latest).encode())
        yield dg.MaterializeResult(
            metadata={
                "exports_uri": dg.MetadataValue.path(target.uri),
                "aggregates_version": version,
                "variants": variants,
            }
        )

    assets = [cross_country_aggregates, cohort_summary, network_exports]
    job = dg.define_asset_job(JOB, selection=dg.AssetSelection.groups(GROUP), hooks=HOOKS)
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        schedules=[
            dg.ScheduleDefinition(
                name="nightly_federation",
                job=job,
                cron_schedule="0 2 * * *",
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Refresh the pooled figures and exports from the nodes' summaries.",
            )
        ],
    )


def _lengths(settings: Settings) -> dict[str, int] | None:
    fasta = load_catalogue(settings.reference).build("GRCh38", EXPORTS).fasta
    if fasta is None:
        return None
    with pysam.FastaFile(str(fasta)) as handle:
        return dict(zip(handle.references, handle.lengths, strict=True))
