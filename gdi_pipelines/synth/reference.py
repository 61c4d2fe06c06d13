"""The synthetic genome: a GRCh38-like truth build and a GRCh37-like build derived from it.

Sequences are numpy uint8 ASCII arrays. Planted tandem repeats are soft-masked (lower case),
telomeres and one gap per chromosome are N, like the real assemblies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdi_pipelines.synth.chain import AlignedBlock, ContigAlignment
from gdi_pipelines.synth.seeding import rng_for

MITO_LENGTH = 16_569
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
GC_PROBS = (0.295, 0.205, 0.205, 0.295)  # ~41% GC
PAR1_FRACTION, PAR2_FRACTION = 0.05, 0.02  # of chrX; enlarged from the real 1.8% / 0.2%


@dataclass(frozen=True)
class Repeat:
    """A planted tandem repeat in GRCh38: `copies` copies of a `unit_len`-base unit."""

    start: int
    unit_len: int
    copies: int

    @property
    def end(self) -> int:
        return self.start + self.unit_len * self.copies


@dataclass(frozen=True)
class Contig:
    name: str  # chr style: chr1, chrX, chrY, chrM
    kind: str  # autosome, X, Y, M
    seq38: np.ndarray
    seq37: np.ndarray
    alignment: ContigAlignment
    repeats: tuple[Repeat, ...]
    pars38: tuple[tuple[int, int], ...]  # 0-based half-open
    site_region: tuple[int, int]  # 38 interval where variant sites may fall

    def pars37(self) -> tuple[tuple[int, int], ...]:
        projected = (self.alignment.project_38_to_37(a, b) for a, b in self.pars38)
        return tuple(
            (s, s + (b - a)) for (a, b), (s, _) in zip(self.pars38, projected, strict=True)
        )


@dataclass(frozen=True)
class Reference:
    contigs: tuple[Contig, ...]

    def contig(self, name: str) -> Contig:
        return next(c for c in self.contigs if c.name == name)


def random_bases(rng: np.random.Generator, n: int) -> np.ndarray:
    return BASES[rng.choice(4, size=n, p=GC_PROBS)]


def reverse_complement(seq: np.ndarray) -> np.ndarray:
    table = np.arange(256, dtype=np.uint8)
    for a, b in (b"AT", b"TA", b"CG", b"GC", b"at", b"ta", b"cg", b"gc"):
        table[a] = b
    return table[seq[::-1]]


def _place_intervals(
    rng: np.random.Generator,
    region: tuple[int, int],
    sizes: list[int],
    taken: list[tuple[int, int]],
) -> list[tuple[int, int]]:
    """Non-overlapping intervals of the given sizes inside region, 200 bp from anything taken."""
    placed: list[tuple[int, int]] = []
    for size in sizes:
        for _ in range(1000):
            start = int(rng.integers(region[0], max(region[0] + 1, region[1] - size)))
            end = start + size
            if end <= region[1] and all(end + 200 <= a or start >= b + 200 for a, b in taken):
                placed.append((start, end))
                taken.append((start, end))
                break
    return placed


def _plant_repeats(
    rng: np.random.Generator, seq: np.ndarray, region: tuple[int, int]
) -> list[Repeat]:
    repeats: list[Repeat] = []
    next_free = region[0]
    for start in np.sort(rng.integers(region[0], region[1], size=(region[1] - region[0]) // 300)):
        unit_len = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))
        copies = int(rng.integers(*{1: (7, 15), 2: (5, 12), 3: (4, 8)}[unit_len]))
        start = int(start)
        end = start + unit_len * copies
        if (
            start < next_free + 20
            or end >= region[1]
            or (seq[start - 1 : end + 1] == ord("N")).any()
        ):
            continue
        unit = BASES[rng.permutation(4)[:unit_len]]  # distinct bases: not a shorter repeat
        seq[start:end] = np.tile(unit, copies) | 0x20  # soft-masked
        repeats.append(Repeat(start, unit_len, copies))
        next_free = end
    return repeats


def _derive_grch37(
    rng: np.random.Generator,
    name: str,
    seq38: np.ndarray,
    body: tuple[int, int],
    gaps: list[tuple[int, int]],
) -> tuple[np.ndarray, ContigAlignment]:
    """Apply 37-only insertions, 38-only deletions and inversions to the 38 sequence."""
    span = body[1] - body[0]
    taken = list(gaps)

    def sizes(n: int, low: float, high: float, minimum: int) -> list[int]:
        return [max(minimum, int(span * rng.uniform(low, high))) for _ in range(n)]

    inversions = _place_intervals(rng, body, sizes(1, 0.01, 0.03, 200), taken)
    deletions = _place_intervals(rng, body, sizes(2, 0.002, 0.006, 50), taken)
    insertions = [(a, a) for a, _ in _place_intervals(rng, body, [1, 1], taken)]
    events = sorted(
        [(a, b, "inv") for a, b in inversions]
        + [(a, b, "del") for a, b in deletions]
        + [(a, b, "ins") for a, b in insertions]
    )
    pieces: list[np.ndarray] = []
    blocks: list[AlignedBlock] = []
    pos38 = pos37 = 0

    def keep(a: int, b: int, inverted: bool) -> None:
        nonlocal pos37
        if b > a:
            pieces.append(reverse_complement(seq38[a:b]) if inverted else seq38[a:b])
            blocks.append(AlignedBlock(pos37, a, b - a, inverted))
            pos37 += b - a

    for a, b, kind in events:
        keep(pos38, a, False)
        if kind == "inv":
            keep(a, b, True)
        elif kind == "ins":
            novel = random_bases(rng, max(50, int(span * rng.uniform(0.002, 0.006))))
            pieces.append(novel)
            pos37 += len(novel)
        pos38 = b
    keep(pos38, len(seq38), False)
    seq37 = np.concatenate(pieces)
    return seq37, ContigAlignment(name, len(seq37), len(seq38), tuple(blocks))


def _contig_plan(n_autosomes: int, length: int) -> list[tuple[str, str, int]]:
    plan = [(f"chr{i}", "autosome", length) for i in range(1, n_autosomes + 1)]
    return [*plan, ("chrX", "X", round(length * 0.63)), ("chrY", "Y", round(length * 0.23))]


def synthesize_reference(seed: int, contig_length: int, n_autosomes: int) -> Reference:
    """The GRCh38-like truth (autosomes, chrX/chrY with shared PARs, chrM) and its GRCh37."""
    if contig_length < 20_000 or n_autosomes < 1:
        raise ValueError("need contig_length >= 20000 and at least one autosome")
    telomere = max(50, contig_length // 400)
    par1_len = round(contig_length * 0.63 * PAR1_FRACTION)
    par2_len = round(contig_length * 0.63 * PAR2_FRACTION)
    contigs: list[Contig] = []
    par_seqs: dict[str, np.ndarray] = {}
    for name, kind, length in _contig_plan(n_autosomes, contig_length):
        rng = rng_for(seed, "reference", name)
        seq = random_bases(rng, length)
        seq[:telomere] = seq[length - telomere :] = ord("N")
        pars: tuple[tuple[int, int], ...] = ()
        body = (telomere, length - telomere)
        if kind in ("X", "Y"):
            pars = (
                (telomere, telomere + par1_len),
                (length - telomere - par2_len, length - telomere),
            )
            body = (pars[0][1], pars[1][0])
        gap_start = body[0] + int((body[1] - body[0]) * rng.uniform(0.35, 0.5))
        gap = (gap_start, gap_start + length // 100)
        repeats = _plant_repeats(rng, seq, (telomere + 1, length - telomere - 1))
        seq[gap[0] : gap[1]] = ord("N")
        repeats = [r for r in repeats if r.end <= gap[0] or r.start >= gap[1]]
        if kind == "X":
            par_seqs = {"par1": seq[pars[0][0] : pars[0][1]], "par2": seq[pars[1][0] : pars[1][1]]}
        if kind == "Y":
            seq[pars[0][0] : pars[0][1]] = par_seqs["par1"]
            seq[pars[1][0] : pars[1][1]] = par_seqs["par2"]
            repeats = [r for r in repeats if body[0] <= r.start and r.end <= body[1]]
        seq37, alignment = _derive_grch37(rng, name, seq, body, [gap])
        site_region = body if kind == "Y" else (telomere, length - telomere)
        contigs.append(Contig(name, kind, seq, seq37, alignment, tuple(repeats), pars, site_region))
    rng = rng_for(seed, "reference", "chrM")
    mito = random_bases(rng, MITO_LENGTH)
    identity = ContigAlignment("chrM", MITO_LENGTH, MITO_LENGTH, (AlignedBlock(0, 0, MITO_LENGTH),))
    repeats = _plant_repeats(rng, mito, (1, MITO_LENGTH - 1))
    contigs.append(
        Contig("chrM", "M", mito, mito, identity, tuple(repeats), (), (1, MITO_LENGTH - 1))
    )
    return Reference(tuple(contigs))
