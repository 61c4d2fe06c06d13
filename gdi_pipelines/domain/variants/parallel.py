"""Harmonise an indexed VCF/BCF in region shards on a `spawn` process pool.

Shards are position ranges of each contig in the file's index; a record belongs to the shard
holding its POS (region queries also return records that merely overlap, so each shard filters
on POS). The union of the shards' output (calls, sites, samples) equals one process's output;
rejects differ only in their locator (`region`, `record_index` counted within the shard, and
`line`, unknown in a shard).

`spawn` rather than `fork`: htslib/pysam handles and thread pools do not survive a fork. The
`pseudonymise` callable must therefore pickle: a module-level function or a
`functools.partial` of one (e.g. of `gdi_pipelines.domain.pseudonym.pseudonymise`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pysam

from gdi_pipelines.domain.variants.contigs import canonical_contig
from gdi_pipelines.domain.variants.harmonise import (
    CALL_SCHEMA,
    REJECT_SCHEMA,
    SAMPLE_SCHEMA,
    SITE_SCHEMA,
    HarmoniseConfig,
    HarmonisedChunk,
    combine_samples,
    harmonise_vcf,
)
from gdi_pipelines.domain.variants.reference import ReferenceGenome

DEFAULT_SHARD_LENGTH = 10_000_000


@dataclass(frozen=True)
class RegionShard:
    contig: str  # as spelled in the VCF
    start: int  # 1-based, inclusive
    end: int | None  # inclusive; None = to the contig's end

    @property
    def region(self) -> str:
        return f"{self.contig}:{self.start}-" + ("" if self.end is None else str(self.end))


def plan_region_shards(
    path: str | Path,
    shard_length: int = DEFAULT_SHARD_LENGTH,
    reference: str | Path | None = None,
    build: str | None = None,
) -> list[RegionShard]:
    """Shards over the contigs present in the index, from each contig's first record; contig
    lengths from the VCF header, else from the reference FASTA; a contig of unknown length is
    one shard. The last shard of a contig is open-ended so no record past the stated length is
    lost."""
    with pysam.VariantFile(str(path)) as vcf:
        if vcf.index is None:
            raise ValueError(f"{path}: region shards need a tabix/CSI index")
        contigs = list(vcf.index.keys())
        lengths = {c: vcf.header.contigs[c].length for c in contigs if c in vcf.header.contigs}
        first = {c: next(iter(vcf.fetch(c)), None) for c in contigs}
        first_pos = {c: record.pos for c, record in first.items() if record is not None}
    fasta_lengths: dict[str, int] = {}
    if reference is not None:
        genome = ReferenceGenome(reference, build)
        for contig in contigs:
            canonical = canonical_contig(contig, build)
            if canonical and genome.has_contig(canonical):
                fasta_lengths[contig] = genome.length(canonical)
        genome.close()
    shards = []
    for contig in (c for c in contigs if c in first_pos):
        length = lengths.get(contig) or fasta_lengths.get(contig)
        begin = first_pos[contig]
        starts = range(begin, max(length or 0, begin) + 1, shard_length) if length else [begin]
        for i, start in enumerate(starts):
            last = i == len(starts) - 1
            shards.append(RegionShard(contig, start, None if last else start + shard_length - 1))
    return shards


def harmonise_by_region(
    path: str | Path,
    config: HarmoniseConfig,
    pseudonymise: Callable[[str], str],
    sample_sex: Mapping[str, str] | None = None,
    processes: int | None = None,
    shard_length: int = DEFAULT_SHARD_LENGTH,
) -> Iterator[HarmonisedChunk]:
    """One `HarmonisedChunk` per shard (shard order), computed in `processes` spawned workers."""
    shards = plan_region_shards(path, shard_length, config.source_fasta, config.source_build)
    jobs = [(str(path), shard, config, pseudonymise, sample_sex) for shard in shards]
    workers = max(1, min(processes or os.cpu_count() or 1, len(jobs)))
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        yield from pool.imap(_harmonise_shard, jobs)


def _harmonise_shard(job: tuple) -> HarmonisedChunk:
    path, shard, config, pseudonymise, sample_sex = job
    pos_range = (shard.start, shard.end if shard.end is not None else 2**62)
    chunks = list(harmonise_vcf(path, config, pseudonymise, sample_sex, shard.region, pos_range))
    if not chunks:
        return HarmonisedChunk(
            calls=pl.DataFrame(schema=CALL_SCHEMA),
            rejects=pl.DataFrame(schema=REJECT_SCHEMA),
            samples=pl.DataFrame(schema=SAMPLE_SCHEMA),
            stats={},
            sites=pl.DataFrame(schema=SITE_SCHEMA),
        )
    stats: dict[str, int] = {}
    for chunk in chunks:
        for key, value in chunk.stats.items():
            stats[key] = stats.get(key, 0) + value
    return HarmonisedChunk(
        calls=pl.concat([c.calls for c in chunks]),
        rejects=pl.concat([c.rejects for c in chunks]),
        samples=combine_samples(c.samples for c in chunks),
        stats=stats,
        sites=pl.concat([c.sites for c in chunks]),
    )
