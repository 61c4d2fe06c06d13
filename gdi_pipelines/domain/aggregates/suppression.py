"""Small-cell suppression of an additive two-way table with its margins.

The published table is cells[r, c] plus row totals, column totals and the grand total, every
total the sum of its line. Numbers 1..k-1 are suppressed (primary); 0 is shown: it points at
no person, and many zeros are structural (hiding them costs utility for little protection;
the residual risk is group disclosure, e.g. "nobody of this row has that phenotype").
Complementary suppression, so no suppressed number follows from one line's published numbers:
every line (each row with its total, each column with its total, the totals row and the
totals column with the grand total) that holds a suppressed number must hold at least two.
Repeat until stable: in a line with exactly one, suppress its smallest published number > 0
(the "next smallest cell"; a zero only as a last resort, since counts are >= 0 a hidden zero
can move one way only), preferring a number whose crossing line also holds a single hidden
number (that closes a rectangle instead of starting a cascade). Totals are the largest
numbers of a line, so they go last; suppressing one propagates to the totals row/column the
same way.
Two per line is not enough when lines combine (e.g. hidden row totals that, with the
published grand total, pin a hidden column total), so an audit follows: the range of every
hidden number over all non-negative tables matching the publication (linear programming; the
table's constraint matrix is totally unimodular, so the bounds are integers). A hidden number
with fewer than two possible values gets the smallest published number > 0 of its lines (of
the table, if its lines are all hidden) suppressed as well; both steps repeat until the
audit finds nothing.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from scipy.optimize import linprog


class Status(IntEnum):
    PUBLISHED = 0
    PRIMARY = 1
    COMPLEMENTARY = 2


def with_margins(cells: np.ndarray) -> np.ndarray:
    """(R+1, C+1): cells, row totals in the last column, column totals in the last row."""
    cells = np.asarray(cells, dtype=np.int64)
    table = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1), dtype=np.int64)
    table[:-1, :-1] = cells
    table[:-1, -1] = cells.sum(axis=1)
    table[-1, :] = table[:-1, :].sum(axis=0)
    return table


def _lines(shape: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    rows, cols = shape
    lines = [(np.full(cols, r), np.arange(cols)) for r in range(rows)]
    lines += [(np.arange(rows), np.full(rows, c)) for c in range(cols)]
    return lines


def _two_per_line(table: np.ndarray, status: np.ndarray) -> None:
    changed = True
    while changed:
        changed = False
        for rows, cols in _lines(table.shape):
            if (status[rows, cols] != Status.PUBLISHED).sum() == 1:
                _hide_smallest(table, status, rows, cols)
                changed = True


def _hide_smallest(table: np.ndarray, status: np.ndarray, rows, cols) -> None:
    """Hide one published entry among (rows, cols): first one whose crossing line holds a
    single hidden number (hiding it settles both lines, closing a rectangle), then any
    number > 0, then a zero; smallest first."""
    hidden = status != Status.PUBLISHED
    along_row = len(set(rows.tolist())) == 1
    crossing = hidden.sum(axis=0)[cols] if along_row else hidden.sum(axis=1)[rows]
    values = table[rows, cols].astype(float)
    rank = np.where(crossing == 1, 0, 1) * 2 + (values == 0)
    rank = np.where(hidden[rows, cols], np.inf, rank)
    if not np.isfinite(rank).any():
        return
    pick = int(np.lexsort((values, rank))[0])
    status[rows[pick], cols[pick]] = Status.COMPLEMENTARY


def pinned(table: np.ndarray, status: np.ndarray) -> list[tuple[int, int]]:
    """Hidden entries with fewer than two possible values given the published ones."""
    shape, size = table.shape, table.size
    published = (status == Status.PUBLISHED).ravel()
    bounds = [(v, v) if p else (0, None) for v, p in zip(table.ravel(), published, strict=True)]
    equations = []
    for rows, cols in _lines(shape):
        row = np.zeros(size)
        flat = np.ravel_multi_index((rows, cols), shape)
        row[flat[:-1]], row[flat[-1]] = 1.0, -1.0  # cells minus their total
        equations.append(row)
    found = []
    for flat in np.flatnonzero(~published):
        objective = np.zeros(size)
        objective[flat] = 1.0
        low = linprog(objective, A_eq=equations, b_eq=np.zeros(len(equations)), bounds=bounds)
        high = linprog(-objective, A_eq=equations, b_eq=np.zeros(len(equations)), bounds=bounds)
        if high.status != 3 and -high.fun - low.fun < 1 - 1e-6:  # 3: unbounded
            found.append(np.unravel_index(flat, shape))
    return [(int(r), int(c)) for r, c in found]


def suppress(table: np.ndarray, k: int) -> np.ndarray:
    """`Status` per entry of a table with margins (see `with_margins`)."""
    status = np.where((table >= 1) & (table < k), Status.PRIMARY, Status.PUBLISHED)
    n_rows, n_cols = table.shape
    while True:
        _two_per_line(table, status)
        exposed = pinned(table, status)
        if not exposed:
            return status.astype(np.int8)
        r, c = exposed[0]
        before = status.copy()
        _hide_smallest(table, status, np.full(n_cols, r), np.arange(n_cols))
        if (status == before).all():
            _hide_smallest(table, status, np.arange(n_rows), np.full(n_rows, c))
        if (status == before).all():  # its lines are all hidden: the smallest of the table
            published = np.argwhere(status == Status.PUBLISHED)
            if not len(published):
                return status.astype(np.int8)
            values = table[published[:, 0], published[:, 1]]
            status[tuple(published[np.lexsort((values, values == 0))[0]])] = Status.COMPLEMENTARY
