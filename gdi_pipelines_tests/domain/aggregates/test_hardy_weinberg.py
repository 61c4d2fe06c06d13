"""The vectorised exact test == a plain port of Wigginton et al.'s recurrence (as in bcftools)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.aggregates.hardy_weinberg import _unique_triples, hwe_exact_p


def wigginton(hom_ref: int, het: int, hom_alt: int) -> float:
    """Wigginton 2005's published recurrence from the midpoint, one variant at a time."""
    n_ref, n_alt = 2 * hom_ref + het, het + 2 * hom_alt
    if n_ref == 0 or n_alt == 0:
        return 1.0
    ngt, rare = hom_ref + het + hom_alt, min(n_ref, n_alt)
    probs = [0.0] * (rare + 1)
    mid = int(rare * (n_ref + n_alt - rare) / (n_ref + n_alt))
    if (rare & 1) ^ (mid & 1):
        mid += 1
    probs[mid] = 1.0
    hom_r, hom_c = (rare - mid) // 2, ngt - mid - (rare - mid) // 2
    for h in range(mid, 1, -2):
        probs[h - 2] = probs[h] * h * (h - 1.0) / (4.0 * (hom_r + 1.0) * (hom_c + 1.0))
        hom_r, hom_c = hom_r + 1, hom_c + 1
    hom_r, hom_c = (rare - mid) // 2, ngt - mid - (rare - mid) // 2
    for h in range(mid, rare - 1, 2):
        probs[h + 2] = probs[h] * 4.0 * hom_r * hom_c / ((h + 2.0) * (h + 1.0))
        hom_r, hom_c = hom_r - 1, hom_c - 1
    total = sum(probs)
    probs = [p / total for p in probs]
    return min(1.0, sum(p for p in probs if p <= probs[het] * (1 + 1e-9)))


genotypes = st.tuples(st.integers(0, 400), st.integers(0, 400), st.integers(0, 400))


@settings(max_examples=300, deadline=None)
@given(st.lists(genotypes, min_size=1, max_size=40))
def test_vectorised_equals_the_recurrence(rows: list[tuple[int, int, int]]) -> None:
    hom_ref, het, hom_alt = (np.array(c) for c in zip(*rows, strict=True))
    ours = hwe_exact_p(hom_ref, het, hom_alt)
    for value, row in zip(ours, rows, strict=True):
        if sum(row) == 0:
            assert math.isnan(value)
        else:
            assert math.isclose(value, wigginton(*row), rel_tol=1e-9, abs_tol=1e-300), row


def test_large_counts_use_a_window_and_stay_exact_in_the_tails() -> None:
    rows = [(40_000, 20_000, 2_500), (40_000, 10_000, 12_500), (90_000, 9_000, 1_000), (5, 0, 5)]
    ours = hwe_exact_p(*(np.array(c) for c in zip(*rows, strict=True)))
    for value, row in zip(ours, rows, strict=True):
        assert math.isclose(value, wigginton(*row), rel_tol=1e-6, abs_tol=1e-300), row
    assert 0 < ours[3] < 0.01  # no het among 10 diploid genotypes at AF 0.5


def test_packed_and_row_wise_unique_triples_agree() -> None:
    rng = np.random.default_rng(7)
    ngt = rng.integers(1, 50, 2000)
    nrare = rng.integers(0, 50, 2000)
    het = rng.integers(0, 25, 2000)
    packed, inverse = _unique_triples(ngt, nrare, het)
    rows, row_inverse = np.unique(np.stack([ngt, nrare, het], axis=1), axis=0, return_inverse=True)
    assert np.array_equal(packed, rows) and np.array_equal(inverse, row_inverse.ravel())
    # too wide to pack into one int64: the row-wise path, same answer
    huge = ngt * 2**55
    wide, wide_inverse = _unique_triples(huge, nrare, het)
    assert np.array_equal(wide[wide_inverse], np.stack([huge, nrare, het], axis=1))
