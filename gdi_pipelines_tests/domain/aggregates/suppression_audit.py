"""What an attacker can derive from a published table with margins: line-by-line
subtraction, and the exact range of each hidden number under all the published equations
(linear programming over non-negative reals)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog


def lines(shape: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """Each row and column of a table with margins; the last entry of a line is its total."""
    rows, cols = shape
    return [[(r, c) for c in range(cols)] for r in range(rows)] + [
        [(r, c) for r in range(rows)] for c in range(cols)
    ]


def derivable_by_subtraction(published: np.ndarray) -> set[tuple[int, int]]:
    """Hidden entries (NaN) that one line's published numbers give away."""
    found = set()
    for line in lines(published.shape):
        hidden = [e for e in line if np.isnan(published[e])]
        if len(hidden) == 1:
            found.add(hidden[0])
    return found


def feasible_ranges(published: np.ndarray) -> dict[tuple[int, int], tuple[float, float]]:
    """(min, max) of every hidden entry over non-negative tables matching the publication."""
    hidden = [tuple(e) for e in np.argwhere(np.isnan(published))]
    index = {e: i for i, e in enumerate(hidden)}
    a_eq, b_eq = [], []
    for line in lines(published.shape):
        *cells, total = line
        row = np.zeros(len(hidden))
        rhs = 0.0
        for entry, sign in [*((c, 1.0) for c in cells), (total, -1.0)]:
            if entry in index:
                row[index[entry]] += sign
            else:
                rhs -= sign * published[entry]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    ranges = {}
    for entry, i in index.items():
        objective = np.zeros(len(hidden))
        objective[i] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        upper = np.inf if high.status == 3 else -high.fun
        ranges[entry] = (low.fun, upper)
    return ranges
