"""The global site catalogue, generated on GRCh38 window by window (deterministic, streaming).

Every country draws its records from the same catalogue; a window's sites depend only on the
seed, the reference and the density, never on which country or batch asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdi_pipelines.synth.normalise import Allele, left_align, max_right_shift, merge_alleles
from gdi_pipelines.synth.reference import Contig, Reference, Repeat
from gdi_pipelines.synth.seeding import rng_for

WINDOW = 50_000
KIND_PROBS = {"snv": 0.86, "indel": 0.03, "repeat_indel": 0.07, "multi": 0.04}
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}


@dataclass(frozen=True)
class Site:
    """A catalogue record in GRCh38, left-aligned; `truth` is its normalised form per ALT."""

    contig: str
    pos: int  # 0-based position of REF
    ref: str
    alts: tuple[str, ...]
    truth: tuple[Allele, ...]
    global_af: tuple[float, ...]
    max_shift: int  # how far right a bi-allelic indel can be written; 0 if not
    footprint: tuple[int, int]  # 38 bases touched by any representation, with 1 base margin

    @property
    def is_indel(self) -> bool:
        return any(len(a) != len(self.ref) for a in self.alts)


class SiteCatalogue:
    def __init__(self, reference: Reference, seed: int, records_per_batch: int) -> None:
        self.reference = reference
        self.seed = seed
        callable_bp = sum(c.site_region[1] - c.site_region[0] for c in reference.contigs)
        self.rate = records_per_batch / callable_bp
        self._upper: dict[str, bytes] = {}

    def upper_seq(self, contig: Contig) -> bytes:
        if contig.name not in self._upper:
            self._upper = {contig.name: contig.seq38.tobytes().upper()}  # keep one contig
        return self._upper[contig.name]

    def window_count(self, contig: Contig) -> int:
        return -(-len(contig.seq38) // WINDOW)

    def sites(self, contig: Contig, window: int) -> list[Site]:
        """The sorted, non-overlapping sites of one window."""
        lo = max(window * WINDOW, contig.site_region[0])
        hi = min((window + 1) * WINDOW, contig.site_region[1])
        if hi - lo < 10:
            return []
        rng = rng_for(self.seed, "sites", contig.name, window)
        seq = self.upper_seq(contig)
        n = int(rng.poisson(self.rate * (hi - lo)))
        kinds = rng.choice(list(KIND_PROBS), size=n, p=list(KIND_PROBS.values()))
        positions = rng.integers(lo, hi, size=n)
        repeats = [r for r in contig.repeats if lo < r.start - 1 and r.end < hi]
        candidates = []
        for kind, pos in zip(kinds, positions, strict=True):
            alleles = self._alleles(rng, seq, kind, int(pos), repeats)
            site = self._site(rng, seq, contig.name, alleles) if alleles else None
            if site and b"N" not in seq[site.footprint[0] : site.footprint[1] + 1]:
                candidates.append(site)
        candidates.sort(key=lambda s: s.footprint)
        kept: list[Site] = []
        for site in candidates:
            inside = lo <= site.footprint[0] and site.footprint[1] < hi
            if inside and (not kept or site.footprint[0] > kept[-1].footprint[1]):
                kept.append(site)
        return kept

    def _alleles(
        self, rng: np.random.Generator, seq: bytes, kind: str, pos: int, repeats: list[Repeat]
    ) -> list[Allele]:
        if kind in ("repeat_indel", "multi") and repeats and rng.random() < 0.8:
            repeat = repeats[int(rng.integers(len(repeats)))]
            anchor = repeat.start - 1
            unit = seq[repeat.start : repeat.start + repeat.unit_len].decode()
            base = chr(seq[anchor])
            contraction = Allele(
                anchor, seq[anchor : repeat.start + repeat.unit_len].decode(), base
            )
            expansion = Allele(anchor, base, base + unit)
            if kind == "repeat_indel":
                return [contraction if rng.random() < 0.6 else expansion]
            options = [contraction, expansion]
            if repeat.copies >= 4:
                two = seq[anchor : repeat.start + 2 * repeat.unit_len].decode()
                options.append(Allele(anchor, two, base))
            return options[: int(rng.integers(2, len(options) + 1))]
        if b"N" in seq[pos - 1 : pos + 6]:
            return []
        base = chr(seq[pos])
        if kind == "multi":
            others = [b for b in "ACGT" if b != base]
            chosen = rng.permutation(others)[: int(rng.integers(2, 4))]
            snvs = [Allele(pos, base, str(b)) for b in chosen]
            if rng.random() < 0.3:  # an SNV and a deletion sharing the base
                return [snvs[0], Allele(pos, seq[pos : pos + 2].decode(), base)]
            return snvs
        if kind == "snv":
            transition = rng.random() < 2 / 3
            alt = (
                TRANSITION[base]
                if transition
                else str(rng.choice([b for b in "ACGT" if b not in (base, TRANSITION[base])]))
            )
            return [Allele(pos, base, alt)]
        size = int(rng.integers(1, 5))
        if rng.random() < 0.5:
            return [Allele(pos, seq[pos : pos + 1 + size].decode(), base)]
        inserted = "".join(rng.choice(list("ACGT"), size=size))
        return [Allele(pos, base, base + inserted)]

    def _site(
        self, rng: np.random.Generator, seq: bytes, contig: str, alleles: list[Allele]
    ) -> Site:
        pos, ref, alts = merge_alleles(alleles)
        truth = tuple(left_align(seq, a) for a in alleles)
        if len(alts) == 1:
            afs = (float(np.clip(rng.beta(0.5, 2.0), 0.005, 0.95)),)
            left = truth[0]
            shift = max_right_shift(seq, left)
            pos, ref, alts = left.pos, left.ref, (left.alt,)
        else:
            draws = np.clip(rng.beta(2.0, 6.0, size=len(alts)), 0.01, None)
            afs = tuple(float(x) for x in draws * min(1.0, 0.9 / draws.sum()))
            shift = 0
        start = min(pos, *(t.pos for t in truth)) - 1
        end = max(pos + len(ref), *(t.end for t in truth)) + shift
        return Site(contig, pos, ref, alts, truth, afs, shift, (start, end))
