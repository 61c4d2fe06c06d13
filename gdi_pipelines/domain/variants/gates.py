"""Quality gates of `harmonised_variants`, on the staged calls (lazily, in bounded memory)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from gdi_pipelines.domain.quality import CheckOutcome, Severity, outcome
from gdi_pipelines.domain.variants.contigs import canonical_contig
from gdi_pipelines.domain.variants.normalise import alleles_match
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines.domain.variants.rows import object_array

REF_MATCHES = "ref_matches_reference"
REJECT_RATE = "reject_rate_below_ceiling"
SAMPLES = "manifest_samples_match_vcf"
NO_CALLS = "no_call_rate_per_sample"

CHECKS = (
    (REF_MATCHES, Severity.ERROR, "every published REF equals the reference at its position"),
    (REJECT_RATE, Severity.ERROR, "rejected records stay below the ceiling (else: wrong build?)"),
    (SAMPLES, Severity.ERROR, "the VCF's samples are exactly the manifest's"),
    (NO_CALLS, Severity.WARN, "no sample has a no-call rate above the threshold"),
)
MAX_LISTED = 50


def _outcome(name: str, failures: list[str], **figures) -> CheckOutcome:
    return outcome(CHECKS, name, failures, **figures)


def ref_matches(
    calls: pl.LazyFrame,
    columns: tuple[str, str, str],
    genome: ReferenceGenome,
    label: str,
    contigs: Sequence[str] | None = None,
) -> CheckOutcome:
    """Each distinct (chrom, pos, ref) in `columns` checked against `genome` (1-based pos).
    `contigs`: every value of the chrom column in `calls`, where known (the partitions of a
    table partitioned by it): the sites are then found contig by contig, each read from its own
    files (100M genotypes: +245 MiB where all at once took +337)."""
    chrom, pos, ref = columns
    # a site's calls lie together (sample after sample): runs of one are cut to their first row
    # before the hash table sees them (100M genotypes: 2.0 -> 1.0 s)
    first_of_run = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in columns)

    def distinct(rows: pl.LazyFrame) -> pl.DataFrame:
        rows = rows.select(chrom, pos, ref).filter(first_of_run).unique()
        return rows.sort(chrom, pos).collect(engine="streaming")

    parts = [distinct(calls.filter(pl.col(chrom).eq_missing(contig))) for contig in contigs or ()]
    sites = pl.concat(parts) if parts else distinct(calls)
    bad: list[str] = []
    for (contig,), at in sites.partition_by(chrom, as_dict=True, maintain_order=True).items():
        canonical = canonical_contig(contig, genome.build)
        if canonical is None or not genome.has_contig(canonical):
            at_pos = at.get_column(pos).to_list()
            bad += [f"{label} {contig}:{p}: contig not in the reference" for p in at_pos]
            continue
        positions, alleles = at.get_column(pos).to_numpy(), at.get_column(ref).to_list()
        upper = object_array([a.upper() for a in alleles])
        matches = alleles_match(genome, canonical, positions, upper, np.arange(len(upper)))
        for i in np.flatnonzero(~matches).tolist():
            position, allele = int(positions[i]), alleles[i]
            expected = genome.fetch(canonical, position - 1, position - 1 + len(allele))
            bad.append(f"{label} {contig}:{position} REF {allele} but the reference has {expected}")
    return _outcome(REF_MATCHES, bad[:MAX_LISTED], sites_checked=sites.height, mismatches=len(bad))


def reject_rate(
    rejected_rows: int, total_rows: int, ceiling: float, top_reasons: str, source: str = "VCF"
) -> CheckOutcome:
    """`source`: the VCF's name, as the failure names it."""
    rate = rejected_rows / total_rows if total_rows else 0.0
    failures = []
    if rate > ceiling:
        failures.append(
            f"{source}: {rejected_rows} of {total_rows} allele rows rejected "
            f"({rate:.1%} > {ceiling:.1%}); most frequent reasons: {top_reasons}"
        )
    return _outcome(
        REJECT_RATE, failures, reject_rate=round(rate, 6), ceiling=ceiling, rejected=rejected_rows
    )


def samples_match(
    vcf_samples: list[str], manifest_samples: list[str], source: str = "the VCF"
) -> CheckOutcome:
    """Both lists hold pseudonyms; `source`: the VCF's name, as the failures name it."""
    missing = sorted(set(manifest_samples) - set(vcf_samples))
    extra = sorted(set(vcf_samples) - set(manifest_samples))
    failures = [f"{p}: in the manifest, not in {source}" for p in missing]
    failures += [f"{p}: in {source}, not in the manifest" for p in extra]
    return _outcome(
        SAMPLES, failures, vcf_samples=len(vcf_samples), missing=len(missing), extra=len(extra)
    )


def no_call_rates(calls: pl.LazyFrame, n_variants: int, ceiling: float) -> CheckOutcome:
    rates = (
        calls.filter(pl.col("dosage").is_null())
        .group_by("sample")
        .len()
        .with_columns(rate=pl.col("len") / max(n_variants, 1))
        .sort("rate", descending=True)
        .collect(engine="streaming")
    )
    high = rates.filter(pl.col("rate") > ceiling)
    failures = [f"{s}: no-call rate {r:.1%}" for s, _, r in high.head(MAX_LISTED).iter_rows()]
    worst = float(rates["rate"].max()) if rates.height else 0.0
    return _outcome(NO_CALLS, failures, highest_rate=round(worst, 6), samples_above=high.height)
