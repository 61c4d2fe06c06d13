"""Stage frames into Delta tables on a thread of their own while the caller computes the next
chunk: deltalake encodes and writes Parquet without holding the GIL, so the two overlap.

Items are staged in the order submitted; at most `depth` wait, so memory stays bounded. The
first staging error is raised in the caller, at its next `submit` or when the block ends; an
error of the caller's own keeps any staging error as a note.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

import polars as pl

from gdi_pipelines.storage.publish import PartitionPublisher

Item = Sequence[tuple[PartitionPublisher, pl.DataFrame]]


class BackgroundStager:
    def __init__(self, depth: int = 2):
        self._queue: queue.Queue[Item | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gdi-stager", daemon=True)

    def __enter__(self) -> BackgroundStager:
        self._thread.start()
        return self

    def submit(self, item: Item) -> None:
        """Stage each (publisher, frame) of `item`, in order, after those submitted before."""
        self._raise_failure()
        self._queue.put(item)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            self._cancelled.set()
        self._queue.put(None)
        self._thread.join()
        if self._error is None:
            return
        if exc is not None:
            exc.add_note(f"staging also failed: {self._error!r}")
            return
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None or self._cancelled.is_set():
                continue  # drain: the caller learns of the error or has its own
            try:
                for publisher, frame in item:
                    publisher.stage(frame)
            except BaseException as err:  # handed to the caller's thread, raised there
                self._error = err
