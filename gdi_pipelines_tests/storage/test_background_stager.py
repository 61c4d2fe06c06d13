"""Staging on a background thread: the same rows as staging in the caller, and a staging error
surfaces in the caller (at the next submit or when the block ends) with nothing staged after it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import polars as pl
import pytest

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage.background import BackgroundStager
from gdi_pipelines.storage.publish import PartitionPublisher

SCHEMA = pl.Schema({"country": pl.String, "batch_id": pl.String, "value": pl.Int64})


def publisher(root: Path, table: str, run_id: str, batch: str = "b1") -> PartitionPublisher:
    node = Location(str(root / "nodes" / "SE"))
    return PartitionPublisher(node.child(table), node, table, {"batch_id": batch}, run_id, SCHEMA)


def rows(values: list[int], batch: str = "b1") -> pl.DataFrame:
    return pl.DataFrame(
        {"country": ["SE"] * len(values), "batch_id": [batch] * len(values), "value": values},
        schema=SCHEMA,
    )


def staged_rows(p: PartitionPublisher) -> list[tuple]:
    return sorted(p.staged().collect().rows())


class Failing:
    """A publisher whose stage raises; `called` is set just before it does."""

    def __init__(self) -> None:
        self.called = threading.Event()

    def stage(self, frame: pl.DataFrame) -> int:
        self.called.set()
        raise RuntimeError("disk full")


class Recording:
    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []

    def stage(self, frame: pl.DataFrame) -> int:
        self.frames.append(frame)
        return len(self.frames)


def test_background_staging_equals_direct_staging(tmp_path: Path) -> None:
    chunks = [rows([1, 2]), rows([]), rows([3]), rows([4, 5, 6])]
    direct = {t: publisher(tmp_path, t, "direct") for t in ("calls", "sites")}
    for chunk in chunks:
        direct["calls"].stage(chunk)
        direct["sites"].stage(chunk.with_columns(pl.col("value") * 10))
    background = {t: publisher(tmp_path, t, "background") for t in ("calls", "sites")}
    with BackgroundStager(depth=1) as stager:
        for chunk in chunks:
            stager.submit(
                [
                    (background["calls"], chunk),
                    (background["sites"], chunk.with_columns(pl.col("value") * 10)),
                ]
            )
    for table in ("calls", "sites"):
        assert staged_rows(background[table]) == staged_rows(direct[table])
        assert background[table].rows_staged == direct[table].rows_staged == 6
    assert staged_rows(background["sites"]) == [("SE", "b1", v * 10) for v in range(1, 7)]


def test_a_publisher_error_reaches_the_caller_and_nothing_after_it_is_staged(
    tmp_path: Path,
) -> None:
    """A real publisher refusing a frame of the wrong schema (raised at the last submit or at
    exit): the pair after it in the same item and the item after it are not staged."""
    good = publisher(tmp_path, "calls", "r1")
    bad = publisher(tmp_path, "sites", "r1")
    with pytest.raises(pl.exceptions.ColumnNotFoundError), BackgroundStager() as stager:
        stager.submit([(good, rows([1, 2]))])
        stager.submit([(bad, pl.DataFrame({"country": ["SE"]})), (good, rows([3]))])
        stager.submit([(good, rows([4]))])
    assert staged_rows(good) == [("SE", "b1", 1), ("SE", "b1", 2)]


def test_a_failure_of_the_last_item_is_raised_at_exit() -> None:
    failing = Failing()
    reached_end = False
    with pytest.raises(RuntimeError, match="disk full"), BackgroundStager() as stager:
        stager.submit([(failing, rows([1]))])  # checked before this item was staged
        reached_end = True
    assert reached_end, "a single submit cannot see its own item's failure"
    assert failing.called.is_set()


def test_a_staging_error_is_raised_at_the_next_submit_and_later_items_are_skipped() -> None:
    failing, after = Failing(), Recording()
    raised_in_block = False
    with pytest.raises(RuntimeError, match="disk full"), BackgroundStager() as stager:
        stager.submit([(failing, rows([1]))])
        assert failing.called.wait(10)
        try:
            for _ in range(500):  # the error is recorded just after `called` is set
                stager.submit([(after, rows([2]))])
                time.sleep(0.01)
        except RuntimeError:
            raised_in_block = True
            raise
    assert raised_in_block, "a submit after the failure raised it"
    assert after.frames == [], "nothing submitted after the failing item was staged"


def test_an_error_in_the_block_gets_a_note_when_staging_also_failed() -> None:
    failing = Failing()
    with pytest.raises(KeyError, match="caller") as caught, BackgroundStager() as stager:
        stager.submit([(failing, rows([1]))])
        assert failing.called.wait(10)
        raise KeyError("caller")
    notes = getattr(caught.value, "__notes__", [])
    assert len(notes) == 1
    assert "staging also failed" in notes[0] and "disk full" in notes[0]


def test_an_error_in_the_block_propagates_unchanged_when_staging_succeeded() -> None:
    recording = Recording()
    with pytest.raises(KeyError, match="caller") as caught, BackgroundStager() as stager:
        stager.submit([(recording, rows([1]))])
        raise KeyError("caller")
    assert not getattr(caught.value, "__notes__", [])
    assert not any(t.name == "gdi-stager" and t.is_alive() for t in threading.enumerate())
