"""The loop of `allele_counts`: calls tallied per (site, sample class).

Two implementations of one contract: numpy bincounts (one pass per measure) for tallies of
fewer than SMALL_GENOTYPES sites x samples, else a compiled loop (one pass; numba's import and
cache load cost ~0.8 s per process, more than small inputs take to count).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

MEASURES = (
    "rows",  # listed calls
    "ploidy_positive",  # listed calls of ploidy > 0, no-calls included
    "no_call",
    "ac",  # sum of dosages
    "called_ploidy",  # sum of the ploidy of called calls
    "het",  # diploid, dosage 1
    "hom_alt",  # diploid, dosage 2
    "hom_ref_diploid",  # diploid, dosage 0
    "hemi",  # haploid, dosage 1
)
ROWS, PLOIDY_POSITIVE, NO_CALL, AC, CALLED_PLOIDY, HET, HOM_ALT, HOM_REF_DIPLOID, HEMI = range(
    len(MEASURES)
)


SMALL_GENOTYPES = 8_000_000


def tallier(genotypes: int) -> Callable:
    """`tally(site, sample, dosage, ploidy, sample_class, tally)` for `genotypes` (sites x
    samples) at most: numpy for a small tally, unless the compiled loop is loaded already
    (numpy's passes cost more per call: 100M genotypes took 9.1 s against 6.5 s)."""
    if genotypes < SMALL_GENOTYPES and compiled_tally.cache_info().currsize == 0:
        return tally_with_numpy
    return compiled_tally()


def expect(genotypes: int) -> None:
    """Announce the genotypes a job will tally in all, in however many pieces: from
    SMALL_GENOTYPES on, the compiled loop is loaded now, so `tallier` picks it for every
    piece, however small (a contig tallied a region at a time)."""
    if genotypes >= SMALL_GENOTYPES:
        compiled_tally()


@functools.cache
def compiled_tally() -> Callable:
    from gdi_pipelines.domain.compiled import compiled  # imports numba

    return compiled(tally_calls)


def tally_with_numpy(site, sample, dosage, ploidy, sample_class, tally) -> None:
    """As `tally_calls`, by np.bincount over flat (site, class) keys, counted over the keys'
    range only (calls come in site order: a batch spans few sites)."""
    if site.shape[0] == 0:
        return
    classes = tally.shape[1]
    flat = tally.reshape(-1, len(MEASURES))  # a view: tally is C-contiguous
    key = site * classes + sample_class[sample]
    low = int(key.min())
    key -= low
    size = int(key.max()) + 1
    span = flat[low : low + size]
    called = dosage >= 0
    on, d, p = key[called], dosage[called].astype(np.int64), ploidy[called].astype(np.int64)
    counted = {
        ROWS: key,
        PLOIDY_POSITIVE: key[ploidy > 0],
        NO_CALL: key[~called],
        HET: on[(p == 2) & (d == 1)],
        HOM_ALT: on[(p == 2) & (d == 2)],
        HOM_REF_DIPLOID: on[(p == 2) & (d == 0)],
        HEMI: on[(p == 1) & (d == 1)],
    }
    for measure, keys in counted.items():
        span[:, measure] += np.bincount(keys, minlength=size)
    for measure, values in ((AC, d), (CALLED_PLOIDY, p)):
        span[:, measure] += np.bincount(on, weights=values, minlength=size).astype(np.int64)


def tally_calls(site, sample, dosage, ploidy, sample_class, tally):
    """Add each call (`dosage` -1 for a no-call) to `tally[site, class of sample, MEASURES]`."""
    for i in range(site.shape[0]):
        row = tally[site[i], sample_class[sample[i]]]
        d = dosage[i]
        p = ploidy[i]
        row[ROWS] += 1
        if p > 0:
            row[PLOIDY_POSITIVE] += 1
        if d < 0:
            row[NO_CALL] += 1
            continue
        row[AC] += d
        row[CALLED_PLOIDY] += p
        if p == 2:
            if d == 1:
                row[HET] += 1
            elif d == 2:
                row[HOM_ALT] += 1
            elif d == 0:
                row[HOM_REF_DIPLOID] += 1
        elif p == 1 and d == 1:
            row[HEMI] += 1


def warm_up() -> None:
    """Compile (or load from the disk cache) the loop for the types `allele_counts` passes."""
    one = np.zeros(1, dtype=np.int64)
    compiled_tally()(
        one,
        one,
        np.zeros(1, np.int8),
        np.ones(1, np.int8),
        one,
        np.zeros((1, 1, len(MEASURES)), np.int64),
    )
