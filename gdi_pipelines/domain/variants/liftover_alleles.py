"""Lift normalised bi-allelic rows to the target build and make them valid there.

- Both the first and the last REF base must map, each to exactly one chain block, onto the
  source's own chromosome, and stay contiguous (same chain, REF length kept); otherwise the row
  is rejected (`unmapped`, `ambiguous_mapping`, `mapped_to_other_contig`, `split_by_liftover`).
- '+' strand: POS becomes the target position of the first REF base, alleles unchanged.
- '-' strand: alleles are reverse-complemented and POS is the target position of the last REF
  base. An anchored indel (shared first base) would end up anchored on its right, so it is first
  shifted to its rightmost equivalent position in the source and re-anchored on the base after
  it (read from the source FASTA); reverse-complemented, that is a left-anchored, left-aligned
  indel in the target, valid without any GRCh38 FASTA.
- With a target FASTA: REF must match it; when the target's sequence is the ALT instead (the
  reference allele changed between builds) REF and ALT are swapped and the row is flagged so the
  genotypes get recoded; anything else is `target_ref_mismatch`. Indels are then re-normalised
  against the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdi_pipelines.domain.variants.liftover import AMBIGUOUS, NO_HIT, ChainIndex
from gdi_pipelines.domain.variants.normalise import alleles_match, left_align
from gdi_pipelines.domain.variants.reference import ReferenceGenome, reverse_complement
from gdi_pipelines.domain.variants.rows import AlleleRows, RejectReason

_SHIFT_WINDOW = 200


@dataclass
class LiftOutcome:
    reversed: np.ndarray  # bool per row: mapped through a '-' strand chain
    swapped: np.ndarray  # bool per row: REF/ALT swapped to match the target FASTA
    realigned: int  # rows moved by re-normalisation against the target FASTA


def lift_rows(
    rows: AlleleRows,
    chains: ChainIndex,
    source: ReferenceGenome,
    target: ReferenceGenome | None = None,
) -> LiftOutcome:
    """Lift the good rows in place (POS, REF, ALT); rows that cannot be lifted get a reason."""
    reversed_ = np.zeros(len(rows), dtype=bool)
    for contig in set(rows.chrom[rows.good()]):
        index = np.flatnonzero(rows.good() & (rows.chrom == contig))
        _lift_contig(rows, chains, source, contig, index, reversed_)
    swapped = np.zeros(len(rows), dtype=bool)
    realigned = 0
    if target is not None:
        swapped = _match_target(rows, target)
        realigned = left_align(rows, target)
    return LiftOutcome(reversed_ & rows.good(), swapped & rows.good(), realigned)


def _lift_contig(rows, chains, source, contig, index, reversed_) -> None:
    ok, first0, last0, reverse = _lift_span(rows, chains, contig, index)
    anchored = []
    for k in np.flatnonzero(ok & reverse):  # re-anchor on the right, in the source, then flip
        i = index[k]
        if not _is_anchored_indel(rows.ref[i], rows.alt[i]):
            continue
        moved = right_anchor(source, contig, int(rows.pos[i]) - 1, rows.ref[i], rows.alt[i])
        if moved is None:
            ok[k] = False
            rows.reason[i] = RejectReason.OUTSIDE_REFERENCE.value
            continue
        rows.pos[i], rows.ref[i], rows.alt[i] = moved[0] + 1, moved[1], moved[2]
        anchored.append(k)
    if anchored:
        k = np.array(anchored, dtype=np.int64)
        ok[k], first0[k], last0[k], reverse[k] = _lift_span(rows, chains, contig, index[k])
    good, flipped = index[ok], reverse[ok]
    rows.pos[good] = np.where(flipped, last0[ok], first0[ok]) + 1
    for i in good[flipped]:
        rows.ref[i], rows.alt[i] = reverse_complement(rows.ref[i]), reverse_complement(rows.alt[i])
    reversed_[good[flipped]] = True


def _lift_span(rows, chains, contig, index):
    """Target positions of the first and last REF base; rejects rows that do not map cleanly.

    Returns (ok, first0, last0, reverse) aligned with `index`.
    """
    start0 = rows.pos[index] - 1
    span = np.fromiter((len(rows.ref[i]) - 1 for i in index), np.int64, len(index))
    first, last = chains.lift(contig, start0), chains.lift(contig, start0 + span)
    unmapped = (first.hits == NO_HIT) | (last.hits == NO_HIT)
    ambiguous = ~unmapped & ((first.hits == AMBIGUOUS) | (last.hits == AMBIGUOUS))
    other = ~unmapped & ~ambiguous & (first.contig != contig)
    step = np.where(first.reverse, -1, 1)
    split = ~unmapped & ~ambiguous & ~other
    split &= (first.chain != last.chain) | (last.pos0 - first.pos0 != step * span)
    for mask, reason in (
        (unmapped, RejectReason.UNMAPPED),
        (ambiguous, RejectReason.AMBIGUOUS_MAPPING),
        (other, RejectReason.MAPPED_TO_OTHER_CONTIG),
        (split, RejectReason.SPLIT_BY_LIFTOVER),
    ):
        full = np.zeros(len(rows), dtype=bool)
        full[index[mask]] = True
        rows.reject(full, reason)
    ok = ~(unmapped | ambiguous | other | split)
    return ok, first.pos0, last.pos0, first.reverse


def _is_anchored_indel(ref: str, alt: str) -> bool:
    """A pure insertion or deletion written with its left anchor base (normalised form)."""
    return len(ref) != len(alt) and min(len(ref), len(alt)) == 1 and ref[0] == alt[0]


def right_anchor(
    source: ReferenceGenome, contig: str, pos0: int, ref: str, alt: str
) -> tuple[int, str, str] | None:
    """A left-anchored indel shifted to its rightmost position and anchored on the next base.

    `pos0` is the 0-based anchor; returns (pos0, ref, alt) of the right-anchored form.
    """
    inserted = len(alt) > len(ref)
    motif = (alt if inserted else ref)[1:]
    length = len(motif)
    window_start, window = pos0 + 1, ""

    def base(at: int) -> str:
        nonlocal window_start, window
        if not window_start <= at < window_start + len(window):
            window_start, window = at, source.fetch(contig, at, at + _SHIFT_WINDOW)
        return window[at - window_start] if at - window_start < len(window) else ""

    # next reference base after the event: after the deleted bases, or right after the anchor
    def following(anchor: int) -> str:
        return base(anchor + 1 if inserted else anchor + 1 + length)

    while following(pos0) == motif[0]:
        motif = motif[1:] + motif[0]
        pos0 += 1
    after = following(pos0)
    if not after:  # the repeat runs to the contig's end
        return None
    if inserted:
        return pos0 + 1, after, motif + after
    return pos0 + 1, motif + after, after


def _match_target(rows: AlleleRows, target: ReferenceGenome) -> np.ndarray:
    swapped = np.zeros(len(rows), dtype=bool)
    for contig in set(rows.chrom[rows.good()]):
        on_contig = rows.good() & (rows.chrom == contig)
        if not target.has_contig(contig):
            rows.reject(on_contig, RejectReason.CONTIG_NOT_IN_REFERENCE)
            continue
        index = np.flatnonzero(on_contig)
        ref_ok = alleles_match(target, contig, rows.pos, rows.ref, index)
        wrong = index[~ref_ok[index]]
        alt_ok = alleles_match(target, contig, rows.pos, rows.alt, wrong)
        swap = wrong[alt_ok[wrong]]
        rows.ref[swap], rows.alt[swap] = rows.alt[swap], rows.ref[swap]
        swapped[swap] = True
        mismatch = np.zeros(len(rows), dtype=bool)
        mismatch[wrong[~alt_ok[wrong]]] = True
        rows.reject(mismatch, RejectReason.TARGET_REF_MISMATCH)
    return swapped
