"""Per-batch VCF of one country: catalogue sites -> country AFs -> calls, streamed to bgzip.

GRCh37 countries walk the 37 alignment blocks in 37 order, so records stay sorted across
inversions; sites that cannot be expressed in 37 are left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pysam

from gdi_pipelines.domain.bgzf import BgzfWriter
from gdi_pipelines.synth.chain import AlignedBlock
from gdi_pipelines.synth.countries import CountryProfile
from gdi_pipelines.synth.genotypes import simulate_block
from gdi_pipelines.synth.normalise import right_shift
from gdi_pipelines.synth.reference import Contig
from gdi_pipelines.synth.samples import BatchSamples
from gdi_pipelines.synth.seeding import rng_for, stream_entropy
from gdi_pipelines.synth.sites import WINDOW, Site, SiteCatalogue
from gdi_pipelines.synth.truth import TruthWriter
from gdi_pipelines.synth.vcf_format import (
    FORMAT_KEYS,
    INDEL_TRANCHE,
    SNP_TRANCHE,
    sample_columns,
    vcf_header,
)

BLOCK_GENOTYPES = 1 << 19  # records x samples simulated and formatted at once
SHIFTED_FRACTION = 0.5  # of shiftable bi-allelic indels written right-shifted
TRANCHE_FRACTION = 0.04
LOW_QUAL = 30.0
COMPRESS_LEVEL = 2  # like `bgzip -l 2`: 4x faster than the default, files ~25% larger
REFERENCE_URLS = {
    ("GRCh38", "chr"): "file:///references/GRCh38/GRCh38_full_analysis_set_plus_decoy_hla.fa",
    ("GRCh38", "numeric"): "file:///references/GRCh38/Homo_sapiens.GRCh38.dna.primary_assembly.fa",
    ("GRCh37", "numeric"): "file:///references/GRCh37/human_g1k_v37.fasta",
    ("GRCh37", "chr"): "file:///references/hg19/ucsc.hg19.fasta",
}
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class Record:
    chrom: str
    pos: int  # 0-based
    ref: str
    alts: tuple[str, ...]
    site: Site
    freqs: np.ndarray  # country allele frequencies, REF first
    ploidy_class: str
    left_aligned: bool
    strand: str


def country_fst(seed: int, country: str) -> float:
    return 0.01 + 0.04 * (stream_entropy(seed, "fst", country) % 1000) / 1000


def country_allele_frequencies(
    catalogue: SiteCatalogue, seed: int, country: str, contig: Contig, window: int
) -> tuple[list[Site], list[np.ndarray], np.random.Generator]:
    """A window's sites and their frequencies in one country (REF first).

    Balding-Nichols around the global frequencies (Dirichlet for multi-allelic sites), with the
    country's Fst. Also returns the country's generator for further per-site choices.
    """
    sites = catalogue.sites(contig, window)
    rng = rng_for(seed, "country-sites", country, contig.name, window)
    fst = country_fst(seed, country)
    scale = (1 - fst) / fst
    freqs = []
    for site in sites:
        alt = np.array(site.global_af)
        draw = np.maximum(rng.dirichlet(np.concatenate([[1 - alt.sum()], alt]) * scale), 1e-4)
        freqs.append(draw / draw.sum())
    return sites, freqs, rng


def _ploidy_class(contig: Contig, pos: int) -> str:
    if contig.kind == "X":
        return "diploid" if any(a <= pos < b for a, b in contig.pars38) else "x"
    return {"autosome": "diploid", "Y": "y", "M": "mito"}[contig.kind]


def _windows(contig: Contig, build: str, catalogue: SiteCatalogue) -> Iterator[tuple]:
    """(window, block) pairs in the build's coordinate order; block None for GRCh38."""
    if build == "GRCh38":
        for window in range(catalogue.window_count(contig)):
            yield window, None
        return
    for block in contig.alignment.blocks:
        first, last = block.start38 // WINDOW, (block.end38 - 1) // WINDOW
        order = range(last, first - 1, -1) if block.inverted else range(first, last + 1)
        for window in order:
            yield window, block


def _records(
    catalogue: SiteCatalogue, profile: CountryProfile, contig: Contig, seed: int
) -> Iterator[Record]:
    chrom = profile.contig_name(contig.name)
    seq = catalogue.upper_seq(contig)
    for window, block in _windows(contig, profile.build, catalogue):
        sites, freqs, rng = country_allele_frequencies(
            catalogue, seed, profile.country, contig, window
        )
        shift_draws = rng.random((len(sites), 2))
        chosen = []
        for site, freq, (u_shift, u_steps) in zip(sites, freqs, shift_draws, strict=True):
            pos, ref, alts, left = site.pos, site.ref, site.alts, True
            if site.max_shift and u_shift < SHIFTED_FRACTION:
                moved = right_shift(seq, site.truth[0], 1 + int(u_steps * site.max_shift))
                pos, ref, alts, left = moved.pos, moved.ref, (moved.alt,), False
            record = Record(
                chrom, pos, ref, alts, site, freq, _ploidy_class(contig, site.pos), left, "+"
            )
            if block is not None:
                record = _project(record, block)
            if record is not None:
                chosen.append(record)
        yield from (reversed(chosen) if block is not None and block.inverted else chosen)


