import polars as pl
import pytest

from gdi_pipelines.domain import duplicate_keys
from gdi_pipelines.domain.duplicate_keys import duplicated_keys

KEYS = ["sample", "variant_id"]


def _table(rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sample": [f"s{i % 7}" for i in range(rows)],
            "variant_id": [f"chr1-{i}-A-G" for i in range(rows)],
            "dosage": [i % 3 for i in range(rows)],
        }
    )


def _expected(frame: pl.DataFrame) -> pl.DataFrame:
    keyed = frame.filter(~pl.all_horizontal(pl.col(k).is_null() for k in KEYS))
    return keyed.group_by(KEYS).len().filter(pl.col("len") > 1).sort(KEYS)


def _found(frame: pl.DataFrame, rows_per_pass: int) -> pl.DataFrame:
    parts = list(duplicated_keys(frame.lazy(), KEYS, frame.height, rows_per_pass))
    return pl.concat(parts).sort(KEYS)


def test_unique_keys_give_one_empty_frame():
    [found] = duplicated_keys(_table(500).lazy(), KEYS, 500, 100)
    assert found.height == 0 and found.columns == [*KEYS, "len"]


def test_duplicates_found_exactly_across_buckets_and_nulls_left_out():
    base = _table(1000)
    frame = pl.concat(
        [
            base,
            base.slice(3, 1),  # twice
            base.slice(500, 1),
            base.slice(500, 1),  # three times
            base.slice(999, 1),
            pl.DataFrame({"sample": [None, None], "variant_id": [None, None], "dosage": [0, 1]}),
            pl.DataFrame({"sample": ["s1", "s1"], "variant_id": [None, None], "dosage": [0, 1]}),
        ],
        how="vertical_relaxed",
    )
    found = _found(frame, rows_per_pass=100)  # 11 buckets
    assert found.equals(_expected(frame))
    assert found.height == 4  # (s1, null) counts: only all-null keys are left out
    assert sorted(found["len"].to_list()) == [2, 2, 2, 3]


def test_hash_collisions_are_not_reported(monkeypatch):
    # three hashes for 300 keys: every row is a candidate, the real keys decide
    weak = pl.col("dosage").cast(pl.UInt64).alias("_key_hash")
    monkeypatch.setattr(duplicate_keys, "key_hash", lambda keys: weak)
    frame = pl.concat([_table(300), _table(300).slice(42, 1)])
    found = _found(frame, rows_per_pass=2)  # the 3 candidates re-read 2 at a time
    assert found.equals(_expected(frame)) and found.height == 1


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables(rows):
    assert _found(_table(rows), rows_per_pass=10).height == 0
