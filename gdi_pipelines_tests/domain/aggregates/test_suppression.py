"""Primary and complementary suppression: no hidden number follows from the published ones,
neither line by line nor from all equations together (random tables with many small cells)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.aggregates.suppression import Status, suppress, with_margins
from gdi_pipelines_tests.domain.aggregates.suppression_audit import (
    derivable_by_subtraction,
    feasible_ranges,
    lines,
)

K = 5
small_counts = st.one_of(st.integers(0, 4), st.integers(0, 40))


@st.composite
def tables(draw):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return np.array([[draw(small_counts) for _ in range(cols)] for _ in range(rows)])


def _publish(table: np.ndarray, status: np.ndarray) -> np.ndarray:
    return np.where(status == Status.PUBLISHED, table, np.nan).astype(float)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(tables())
def test_no_hidden_number_can_be_derived(cells: np.ndarray) -> None:
    table = with_margins(cells)
    status = suppress(table, K)
    small = (table >= 1) & (table < K)
    assert (status[small] == Status.PRIMARY).all()
    assert (status[~small] != Status.PRIMARY).all()
    for line in lines(table.shape):
        assert sum(status[e] != Status.PUBLISHED for e in line) != 1
    published = _publish(table, status)
    assert derivable_by_subtraction(published) == set()
    for entry, (low, high) in feasible_ranges(published).items():
        assert low <= table[entry] <= high
        assert high - low >= 1 - 1e-9, (entry, table, status)


def test_zero_is_shown_and_a_single_small_cell_takes_the_next_smallest_partners() -> None:
    table = with_margins([[2, 30, 12], [20, 0, 7], [9, 15, 30]])
    status = suppress(table, K)
    assert status[1, 1] == Status.PUBLISHED  # the zero
    assert status[0, 0] == Status.PRIMARY
    # the next smallest cells of its row (12 before 30) and of its column (9 before 20)
    assert status[0, 2] == Status.COMPLEMENTARY and status[2, 0] == Status.COMPLEMENTARY
    assert status[2, 2] == Status.COMPLEMENTARY  # closes the rectangle
    assert (status != Status.PUBLISHED).sum() == 4
    assert (status[-1, :] == Status.PUBLISHED).all() and (status[:, -1] == Status.PUBLISHED).all()


def test_hidden_totals_pinned_through_the_grand_total_get_more_suppression() -> None:
    """Two hidden per line everywhere, yet the column-0 total follows from the published grand
    total minus the other totals: the audit hides more."""
    table = with_margins(
        [[0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 4]]
    )
    status = suppress(table, K)
    published = _publish(table, status)
    assert derivable_by_subtraction(published) == set()
    ranges = feasible_ranges(published)
    assert (4, 0) in ranges and all(high - low >= 1 for low, high in ranges.values())
