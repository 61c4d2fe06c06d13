"""Node-local summaries of a batch: `sample_qc`, `country_variant_summaries` and
`country_cohort_counts`. They read the node's published tables of the same partition; the
last two are the only node tables the federation may read."""

from functools import partial

import dagster as dg
import polars as pl

from gdi_pipelines.defs.batch import PartitionScope, open_partition
from gdi_pipelines.defs.expectations import suite_checks
from gdi_pipelines.defs.gating import check_specs, stage_gate_publish
from gdi_pipelines.defs.plots import plot_metadata
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.retries import retry_transient_storage
from gdi_pipelines.domain.aggregates import call_tally, gates
from gdi_pipelines.domain.aggregates.disclosure import CELL_SCHEMA, cohort_cells
from gdi_pipelines.domain.aggregates.federation import in_region, regions
from gdi_pipelines.domain.aggregates.plots import sample_qc_png
from gdi_pipelines.domain.aggregates.sample_qc import SampleQcConfig, sample_qc
from gdi_pipelines.domain.aggregates.variant_summaries import SUMMARY_SCHEMA, variant_summaries
from gdi_pipelines.domain.quality import CheckOutcome
from gdi_pipelines.storage.reference_catalogue import load_catalogue

QC_TABLE = "sample_qc"
SUMMARIES_TABLE = "country_variant_summaries"
COHORT_TABLE = "country_cohort_counts"
BUILD = "GRCh38"
REGION_POSITIONS = 65_536  # positions of a batch summarised at once
AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)

QC_DESCRIPTIONS = {
    "sample": "keyed pseudonym of the sample",
    "sex": "sex the harmoniser applied (from the sequencing manifest)",
    "call_rate": "1 - no-calls / callable PASS sites",
    "het_hom_ratio": "n_het / n_hom_alt",
    "ti_tv": "transitions / transversions over SNV ALT calls",
    "n_singletons": "ALT calls of variants with AC = 1 in the batch",
    "chrx_f": "chrX inbreeding coefficient (plink --check-sex F)",
    "inferred_sex": "XX, XY or ambiguous, from chrX heterozygosity and chrY calls",
    "reported_sex": "clinical sex at birth when female/male, else the manifest's",
    "sex_mismatch": "reported and inferred sex contradict each other",
    "karyotype": "XX/XY used for the sex-split allele counts",
    "qc_fail_reasons": "outlier flags (median +/- k MAD within batch and karyotype), sex issues",
    "qc_pass": "counted in the country summaries",
}
SUMMARY_DESCRIPTIONS = {
    "AC": "ALT alleles in QC-passing samples",
    "AN": "alleles called, ploidy-exact (hemizygous chrX/chrY count 1)",
    "AF": "AC / AN; null when AN = 0",
    "n_hemi": "haploid ALT calls",
    "call_rate": "called / samples with ploidy > 0 at the variant",
    "hwe_p": "Hardy-Weinberg exact p over the diploid genotypes",
    "n_samples": "QC-passing samples of the batch",
}
SUMMARY_TABLE_SCHEMA = pl.Schema({"batch_id": pl.String, **SUMMARY_SCHEMA})
COHORT_TABLE_SCHEMA = pl.Schema({"batch_id": pl.String, **CELL_SCHEMA})


class SampleQcSettings(dg.Config):
    mad_k: float = 4.0
    min_batch_for_outliers: int = 10
    fail_ambiguous_sex: bool = True
    min_pass_fraction: float = 0.5


def _genome_settings(platform: PlatformResource) -> dict:
    return {
        "build": BUILD,
        "par_regions": load_catalogue(platform.settings().reference).par_regions(),
    }


def _gate(context, scope: PartitionScope, table, frame, schema, outcomes, descriptions, extra=None):
    """Stage `frame`, run `outcomes` and the table's GX suite, publish or quarantine."""
    publisher = scope.publisher(table, schema, descriptions=descriptions)
    extra = {"rows": frame.height, **(extra or {})}
    yield from stage_gate_publish(
        context, publisher, frame, outcomes, extra, suite_docs=scope.docs(table)
    )


def _qc_plot(context, scope: PartitionScope, qc: pl.DataFrame, config: SampleQcConfig) -> dict:
    """The batch's QC distributions as a PNG next to the table's Data Docs (written before the
    gates, as the Data Docs are: a failing batch's picture is the one to look at) and inline
    in the materialization metadata."""
    name = f"{QC_TABLE}_{scope.where.country}_{scope.where.batch_id}_{scope.run_id}.png"
    where = scope.docs(QC_TABLE).child("plots", name)
    return plot_metadata(
        context.log, where, partial(sample_qc_png, qc, config), "qc_plot", "sample QC"
    )


