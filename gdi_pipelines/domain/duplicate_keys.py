"""Keys that occur more than once in a table too large to group at once.

The rows are split into hash buckets of the key and one bucket is grouped at a time, so memory
holds about `rows_per_pass` keys whatever the table's size (each pass scans the table again).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import polars as pl


def duplicated_keys(
    table: pl.LazyFrame, keys: list[str], rows: int, rows_per_pass: int
) -> Iterator[pl.DataFrame]:
    """Per bucket: the keys (rows with every key null left out) occurring more than once, with
    their count in `len`."""
    passes = max(1, math.ceil(rows / rows_per_pass))
    all_missing = pl.all_horizontal([pl.col(k).is_null() for k in keys])
    bucket = pl.struct(keys).hash(seed=0) % passes
    for index in range(passes):
        keyed = table.select(keys).filter(~all_missing)
        if passes > 1:
            keyed = keyed.filter(bucket == index)
        yield keyed.group_by(keys).len().filter(pl.col("len") > 1).collect(engine="streaming")
