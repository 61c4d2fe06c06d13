"""numba compilation of the package's few hot loops."""

from __future__ import annotations

import warnings

import numba


def compiled(function):
    """numba-compiled without the GIL, cached on disk where numba finds a writable place
    (next to the module, else NUMBA_CACHE_DIR or the user's cache folder)."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as err:  # no writable cache location: compiled once per process
        warnings.warn(f"{function.__name__} compiled without a disk cache: {err}", stacklevel=2)
        return numba.njit(nogil=True)(function)
