"""Items of an iterator produced on a thread of their own, ahead of the consumer."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")


def read_ahead(chunks: Iterator[T], depth: int = 2, name: str = "gdi-reader") -> Iterator[T]:
    """`chunks`, produced on a thread of its own up to `depth` ahead of the consumer (e.g. a
    VCF's decompression and compiled decoding, which run without the GIL, beside the caller's
    work). The producer's error is raised here, in order; closing this generator stops the
    producer."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        slots.put((chunk, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as err:  # handed over to the consumer, raised there
            slots.put((done, err))

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            chunk, err = slots.get()
            if err is not None:
                raise err
            if chunk is done:
                return
            yield chunk
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.1)
        worker.join()
