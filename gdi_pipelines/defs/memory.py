"""A hook returning the C heap's free memory to the system after each step of a run."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

import dagster as dg


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Collect the step's garbage cycles (frames and arrays they hold would wait for a full
    collection), then give the heap's free pages back (numpy and Python free into glibc's
    arenas, which keep them); True if glibc released anything."""
    gc.collect()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


@dg.success_hook(name="release_freed_memory")
def release_after_success(_context: dg.HookContext) -> None:
    release_freed_memory()


@dg.failure_hook(name="release_freed_memory_on_failure")
def release_after_failure(_context: dg.HookContext) -> None:
    release_freed_memory()


HOOKS = {release_after_success, release_after_failure}
