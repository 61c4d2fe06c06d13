"""Run a command as a child process and measure it: wall time, CPU time and the peak resident
memory of its whole process tree (the child and every descendant), sampled from /proc.

The peak is the largest sum of the tree's RSS over samples taken every SAMPLE_INTERVAL, every
millisecond during the first STARTUP_SECONDS so that short runs are seen too (a peak shorter
than the interval can still be missed). Pages shared between processes of the tree count once
per process, as `ps` shows them, with one exception: a child between its (v)fork and its exec
still runs in its parent's memory, which /proc shows under both, so it counts nothing (Python's
subprocess vforks: a 562 MiB process starting `tail` read as 1,127 MiB when sampled then).
`ru_maxrss` is not used: a child forked from this Python process inherits its RSS as "maximum"
before it execs, which hides small tools entirely.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_INTERVAL = 0.02
STARTUP_SECONDS, STARTUP_INTERVAL = 0.1, 0.001
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PF_FORKNOEXEC = 0x40  # task flag: forked, not yet exec'd
_STDERR_TAIL = 2000


class CommandFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class RunMeasurement:
    seconds: float  # wall clock, start of the child to its exit
    cpu_seconds: float  # user + system of the child and the descendants it waited for
    peak_rss_bytes: int
    rss_samples: int
    stdout: str

    def to_json(self) -> dict:
        return {
            "seconds": round(self.seconds, 4),
            "cpu_seconds": round(self.cpu_seconds, 4),
            "peak_rss_bytes": self.peak_rss_bytes,
            "rss_samples": self.rss_samples,
        }


def _children_from_tasks(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            listed = Path(f"/proc/{pid}/task/{task}/children").read_text()
            children += [int(c) for c in listed.split()]
        except OSError:
            continue
    return children


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (state) on: `comm` may hold spaces."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # exited between listing and reading


def _children_from_scan(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields and int(fields[1]) == pid:  # field 4: the parent
            children.append(int(entry))
    return children


_HAS_CHILDREN_FILE = Path(f"/proc/self/task/{os.getpid()}/children").exists()
children_of = _children_from_tasks if _HAS_CHILDREN_FILE else _children_from_scan


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants alive now."""
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children_of(pid))
    return found


def _memory_map(fields: list[str]) -> tuple[str, ...]:
    """vsize, rss, the code, stack, data, heap, argument and environment addresses."""
    return (*fields[20:26], *fields[42:49])


def _runs_in_parent_memory(fields: list[str], parent: list[str] | None) -> bool:
    return (
        parent is not None
        and int(fields[6]) & PF_FORKNOEXEC != 0
        and _memory_map(fields) == _memory_map(parent)
    )


def tree_rss_bytes(root: int) -> int:
    stats = {pid: _stat_fields(pid) for pid in process_tree(root)}
    return sum(
        int(fields[21]) * PAGE_SIZE
        for fields in stats.values()
        if fields and not _runs_in_parent_memory(fields, stats.get(int(fields[1])))
    )


class _PeakSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self._stop_event.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self.samples += 1
            early = time.perf_counter() - start < STARTUP_SECONDS
            self._stop_event.wait(STARTUP_INTERVAL if early else SAMPLE_INTERVAL)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | Path | None = None
) -> RunMeasurement:
    """Run `argv` to completion; raise CommandFailed (with the tail of stderr) on a non-zero
    exit. stdout is kept (for the contender's own summary line), stderr only on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd)
        sampler = _PeakSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        sampler.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode(errors="replace")
        if child.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-_STDERR_TAIL:]
            raise CommandFailed(f"exit {child.returncode}: {' '.join(argv)}\n{tail}")
    return RunMeasurement(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=sampler.peak,
        rss_samples=sampler.samples,
        stdout=stdout,
    )


def shell(command: str) -> list[str]:
    """argv running `command` (a pipeline) in bash, failing when any stage fails."""
    return ["bash", "-c", f"set -euo pipefail; {command}"]
