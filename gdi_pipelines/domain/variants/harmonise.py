"""Harmonise one VCF/BCF into long-format calls on GRCh38, chunk by chunk.

Per chunk of records: split multi-allelics (bcftools `-m -any` rules), normalise against the
source build's FASTA (bcftools `norm -f`), lift to the target build (UCSC chain), then mask
low-quality calls and apply sex ploidy. Each chunk yields:
- `calls`: one row per (sample, variant) that is not hom-ref, plus no-calls (dosage null);
  hom-ref is implied for every (sample, variant) not listed. Besides the GDI columns it keeps
  the split allele depths (`ad_ref`, `ad_alt`) for allele-balance checks downstream. Phase is
  not kept.
- `sites`: one row per harmonised (non-rejected) bi-allelic variant row, whether or not any
  sample carries it: what the batch genotyped, so that hom-ref can be implied exactly (AN).
- `rejects`: one row per (record, ALT) that could not be harmonised, with its reason and line.
- `samples`: the samples (pseudonyms) with their sex and whether a haploid-coded chrX non-PAR
  call was seen in the chunk; `combine_samples` folds these over a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from gdi_pipelines.domain.read_ahead import read_ahead
from gdi_pipelines.domain.variants.contigs import canonical_contigs
from gdi_pipelines.domain.variants.genotype_qc import (
    NO_CALL,
    PAR_REGIONS,
    CallThresholds,
    PloidyRegion,
    Sex,
    genotype_dosages,
    haploid_coded,
    mask_low_quality,
    ploidy_regions,
    sex_codes,
)
from gdi_pipelines.domain.variants.liftover import ChainIndex
from gdi_pipelines.domain.variants.liftover_alleles import lift_rows
from gdi_pipelines.domain.variants.normalise import normalise_rows
from gdi_pipelines.domain.variants.records import MISSING, RecordChunk
from gdi_pipelines.domain.variants.records import vcf_samples as read_vcf_samples
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines.domain.variants.rows import AlleleRows, RejectReason, object_array
from gdi_pipelines.domain.variants.split import recode_genotypes, split_index, split_number_r
from gdi_pipelines.domain.variants.vcf_text import read_vcf_chunks

CALL_SCHEMA = {
    "sample": pl.String,
    "chrom": pl.String,
    "pos": pl.Int64,
    "ref": pl.String,
    "alt": pl.String,
    "variant_id": pl.String,
    "dosage": pl.Int8,
    "ploidy": pl.Int8,
    "gq": pl.Int32,
    "dp": pl.Int32,
    "ad_ref": pl.Int32,
    "ad_alt": pl.Int32,
    "filter_pass": pl.Boolean,
    "filter": pl.String,
    "source_build": pl.String,
    "source_chrom": pl.String,
    "source_pos": pl.Int64,
    "source_ref": pl.String,
    "source_alt": pl.String,
}
# the calls table's Delta partitions: a batch's calls, contig by contig (readers prune on chrom)
CALL_PARTITION_BY = ("batch_id", "chrom")
REJECT_SCHEMA = {
    "source_file": pl.String,
    "region": pl.String,
    "record_index": pl.Int64,
    "line": pl.Int64,  # 1-based line in the VCF; null for a region read (no line known)
    "chrom": pl.String,
    "pos": pl.Int64,
    "ref": pl.String,
    "alt": pl.String,
    "reason": pl.String,
}
SAMPLE_SCHEMA = {"sample": pl.String, "sex": pl.String, "haploid_x_observed": pl.Boolean}
SITE_SCHEMA = {
    "chrom": pl.String,
    "pos": pl.Int64,
    "ref": pl.String,
    "alt": pl.String,
    "variant_id": pl.String,
    "filter_pass": pl.Boolean,  # the record's FILTER is PASS or missing
    "source_build": pl.String,
}


@dataclass(frozen=True)
class HarmoniseConfig:
    source_build: str  # "GRCh37" or "GRCh38"
    source_fasta: Path
    target_build: str = "GRCh38"
    # target FASTA (used only when lifting): REF check, REF/ALT swaps, re-normalising
    target_fasta: Path | None = None
    chain: Path | None = None  # UCSC chain source -> target; needed when the builds differ
    thresholds: CallThresholds = field(default_factory=CallThresholds)
    par_regions: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]] = field(
        default_factory=lambda: PAR_REGIONS
    )
    chunk_size: int = 2000


@dataclass
class HarmonisedChunk:
    calls: pl.DataFrame
    rejects: pl.DataFrame
    samples: pl.DataFrame
    stats: dict[str, int]
    sites: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SITE_SCHEMA))


@dataclass
class _Context:
    config: HarmoniseConfig
    source_file: str
    region: str | None
    samples: pl.Series  # pseudonyms, in VCF order
    sex: np.ndarray
    sex_names: list[str]
    source: ReferenceGenome
    target: ReferenceGenome | None
    chains: ChainIndex | None


def harmonise_vcf(
    path: str | Path,
    config: HarmoniseConfig,
    pseudonymise: Callable[[str], str],
    sample_sex: Mapping[str, str] | None = None,
    region: str | None = None,
    pos_range: tuple[int, int] | None = None,
) -> Iterator[HarmonisedChunk]:
    """Stream `path` (local VCF/BCF) chunk by chunk; `region` needs a tabix/CSI index.

    `sample_sex` maps the VCF's sample ids to 'male'/'female' (else unknown). Configuration
    errors are raised here, before the first chunk is read.
    """
    lifting = config.source_build != config.target_build
    if lifting and config.chain is None:
        raise ValueError(f"{config.source_build} -> {config.target_build} needs a chain file")
    if config.target_build not in config.par_regions:
        raise ValueError(f"no PAR regions for build {config.target_build!r}")
    samples = read_vcf_samples(path)
    sex = sex_codes(samples, sample_sex)
    ctx = _Context(
        config=config,
        source_file=str(path),
        region=region,
        samples=pl.Series("sample", [pseudonymise(s) for s in samples], dtype=pl.String),
        sex=sex,
        sex_names=[Sex(code).name.lower() for code in sex],
        source=ReferenceGenome(config.source_fasta, config.source_build),
        target=ReferenceGenome(config.target_fasta, config.target_build)
        if lifting and config.target_fasta
        else None,
        chains=ChainIndex.from_file(config.chain) if lifting else None,
    )
    return _stream(path, ctx, region, pos_range)


def _stream(path, ctx: _Context, region, pos_range) -> Iterator[HarmonisedChunk]:
    try:
        chunks = read_vcf_chunks(path, ctx.config.chunk_size, region, pos_range)
        for chunk in read_ahead(chunks, name="gdi-vcf-reader"):
            yield _harmonise_chunk(chunk, ctx)
    finally:
        ctx.source.close()
        if ctx.target is not None:
            ctx.target.close()


def _harmonise_chunk(chunk: RecordChunk, ctx: _Context) -> HarmonisedChunk:
    config = ctx.config
    n_alts = np.array([len(a) for a in chunk.alts], dtype=np.int64)
    record, allele = split_index(n_alts)
    canonical = canonical_contigs(chunk.chrom, config.source_build)
    # one row per ALT in record order, as split_index numbers them ('.' for a record without)
    source_alt = object_array([alt for alts in chunk.alts for alt in (alts or ["."])])
    rows = AlleleRows(
        record=record,
        allele=allele,
        chrom=object_array([canonical[c] for c in chunk.chrom])[record],
        pos=chunk.pos[record].copy(),
        ref=object_array(chunk.ref)[record],
        alt=source_alt.copy(),
        reason=np.full(len(record), None, dtype=object),
    )
    rows.reject(np.equal(rows.chrom, None), RejectReason.UNKNOWN_CONTIG)
    stats = {"records": len(chunk), "rows": len(rows)}
    stats["realigned_source"] = normalise_rows(rows, ctx.source)
    swapped = np.zeros(len(rows), dtype=bool)
    if ctx.chains is not None:
        outcome = lift_rows(rows, ctx.chains, ctx.source, ctx.target)
        swapped = outcome.swapped
        stats["strand_flips"] = int(outcome.reversed.sum())
        stats["swapped"] = int(swapped.sum())
        stats["realigned_target"] = outcome.realigned

    good = np.flatnonzero(rows.good())
    gt = chunk.gt[record[good]]
    multi = np.flatnonzero(n_alts[record[good]] > 1)
    if multi.size:  # a bi-allelic record's genotypes need no recoding
        gt[multi] = recode_genotypes(gt[multi], allele[good][multi])
    ad = _split_depths(chunk, record[good], allele[good])
    swap = swapped[good]
    gt[swap] = np.where(gt[swap] >= 0, 1 - gt[swap], gt[swap])
    ad[swap] = ad[swap][:, :, ::-1]
    pars = config.par_regions.get(config.target_build, {})
    region = ploidy_regions(rows.chrom[good], rows.pos[good], pars)
    dosage, ploidy = genotype_dosages(gt, region, ctx.sex)
    gq, dp = chunk.gq[record[good]], chunk.dp[record[good]]
    stats["masked_calls"] = mask_low_quality(dosage, ploidy, gq, dp, config.thresholds)
    haploid_x = (haploid_coded(gt) & (region == PloidyRegion.X_NONPAR)[:, None]).any(axis=0)

    variants = _variants(chunk, rows, source_alt, good, ctx)
    calls = _long_calls(variants, ctx, (dosage, ploidy, gq, dp, ad))
    stats["calls"] = calls.height
    rejects = _rejects(chunk, rows, source_alt, ctx)
    stats["rejected_rows"] = rejects.height
    samples = pl.DataFrame(
        {"sample": ctx.samples, "sex": ctx.sex_names, "haploid_x_observed": haploid_x},
        schema=SAMPLE_SCHEMA,
    )
    sites = variants.select(list(SITE_SCHEMA)).cast(SITE_SCHEMA)
    return HarmonisedChunk(calls, rejects, samples, stats, sites)


def _split_depths(chunk: RecordChunk, record: np.ndarray, allele: np.ndarray) -> np.ndarray:
    if chunk.ad is None:
        return np.full((len(record), chunk.gt.shape[1], 2), MISSING, dtype=np.int32)
    return split_number_r(chunk.ad, record, allele)


def _variants(chunk, rows, source_alt, good, ctx) -> pl.DataFrame:
    """One row per harmonised variant row: the columns its calls share."""
    record = pl.Series(rows.record[good])
    per_record = pl.DataFrame(
        {
            "filter": chunk.filters,
            "source_chrom": chunk.chrom,
            "source_pos": chunk.pos,
            "source_ref": chunk.ref,
        },
        schema_overrides={"filter": pl.String},
    )[record]
    variants = pl.DataFrame(
        {
            "chrom": rows.chrom[good].tolist(),
            "pos": rows.pos[good],
            "ref": rows.ref[good].tolist(),
            "alt": rows.alt[good].tolist(),
            "source_alt": source_alt[good].tolist(),
        },
        schema={
            "chrom": pl.String,
            "pos": pl.Int64,
            "ref": pl.String,
            "alt": pl.String,
            "source_alt": pl.String,
        },
    ).hstack(per_record)
    return variants.with_columns(
        filter_pass=pl.col("filter").is_null() | (pl.col("filter") == "PASS"),
        source_build=pl.lit(ctx.config.source_build, dtype=pl.String),
        variant_id=pl.concat_str(["chrom", "pos", "ref", "alt"], separator="-"),
    )


def _long_calls(variants: pl.DataFrame, ctx: _Context, per_call) -> pl.DataFrame:
    """Calls that are not hom-ref (no-calls included), with their variant's columns."""
    dosage, ploidy, gq, dp, ad = per_call
    n_samples = dosage.shape[1]
    cell = np.flatnonzero((ploidy > 0) & (dosage != 0))  # flat (row, sample) indexes
    emit_row = cell // n_samples

    def picked(values: np.ndarray, dtype, missing: int | None = None) -> pl.Series:
        values = values.reshape(-1)[cell]
        mask = None if missing is None else values == missing
        return pl.Series(pa.array(values, mask=mask)).cast(dtype)

    calls = variants[emit_row].with_columns(
        sample=ctx.samples.gather(cell - emit_row * n_samples),
        dosage=picked(dosage, pl.Int8, NO_CALL),
        ploidy=picked(ploidy, pl.Int8),
        gq=picked(gq, pl.Int32, MISSING),
        dp=picked(dp, pl.Int32, MISSING),
        ad_ref=picked(np.ascontiguousarray(ad[:, :, 0]), pl.Int32, MISSING),
        ad_alt=picked(np.ascontiguousarray(ad[:, :, 1]), pl.Int32, MISSING),
    )
    return calls.select(list(CALL_SCHEMA)).cast(CALL_SCHEMA)


def _rejects(chunk, rows, source_alt, ctx) -> pl.DataFrame:
    bad = np.flatnonzero(~rows.good())
    record = rows.record[bad]
    return pl.DataFrame(
        {
            "source_file": [ctx.source_file] * len(bad),
            "region": [ctx.region] * len(bad),
            "record_index": chunk.first_index + record,
            "line": [None] * len(bad) if chunk.first_line is None else chunk.first_line + record,
            "chrom": [chunk.chrom[r] for r in record],
            "pos": chunk.pos[record],
            "ref": [chunk.ref[r] for r in record],
            "alt": source_alt[bad].astype(str),
            "reason": rows.reason[bad].astype(str),
        },
        schema=REJECT_SCHEMA,
    )


def combine_samples(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """One row per sample over a batch: haploid chrX seen in any chunk or shard."""
    frames = list(frames)
    if not frames:
        return pl.DataFrame(schema=SAMPLE_SCHEMA)
    return (
        pl.concat(frames)
        .group_by("sample", maintain_order=True)
        .agg(pl.col("sex").first(), pl.col("haploid_x_observed").any())
    )
