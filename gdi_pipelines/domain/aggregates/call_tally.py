"""The compiled loop of `allele_counts`: calls tallied per (site, sample class)."""

from __future__ import annotations

import numpy as np

from gdi_pipelines.domain.compiled import compiled

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


@compiled
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
    tally_calls(
        one,
        one,
        np.zeros(1, np.int8),
        np.ones(1, np.int8),
        one,
        np.zeros((1, 1, len(MEASURES)), np.int64),
    )
