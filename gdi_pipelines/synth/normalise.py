"""Variant representation in a reference sequence: left-alignment, right-shifting, merging.

`seq` is the upper-case contig as bytes; positions are 0-based (VCF POS - 1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Allele:
    """One bi-allelic variant: REF seq[pos:pos+len(ref)] replaced by ALT."""

    pos: int
    ref: str
    alt: str

    @property
    def end(self) -> int:
        return self.pos + len(self.ref)

    @property
    def is_indel(self) -> bool:
        return len(self.ref) != len(self.alt)


def left_align(seq: bytes, allele: Allele) -> Allele:
    """Left-aligned, parsimonious form (Tan et al. 2015), as `bcftools norm` makes it."""
    pos, ref, alt = allele.pos, allele.ref, allele.alt
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            ref, alt, changed = ref[:-1], alt[:-1], True
        if (not ref or not alt) and pos > 0:
            pos -= 1
            base = chr(seq[pos])
            ref, alt, changed = base + ref, base + alt, True
        if not changed:
            break
    while len(ref) >= 2 and len(alt) >= 2 and ref[0] == alt[0]:
        pos, ref, alt = pos + 1, ref[1:], alt[1:]
    return Allele(pos, ref, alt)


def _shift_once(seq: bytes, allele: Allele) -> Allele | None:
    """The same indel moved one base right, if the sequence allows it."""
    pos, ref, alt = allele.pos, allele.ref, allele.alt
    if len(ref) > len(alt):  # deletion of ref[1:]
        deleted_end = pos + len(ref)
        if deleted_end >= len(seq) or seq[pos + 1] != seq[deleted_end]:
            return None
        return Allele(pos + 1, seq[pos + 1 : deleted_end + 1].decode(), chr(seq[pos + 1]))
    inserted = alt[1:]  # insertion after the anchor
    if pos + 1 >= len(seq) or chr(seq[pos + 1]) != inserted[0]:
        return None
    anchor = chr(seq[pos + 1])
    return Allele(pos + 1, anchor, anchor + inserted[1:] + inserted[0])


def right_shift(seq: bytes, allele: Allele, steps: int | None = None) -> Allele:
    """Move a left-aligned simple indel right by `steps` (default: as far as possible)."""
    current = allele
    done = 0
    while steps is None or done < steps:
        moved = _shift_once(seq, current)
        if moved is None:
            break
        current, done = moved, done + 1
    return current


def max_right_shift(seq: bytes, allele: Allele) -> int:
    """How many bases a left-aligned simple indel can move right; 0 for SNVs."""
    if not allele.is_indel or min(len(allele.ref), len(allele.alt)) != 1:
        return 0
    return right_shift(seq, allele).pos - allele.pos


def merge_alleles(alleles: list[Allele]) -> tuple[int, str, tuple[str, ...]]:
    """One multi-allelic record (pos, REF, ALTs) from alleles sharing their first base."""
    pos = alleles[0].pos
    if any(a.pos != pos for a in alleles):
        raise ValueError("alleles to merge must start at the same position")
    ref = max((a.ref for a in alleles), key=len)
    alts = tuple(a.alt + ref[len(a.ref) :] for a in alleles)
    return pos, ref, alts


def split_record(pos: int, ref: str, alts: tuple[str, ...]) -> list[Allele]:
    """Bi-allelic pieces of a record, each trimmed of the shared suffix (not yet left-aligned)."""
    pieces = []
    for alt in alts:
        r, a = ref, alt
        while len(r) > 1 and len(a) > 1 and r[-1] == a[-1]:
            r, a = r[:-1], a[:-1]
        pieces.append(Allele(pos, r, a))
    return pieces
