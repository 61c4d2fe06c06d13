"""The process's memory allocators, set when the package loads, before polars, deltalake or
any thread allocates. An operator's own setting of either wins.

- jemalloc (polars, deltalake) returns freed pages only while the arena that freed them is
  busy: an idle arena (a thread pool's, after a step) keeps them, and they count in the next
  step's peak. Its background thread purges them (polars' decay delays) and muzzy pages go at
  once (100M pipeline: peak 1,411 -> 1,310 MiB, no slower). Read when polars loads.
- glibc malloc (numpy, Python's large objects, the C libraries) gives each new thread an arena
  of its own, up to 8 per core. Every step starts threads (VCF reader, stager, thread pools);
  their arenas outlive them, holding freed pages that `malloc_trim` leaves where live blocks
  sit between them: after a 100M pipeline eight of them held ~140 MiB, and each step started
  higher than the one before (515 -> 920 MiB). Two arenas: the steps start at 660-790 MiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

JEMALLOC_CONF = "background_thread:true,muzzy_decay_ms:0"
GLIBC_ARENA_MAX = 2
_M_ARENA_MAX = -8  # mallopt parameter, malloc.h


@functools.cache
def libc() -> ctypes.CDLL | None:
    """The C library if it is glibc (mallopt, malloc_trim), else None (musl, macOS)."""
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    if library is None or not hasattr(library, "malloc_trim"):
        return None
    library.malloc_trim.argtypes, library.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    library.mallopt.argtypes, library.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return library


def _operator_set_glibc_arenas() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return "MALLOC_ARENA_MAX" in os.environ or "glibc.malloc.arena_max" in tunables


def configure() -> None:
    os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
    c = libc()
    if c is not None and not _operator_set_glibc_arenas():
        c.mallopt(_M_ARENA_MAX, GLIBC_ARENA_MAX)
