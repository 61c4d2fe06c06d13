"""read_ahead: order, the producer's error in order, and its thread stopped on close."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from gdi_pipelines.domain.read_ahead import read_ahead

READER_THREAD = "gdi-reader"


def _live_reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == READER_THREAD and t.is_alive()]


def test_read_ahead_keeps_the_order() -> None:
    assert list(read_ahead(iter(range(100)), depth=2)) == list(range(100))
    assert not _live_reader_threads()


def test_read_ahead_raises_the_producer_error_after_the_earlier_items() -> None:
    def failing() -> Iterator[int]:
        yield from range(3)
        raise ValueError("x.vcf line 7: boom")

    got: list[int] = []
    with pytest.raises(ValueError, match="line 7: boom"):
        for item in read_ahead(failing(), depth=1):
            got.append(item)
    assert got == [0, 1, 2]
    assert not _live_reader_threads()


def test_closing_read_ahead_early_stops_its_thread() -> None:
    ahead = read_ahead(itertools.count(), depth=2)
    for item in ahead:
        assert item == 0
        break
    assert _live_reader_threads(), "the producer runs while the consumer holds the generator"
    ahead.close()
    assert not _live_reader_threads()
