"""A hook returning the C heap's free memory to the system after each step of a run."""

from __future__ import annotations

import gc

import dagster as dg

from gdi_pipelines.allocators import libc


def release_freed_memory() -> bool:
    """Collect the step's garbage cycles (frames and arrays they hold would wait for a full
    collection), then give the heap's free pages back (numpy and Python free into glibc's
    arenas, which keep them); True if glibc released anything."""
    gc.collect()
    c = libc()
    return bool(c.malloc_trim(0)) if c is not None else False


@dg.success_hook(name="release_freed_memory")
def release_after_success(_context: dg.HookContext) -> None:
    release_freed_memory()


@dg.failure_hook(name="release_freed_memory_on_failure")
def release_after_failure(_context: dg.HookContext) -> None:
    release_freed_memory()


HOOKS = {release_after_success, release_after_failure}
