"""Normalise bi-allelic rows against a build's FASTA, like `bcftools norm -f REF -c x`.

The indel algorithm is bcftools 1.16 `realign()` (vcfnorm.c), line for line: trim the shared
last base while all alleles end alike, padding from the left with up to 100 reference bases
whenever an allele runs empty; then trim shared first bases while every allele keeps at least
one base. That left-aligns indels in repeats and trims MNPs and complex alleles.

REF is checked against the FASTA first; rows that fail are rejected (bcftools `-c x` skips
them). SNVs only need that check, done with one FASTA fetch per window of a chunk and numpy;
the other rows (indels, MNPs) are realigned by a compiled loop (`normalise_kernels`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gdi_pipelines.domain.variants import normalise_kernels as kernels
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines.domain.variants.rows import AlleleRows, RejectReason

ALIGN_WINDOW = kernels.PAD  # bcftools `aln_win`: bases fetched at a time while shifting left
WINDOW_SPAN = 1_000_000  # positions grouped per FASTA fetch
LEFT_MARGIN = 1_000  # bases fetched before a stretch's first row for left-alignment

Fetch = Callable[[int, int], str]


SCREEN_REASONS = {
    kernels.NO_ALT: RejectReason.NO_ALT_ALLELE,
    kernels.SYMBOLIC: RejectReason.SYMBOLIC_ALLELE,
    kernels.SPANNING: RejectReason.SPANNING_DELETION,
    kernels.NON_ACGTN: RejectReason.NON_ACGTN_ALLELE,
    kernels.DUPLICATE: RejectReason.DUPLICATE_ALLELE,
}


@dataclass
class PackedAlleles:
    """REF and ALT of every row as bytes (`normalise_kernels.pack`), upper-cased by `screen`."""

    ref: np.ndarray
    ref_offsets: np.ndarray
    alt: np.ndarray
    alt_offsets: np.ndarray

    @classmethod
    def of(cls, rows: AlleleRows) -> PackedAlleles:
        return cls(*kernels.pack(rows.ref), *kernels.pack(rows.alt))

    def ref_lengths(self) -> np.ndarray:
        return np.diff(self.ref_offsets)

    def alt_lengths(self) -> np.ndarray:
        return np.diff(self.alt_offsets)


def screen_alleles(rows: AlleleRows) -> PackedAlleles:
    """Upper-case the alleles and reject those no normaliser can place on a reference; returns
    the alleles packed, upper-cased."""
    packed = PackedAlleles.of(rows)
    found = np.zeros(len(rows), dtype=np.int8)
    lowered = np.zeros(len(rows), dtype=bool)
    kernels.screen(packed.ref, packed.ref_offsets, packed.alt, packed.alt_offsets, found, lowered)
    for code, reason in SCREEN_REASONS.items():
        rows.reject(found == code, reason)
    changed = np.flatnonzero(lowered)
    if changed.size:
        rows.ref[changed] = kernels.unpack(packed.ref, packed.ref_offsets, changed)
        rows.alt[changed] = kernels.unpack(packed.alt, packed.alt_offsets, changed)
    return packed


def check_reference(
    rows: AlleleRows, reference: ReferenceGenome, packed: PackedAlleles | None = None
) -> None:
    """Reject rows whose contig is missing, whose REF runs off the contig or differs from it."""
    lengths = (
        packed.ref_lengths()
        if packed is not None
        else np.fromiter(map(len, rows.ref), np.int64, len(rows))
    )
    end0 = rows.pos - 1 + lengths
    for contig in {c for c in rows.chrom[rows.good()] if c is not None}:
        on_contig = rows.chrom == contig
        if not reference.has_contig(contig):
            rows.reject(on_contig, RejectReason.CONTIG_NOT_IN_REFERENCE)
            continue
        rows.reject(on_contig & (end0 > reference.length(contig)), RejectReason.OUTSIDE_REFERENCE)
        todo = on_contig & rows.good()
        index = np.flatnonzero(todo)
        matches = alleles_match(reference, contig, rows.pos, rows.ref, index, lengths)
        rows.reject(todo & ~matches, RejectReason.REF_MISMATCH)


def alleles_match(
    reference: ReferenceGenome,
    contig: str,
    pos: np.ndarray,
    alleles: np.ndarray,
    index,
    lengths: np.ndarray | None = None,
) -> np.ndarray:
    """Whether `alleles[i]` is the reference sequence at `pos[i]`, for each i of `index`
    (`lengths`: the alleles' lengths, when known).

    One FASTA fetch per window of positions; single bases compared as byte codes. Rows not in
    `index` come back True.
    """
    matches = np.ones(len(pos), dtype=bool)
    start0 = pos - 1
    if lengths is None:
        lengths = np.fromiter(map(len, alleles), np.int64, len(alleles))
    bins = start0 // WINDOW_SPAN
    index = np.asarray(index, dtype=np.int64)
    for window in np.unique(bins[index]):
        rows = index[bins[index] == window]
        first, last = int(start0[rows].min()), int((start0[rows] + lengths[rows]).max())
        codes = reference.fetch_codes(contig, first, last)
        if len(codes) == 0:  # the whole window lies past the contig's end
            matches[rows] = False
            continue
        single = rows[lengths[rows] == 1]
        if len(single):
            vcf = np.frombuffer("".join(alleles[single]).encode("ascii"), dtype=np.uint8)
            offset = start0[single] - first
            inside = offset < len(codes)
            matches[single] = inside & (codes[np.minimum(offset, len(codes) - 1)] == vcf)
        text = codes.tobytes().decode("ascii")
        for i in rows[lengths[rows] != 1]:
            begin = start0[i] - first
            matches[i] = text[begin : begin + lengths[i]] == alleles[i]
    return matches


def realign_pair(fetch: Fetch, pos0: int, ref: str, alt: str) -> tuple[int, str, str]:
    """bcftools `realign()` for one REF/ALT pair; `fetch(start0, end0)` reads the reference."""
    while ref[-1] == alt[-1]:
        if pos0 == 0 and min(len(ref), len(alt)) <= 1:
            break
        ref, alt = ref[:-1], alt[:-1]
        if not ref or not alt:
            pad_length = min(ALIGN_WINDOW, pos0)
            pad = fetch(pos0 - pad_length, pos0)
            ref, alt = pad + ref, pad + alt
            pos0 -= pad_length
    trim = 0
    keep = min(len(ref), len(alt)) - 1  # every allele keeps at least one base
    while trim < keep and ref[trim] == alt[trim]:
        trim += 1
    return pos0 + trim, ref[trim:], alt[trim:]


def left_align(
    rows: AlleleRows, reference: ReferenceGenome, packed: PackedAlleles | None = None
) -> int:
    """Realign every good non-SNV row in place; returns how many rows changed.

    `realign` runs compiled over one reference window per contig and stretch of WINDOW_SPAN
    positions, reaching LEFT_MARGIN bases before the stretch; a row that shifts further left,
    or whose REF is not the reference's, is realigned by `realign_pair`."""
    if packed is None:
        packed = PackedAlleles.of(rows)
    ref_lengths, alt_lengths = packed.ref_lengths(), packed.alt_lengths()
    todo = np.flatnonzero(rows.good() & ((ref_lengths != 1) | (alt_lengths != 1)))
    if todo.size == 0:
        return 0
    pos0 = rows.pos - 1
    contigs = rows.chrom[todo]
    stretches = pos0[todo] // WINDOW_SPAN
    changed = 0
    for contig in sorted(set(contigs.tolist())):
        on_contig = todo[contigs == contig]
        for stretch in np.unique(stretches[contigs == contig]):
            group = on_contig[pos0[on_contig] // WINDOW_SPAN == stretch]
            first = max(int(pos0[group].min()) - LEFT_MARGIN, 0)
            bases = reference.fetch(contig, first, int((pos0 + ref_lengths)[group].max()))
            changed += _realign_group(rows, reference, packed, group, pos0, first, bases)
    return changed


def _realign_group(rows, reference, packed: PackedAlleles, group, pos0, first: int, bases: str):
    """Realign rows `group` over `bases`, the reference from 0-based `first` on; returns how
    many rows changed."""
    codes = np.frombuffer(bases.encode("ascii"), dtype=np.uint8)
    out = np.zeros((len(group), 6), dtype=np.int64)
    kernels.realign(
        codes,
        first,
        group,
        pos0,
        packed.ref,
        packed.ref_offsets,
        packed.alt,
        packed.alt_offsets,
        out,
    )
    moved = np.flatnonzero(out[:, 0] == kernels.MOVED)
    alts = kernels.unpack(packed.alt, packed.alt_offsets, group[moved])
    for n, alt in zip(moved.tolist(), alts, strict=True):
        _, p, length, k, s, e = out[n].tolist()
        i = group[n]
        begin = p - first
        rows.pos[i], rows.ref[i] = p + 1, bases[begin : begin + length]
        rows.alt[i] = bases[begin : begin + k] + alt[s:e]
    changed = len(moved)
    for i in group[out[:, 0] >= kernels.OUTSIDE_WINDOW].tolist():
        changed += _realign_one(rows, reference, i)
    return changed


def _realign_one(rows: AlleleRows, reference: ReferenceGenome, i: int) -> int:
    contig, pos, ref, alt = rows.chrom[i], int(rows.pos[i]), rows.ref[i], rows.alt[i]

    def fetch(start0: int, end0: int) -> str:
        return reference.fetch(contig, start0, end0)

    pos0, new_ref, new_alt = realign_pair(fetch, pos - 1, ref, alt)
    if pos0 + 1 == pos and new_ref == ref and new_alt == alt:
        return 0
    rows.pos[i], rows.ref[i], rows.alt[i] = pos0 + 1, new_ref, new_alt
    return 1


def normalise_rows(rows: AlleleRows, reference: ReferenceGenome) -> int:
    """Screen, REF-check and left-align; returns the number of realigned rows."""
    packed = screen_alleles(rows)
    check_reference(rows, reference, packed)
    return left_align(rows, reference, packed)
