"""The hook every job runs after each step: freed C heap memory goes back to the system."""

import subprocess
import sys

from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs.federation import JOB as FEDERATION_JOB
from gdi_pipelines.defs.jobs import INGEST_JOB
from gdi_pipelines.defs.memory import HOOKS

# in a fresh process: 2,000 blocks of 100 KB from malloc (below the mmap threshold, so from the
# heap), then freed. With the trim threshold above their total, free() keeps their pages whatever
# lies above them (only malloc_trim trims the heap top): glibc holds ~200 MB it no longer uses
PROBE = """
import ctypes
from gdi_pipelines.defs.memory import release_freed_memory

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD fixed above the blocks' size
libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: free() never trims the top

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096

start = rss()
blocks = [libc.malloc(100_000) for _ in range(2_000)]
for b in blocks:
    ctypes.memset(b, 1, 100_000)
for b in blocks:
    libc.free(b)
held = rss()
released = release_freed_memory()
print(released, held - start, held - rss())
"""


def test_freed_heap_pages_are_returned() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    released, held, dropped = out.stdout.split()
    assert int(held) > 150 * 2**20, "the probe's freed blocks were not left on the heap"
    assert released == "True"
    assert int(dropped) > 150 * 2**20  # of the ~200 MB freed


def test_the_data_jobs_run_the_hook() -> None:
    defs = build_definitions(("SE",), executor="in_process")
    for name in (INGEST_JOB, FEDERATION_JOB):
        assert set(defs.resolve_job_def(name).hook_defs) >= HOOKS, name
