"""The jemalloc settings reach polars' allocator, and an operator's own value wins."""

import os
import subprocess
import sys

PROBE = "import gdi_pipelines, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"


def _conf(env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().split(",")


def test_background_purging_is_configured_before_polars_loads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    conf = _conf(env)
    # polars appends the value it found to its defaults: later options win in jemalloc
    assert conf[-2:] == ["background_thread:true", "muzzy_decay_ms:0"]


def test_an_operators_setting_is_kept() -> None:
    conf = _conf(os.environ | {"_RJEM_MALLOC_CONF": "dirty_decay_ms:0"})
    assert conf[-1] == "dirty_decay_ms:0" and "background_thread:true" not in conf


# eight threads allocate at once (blocks below the mmap threshold: from their arenas), then
# glibc's malloc_stats lists the arenas it made on stderr, one "Arena N:" each
ARENAS = """
import ctypes, threading
import gdi_pipelines

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
start = threading.Barrier(8)

def allocate():
    start.wait()
    blocks = [libc.malloc(64_000) for _ in range(2_000)]
    for block in blocks:
        libc.free(block)

threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.malloc_stats()
"""


def _glibc_arenas(env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-c", ARENAS], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return sum(line.startswith("Arena ") for line in out.stderr.splitlines())


def test_threads_share_two_glibc_arenas() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert 1 <= _glibc_arenas(env) <= 2


def test_an_operators_arena_limit_is_kept() -> None:
    assert _glibc_arenas(os.environ | {"MALLOC_ARENA_MAX": "8"}) > 2