def _project(record: Record, block: AlignedBlock) -> Record | None:
    """The record in GRCh37 coordinates, or None if it is not expressible there."""
    start, end = record.site.footprint
    if not (block.start38 <= start and end < block.end38):
        return None
    if not block.inverted:
        pos = block.start37 + record.pos - block.start38
        return replace(record, pos=pos)
    if len(record.ref) != 1 or record.site.is_indel:
        return None
    pos = block.start37 + (block.end38 - record.pos - 1)
    ref = record.ref.translate(_COMPLEMENT)
    alts = tuple(a.translate(_COMPLEMENT) for a in record.alts)
    return replace(record, pos=pos, ref=ref, alts=alts, strand="-")


def _filters(rng: np.random.Generator, qual: np.ndarray, records: list[Record]) -> list[str]:
    tranche = rng.random(len(records)) < TRANCHE_FRACTION
    out = []
    for q, in_tranche, record in zip(qual, tranche, records, strict=True):
        if q < LOW_QUAL:
            out.append("LowQual")
        elif in_tranche:
            out.append(INDEL_TRANCHE if record.site.is_indel else SNP_TRANCHE)
        else:
            out.append("PASS")
    return out


def _block_lines(
    records: list[Record], samples: BatchSamples, rng: np.random.Generator
) -> tuple[list[bytes], list[Record]]:
    n_alleles = np.array([len(r.alts) + 1 for r in records])
    freqs = np.zeros((len(records), n_alleles.max()))
    for i, record in enumerate(records):
        freqs[i, : n_alleles[i]] = record.freqs
    calls = simulate_block(
        rng, freqs, [r.ploidy_class for r in records], samples.is_male, samples.mean_depth
    )
    keep = calls.ac.sum(1) > 0
    filters = _filters(rng, calls.qual, records)
    columns = sample_columns(calls, n_alleles)
    lines, kept = [], []
    for i in np.flatnonzero(keep).tolist():
        r = records[i]
        ac = calls.ac[i, : len(r.alts)].tolist()
        an = int(calls.an[i])
        info = (
            f"AC={','.join(map(str, ac))};AF={','.join(f'{c / an:.4g}' for c in ac)};AN={an}"
            f";DP={int(calls.dp[i][calls.dp[i] > 0].sum())}"
        )
        prefix = (
            f"{r.chrom}\t{r.pos + 1}\t.\t{r.ref}\t{','.join(r.alts)}\t{calls.qual[i]:.2f}"
            f"\t{filters[i]}\t{info}\t{FORMAT_KEYS}"
        )
        lines.append(prefix.encode() + columns[i] + b"\n")
        kept.append(r)
    return lines, kept


def _truth_rows(records: list[Record], samples: BatchSamples, build: str) -> list[tuple]:
    """One row per ALT, in `truth.COLUMNS` order."""
    rows = []
    for r in records:
        for i, (alt, truth) in enumerate(zip(r.alts, r.site.truth, strict=True)):
            batch = (samples.country, samples.batch_id, build)
            source = (r.chrom, r.pos + 1, r.ref, alt, i + 1, len(r.alts), int(r.left_aligned))
            normalised = (r.site.contig, truth.pos + 1, truth.ref, truth.alt)
            rows.append((*batch, *source, r.strand, *normalised))
    return rows


def write_batch_vcf(
    path: Path,
    catalogue: SiteCatalogue,
    profile: CountryProfile,
    samples: BatchSamples,
    seed: int,
    file_date: str,
    truth: TruthWriter | None = None,
) -> int:
    """Write the bgzipped, tabix-indexed VCF; returns the number of records."""
    contigs = catalogue.reference.contigs
    lengths = [len(c.seq38 if profile.build == "GRCh38" else c.seq37) for c in contigs]
    header = vcf_header(
        [(profile.contig_name(c.name), n) for c, n in zip(contigs, lengths, strict=True)],
        profile.build,
        REFERENCE_URLS[(profile.build, profile.contig_style)],
        file_date,
        samples.sample_ids,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    n_records = 0
    block_index = 0
    block_records = max(8, min(256, BLOCK_GENOTYPES // len(samples.sample_ids)))
    with BgzfWriter(path, level=COMPRESS_LEVEL) as out:
        out.write(header)
        for contig in contigs:
            records = _records(catalogue, profile, contig, seed)
            while block := list(itertools.islice(records, block_records)):
                rng = rng_for(seed, "genotypes", samples.country, samples.batch_id, block_index)
                block_index += 1
                lines, kept = _block_lines(block, samples, rng)
                out.write(b"".join(lines))
                n_records += len(kept)
                if truth is not None:
                    truth.write_rows(_truth_rows(kept, samples, profile.build))
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return n_records
