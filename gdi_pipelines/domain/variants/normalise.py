"""Normalise bi-allelic rows against a build's FASTA, like `bcftools norm -f REF -c x`.

The indel algorithm is bcftools 1.16 `realign()` (vcfnorm.c), line for line: trim the shared
last base while all alleles end alike, padding from the left with up to 100 reference bases
whenever an allele runs empty; then trim shared first bases while every allele keeps at least
one base. That left-aligns indels in repeats and trims MNPs and complex alleles.

REF is checked against the FASTA first; rows that fail are rejected (bcftools `-c x` skips
them). SNVs only need that check, done with one FASTA fetch per window of a chunk and numpy;
only the other rows (indels, MNPs) go through the per-row Python loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines.domain.variants.rows import AlleleRows, RejectReason

ALIGN_WINDOW = 100  # bcftools `aln_win`: bases fetched at a time while shifting left
WINDOW_SPAN = 1_000_000  # positions grouped per FASTA fetch in the REF check
_ACGTN = re.compile(r"^[ACGTN]+$")

Fetch = Callable[[int, int], str]


def screen_alleles(rows: AlleleRows) -> None:
    """Upper-case the alleles and reject those no normaliser can place on a reference."""
    rows.ref[:] = [r.upper() for r in rows.ref]
    rows.alt[:] = [a.upper() for a in rows.alt]
    alt_first = np.array([a[:1] for a in rows.alt], dtype=object)
    rows.reject(np.isin(alt_first, ["", "."]), RejectReason.NO_ALT_ALLELE)
    symbolic = [a[:1] == "<" or "[" in a or "]" in a for a in rows.alt]
    rows.reject(np.array(symbolic, dtype=bool), RejectReason.SYMBOLIC_ALLELE)
    rows.reject(alt_first == "*", RejectReason.SPANNING_DELETION)
    plain = [bool(_ACGTN.match(r + a)) for r, a in zip(rows.ref, rows.alt, strict=True)]
    rows.reject(~np.array(plain, dtype=bool), RejectReason.NON_ACGTN_ALLELE)
    rows.reject(rows.ref == rows.alt, RejectReason.DUPLICATE_ALLELE)


def check_reference(rows: AlleleRows, reference: ReferenceGenome) -> None:
    """Reject rows whose contig is missing, whose REF runs off the contig or differs from it."""
    for contig in {c for c in rows.chrom[rows.good()] if c is not None}:
        on_contig = rows.chrom == contig
        if not reference.has_contig(contig):
            rows.reject(on_contig, RejectReason.CONTIG_NOT_IN_REFERENCE)
            continue
        end0 = rows.pos - 1 + np.fromiter((len(r) for r in rows.ref), np.int64, len(rows))
        rows.reject(on_contig & (end0 > reference.length(contig)), RejectReason.OUTSIDE_REFERENCE)
        todo = on_contig & rows.good()
        matches = alleles_match(reference, contig, rows.pos, rows.ref, np.flatnonzero(todo))
        rows.reject(todo & ~matches, RejectReason.REF_MISMATCH)


def alleles_match(
    reference: ReferenceGenome, contig: str, pos: np.ndarray, alleles: np.ndarray, index
) -> np.ndarray:
    """Whether `alleles[i]` is the reference sequence at `pos[i]`, for each i of `index`.

    One FASTA fetch per window of positions; single bases compared as byte codes. Rows not in
    `index` come back True.
    """
    matches = np.ones(len(pos), dtype=bool)
    start0 = pos - 1
    lengths = np.fromiter((len(a) for a in alleles), np.int64, len(alleles))
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


def left_align(rows: AlleleRows, reference: ReferenceGenome) -> int:
    """Realign every good non-SNV row in place; returns how many rows changed."""
    lengths_ref = np.fromiter((len(r) for r in rows.ref), np.int64, len(rows))
    lengths_alt = np.fromiter((len(a) for a in rows.alt), np.int64, len(rows))
    todo = np.flatnonzero(rows.good() & ((lengths_ref != 1) | (lengths_alt != 1)))
    changed = 0
    positions = rows.pos[todo].tolist()
    for i, pos in zip(todo.tolist(), positions, strict=True):
        contig, ref, alt = rows.chrom[i], rows.ref[i], rows.alt[i]

        def fetch(start0: int, end0: int, contig: str = contig) -> str:
            return reference.fetch(contig, start0, end0)

        pos0, new_ref, new_alt = realign_pair(fetch, pos - 1, ref, alt)
        if pos0 + 1 != pos or new_ref != ref or new_alt != alt:
            rows.pos[i], rows.ref[i], rows.alt[i] = pos0 + 1, new_ref, new_alt
            changed += 1
    return changed


def normalise_rows(rows: AlleleRows, reference: ReferenceGenome) -> int:
    """Screen, REF-check and left-align; returns the number of realigned rows."""
    screen_alleles(rows)
    check_reference(rows, reference)
    return left_align(rows, reference)