def build_summaries_defs(partitions: dg.MultiPartitionsDefinition) -> dg.Definitions:
    @dg.asset(
        name=QC_TABLE,
        partitions_def=partitions,
        group_name="variants",
        kinds={"delta", "polars"},
        owners=["team:variant-harmonisation"],
        deps=["harmonised_variants", "clinical_phenotypes"],
        automation_condition=AUTOMATION,
        check_specs=check_specs(QC_TABLE, gates.QC_CHECKS + suite_checks(QC_TABLE)),
        description=(
            "Per sample of the batch: call rate, het/hom, Ti/Tv, singletons, indels, genetic "
            "sex from chrX heterozygosity and chrY calls against the reported sex, outliers "
            "(median +/- k MAD within the batch) and qc_pass with its reasons. Samples failing "
            "QC are left out of the country summaries."
        ),
    )
    @retry_transient_storage
    def sample_qc_asset(
        context: dg.AssetExecutionContext, config: SampleQcSettings, platform: PlatformResource
    ):
        scope = open_partition(context, platform)
        qc_config = SampleQcConfig(
            mad_k=config.mad_k,
            min_batch_for_outliers=config.min_batch_for_outliers,
            fail_ambiguous_sex=config.fail_ambiguous_sex,
            **_genome_settings(platform),
        )
        samples = scope.upstream("variant_samples").collect()
        clinical = scope.upstream("clinical_phenotypes").select("country", "sample", "sex_at_birth")
        qc = sample_qc(
            scope.upstream("harmonised_variants"),
            scope.upstream("variant_sites"),
            samples.lazy(),
            clinical,
            qc_config,
        ).collect(engine="streaming")
        outcomes = [
            gates.sample_qc_complete(qc, samples["sample"].to_list()),
            gates.qc_pass_fraction(qc, config.min_pass_fraction),
            gates.sex_concordance(qc),
        ]
        plot = _qc_plot(context, scope, qc, qc_config)
        yield from _gate(context, scope, QC_TABLE, qc, qc.schema, outcomes, QC_DESCRIPTIONS, plot)

    @dg.asset(
        name=SUMMARIES_TABLE,
        partitions_def=partitions,
        group_name="variants",
        kinds={"delta", "polars"},
        owners=["team:variant-harmonisation"],
        deps=["harmonised_variants", QC_TABLE],
        automation_condition=AUTOMATION,
        check_specs=check_specs(
            SUMMARIES_TABLE, gates.SUMMARY_CHECKS + suite_checks(SUMMARIES_TABLE)
        ),
        description=(
            "Per variant of the batch: AC, AN (ploidy-exact), AF, het/hom-alt/hemi counts, "
            "the XX/XY split, call rate and Hardy-Weinberg p, over QC-passing samples only. "
            "One of the two node tables the federation reads; it sums batches per country."
        ),
    )
    @retry_transient_storage
    def country_variant_summaries(context: dg.AssetExecutionContext, platform: PlatformResource):
        scope = open_partition(context, platform)
        calls, sites = scope.upstream("harmonised_variants"), scope.upstream("variant_sites")
        qc = scope.upstream(QC_TABLE).collect()
        settings = _genome_settings(platform)
        cut = regions([sites], REGION_POSITIONS)
        call_tally.expect(sites.select(pl.len()).collect().item() * qc.height)

        def per_region():
            """A region at a time, in contig and position order: memory holds its sites' tally
            and calls, not a contig's (chr1 holds 8% of GRCh38)."""
            for region in cut:
                on_region = in_region(*region)
                yield (
                    variant_summaries(
                        calls.filter(on_region), sites.filter(on_region), qc.lazy(), **settings
                    )
                    .with_columns(batch_id=pl.lit(scope.where.batch_id))
                    .select(SUMMARY_TABLE_SCHEMA.names())
                    .collect(engine="streaming")
                )

        passing = qc.filter(pl.col("qc_pass"))
        called = (
            calls.join(passing.lazy().select("sample"), on="sample", how="semi")
            .select(pl.col("dosage").sum())
            .collect(engine="streaming")
            .item()
        )

        def outcomes(staged: pl.LazyFrame) -> list[CheckOutcome]:
            totals = staged.select(
                pl.col("AC").sum(), pl.col("n_samples").unique().implode(), pl.len()
            ).collect()
            total_ac, counted, variants = totals.row(0)
            return [
                gates.allele_counts_match(int(total_ac or 0), int(called or 0)),
                gates.passing_samples_counted(counted, variants, passing.height),
            ]

        publisher = scope.publisher(
            SUMMARIES_TABLE, SUMMARY_TABLE_SCHEMA, descriptions=SUMMARY_DESCRIPTIONS
        )
        yield from stage_gate_publish(
            context,
            publisher,
            per_region(),
            outcomes,
            {"regions": len(cut)},
            suite_docs=scope.docs(SUMMARIES_TABLE),
        )

    @dg.asset(
        name=COHORT_TABLE,
        partitions_def=partitions,
        group_name="clinical",
        kinds={"delta", "polars"},
        owners=["team:clinical-data"],
        deps=["clinical_phenotypes"],
        automation_condition=AUTOMATION,
        check_specs=check_specs(COHORT_TABLE, gates.COHORT_CHECKS),
        description=(
            "Persons of the batch per sex x diagnosis group (ICD-10 chapter, ORPHA code) x "
            "phenotype group (top-level HPO branch), unsuppressed: it stays on the node; the "
            "federation's `cohort_summary` sums batches and applies disclosure control."
        ),
    )
    @retry_transient_storage
    def country_cohort_counts(context: dg.AssetExecutionContext, platform: PlatformResource):
        scope = open_partition(context, platform)
        persons = scope.upstream("clinical_phenotypes").collect()
        cells = cohort_cells(persons).with_columns(batch_id=pl.lit(scope.where.batch_id))
        outcomes: list[CheckOutcome] = [
            gates.persons_counted(cells, persons),
            gates.no_person_level_data(cells, set(persons["sample"])),
        ]
        publisher = scope.publisher(COHORT_TABLE, COHORT_TABLE_SCHEMA)
        figures = {"cells": cells.height, "persons": persons.height}
        yield from stage_gate_publish(context, publisher, cells, outcomes, figures)

    return dg.Definitions(
        assets=[sample_qc_asset, country_variant_summaries, country_cohort_counts]
    )
