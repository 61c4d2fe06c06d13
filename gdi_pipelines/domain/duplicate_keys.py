"""Keys that occur more than once in a table too large to group at once.

One streaming pass hashes each row's key to 64 bits and spools the hashes to temporary files,
one per hash bucket of about `rows_per_pass` rows. Each bucket is then sorted on its own, so
memory holds one bucket of 8-byte hashes whatever the table's size. Equal neighbours are
candidate duplicates; only if there are any is the table read again, for the rows of those
hashes, grouped by their real keys (a hash collision is not reported as a duplicate).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import polars as pl

SPOOL_BATCH_ROWS = 1_000_000


def key_hash(keys: list[str]) -> pl.Expr:
    """A 64-bit hash of the key columns (each column its own seed)."""
    hashes = [pl.col(k).hash(seed=i) for i, k in enumerate(keys)]
    combined = hashes[0]
    for h in hashes[1:]:
        combined = combined ^ h
    return combined.alias("_key_hash")


def duplicated_keys(
    table: pl.LazyFrame, keys: list[str], rows: int, rows_per_pass: int
) -> Iterator[pl.DataFrame]:
    """The keys (rows with every key null left out) occurring more than once, with their count
    in `len`; one frame at least (empty when every key is unique)."""
    all_missing = pl.all_horizontal([pl.col(k).is_null() for k in keys])
    keyed = table.filter(~all_missing)
    buckets = max(1, math.ceil(rows / rows_per_pass))
    candidates = _candidate_hashes(keyed, keys, buckets)
    if candidates.len() == 0:
        yield keyed.select(keys).head(0).collect().with_columns(len=pl.lit(0, pl.UInt32))
        return
    # a few candidates in the usual case; a table of duplicates is re-read a slice at a time
    for start in range(0, candidates.len(), rows_per_pass):
        wanted = candidates.slice(start, rows_per_pass)
        yield (
            keyed.filter(key_hash(keys).is_in(wanted))
            .group_by(keys)
            .len()
            .filter(pl.col("len") > 1)
            .collect(engine="streaming")
        )


def _candidate_hashes(keyed: pl.LazyFrame, keys: list[str], buckets: int) -> pl.Series:
    with tempfile.TemporaryDirectory(prefix="gdi-key-hashes-") as tmp, ExitStack() as files:
        paths = [Path(tmp) / f"{b}.u64" for b in range(buckets)]
        outs = [files.enter_context(open(p, "wb")) for p in paths]

        def spool(batch: pl.DataFrame) -> None:
            bucketed = batch.with_columns(_bucket=pl.col("_key_hash") % buckets)
            for (bucket,), part in bucketed.partition_by("_bucket", as_dict=True).items():
                part.get_column("_key_hash").to_numpy().tofile(outs[bucket])

        keyed.select(key_hash(keys)).sink_batches(
            spool, chunk_size=SPOOL_BATCH_ROWS, maintain_order=False
        )
        files.close()
        found = []
        for path in paths:
            hashes = pl.Series(np.fromfile(path, dtype=np.uint64)).sort()
            if hashes.len() < 2:
                continue
            repeated = hashes.slice(1).filter(hashes.slice(1) == hashes.slice(0, hashes.len() - 1))
            found.append(repeated.unique())
    return pl.concat(found) if found else pl.Series(dtype=pl.UInt64)
