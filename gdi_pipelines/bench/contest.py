"""Two contenders doing the same work on the same input, run alternately: ours, reference,
ours, reference, ... so that drifting machine load hits both alike. Medians per contender,
the ratio ours/reference of the medians, throughput = work units / median seconds."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gdi_pipelines.bench.process_tree import RunMeasurement, run_measured

MIB = 1024 * 1024


@dataclass(frozen=True)
class Contender:
    command: Sequence[str]
    shown: str  # the command as a person would type it, for the report
    prepare: Callable[[], None] | None = None  # untimed, before every run (e.g. empty outputs)
    inspect: Callable[[RunMeasurement], dict] | None = None  # untimed, after every run
    env: Mapping[str, str] | None = None


@dataclass
class SideResult:
    shown: str
    runs: list[RunMeasurement] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def median_cpu_seconds(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def peak_rss_bytes(self) -> int:
        return max(r.peak_rss_bytes for r in self.runs)

    def to_json(self, work: int) -> dict:
        return {
            "command": self.shown,
            "median_seconds": round(self.median_seconds, 4),
            "median_cpu_seconds": round(self.median_cpu_seconds, 4),
            "throughput_per_second": round(work / self.median_seconds, 1),
            "peak_rss_mib": round(self.peak_rss_bytes / MIB, 1),
            "runs": [r.to_json() for r in self.runs],
            **({"details": self.details} if any(self.details) else {}),
        }


@dataclass
class ContestResult:
    task: str
    input: str
    unit: str  # what `work` counts: genotypes, reads
    work: int
    ours: SideResult
    reference: SideResult
    notes: dict = field(default_factory=dict)

    @property
    def time_ratio(self) -> float:
        return self.ours.median_seconds / self.reference.median_seconds

    @property
    def cpu_ratio(self) -> float:
        """Of the median CPU seconds: steadier than wall time on a loaded machine."""
        return self.ours.median_cpu_seconds / max(self.reference.median_cpu_seconds, 1e-3)

    @property
    def rss_ratio(self) -> float | None:
        """None when the reference ended before its memory could be sampled."""
        reference = self.reference.peak_rss_bytes
        return self.ours.peak_rss_bytes / reference if reference else None

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "input": self.input,
            "unit": self.unit,
            "work": self.work,
            "time_ratio_ours_over_reference": round(self.time_ratio, 3),
            "cpu_ratio_ours_over_reference": round(self.cpu_ratio, 3),
            "peak_rss_ratio_ours_over_reference": (
                round(self.rss_ratio, 3) if self.rss_ratio is not None else None
            ),
            "ours": self.ours.to_json(self.work),
            "reference": self.reference.to_json(self.work),
            **({"notes": self.notes} if self.notes else {}),
        }


def _run(contender: Contender, side: SideResult) -> None:
    if contender.prepare is not None:
        contender.prepare()
    measured = run_measured(contender.command, env=contender.env)
    side.runs.append(measured)
    side.details.append(contender.inspect(measured) if contender.inspect else {})


def run_contest(
    task: str,
    input_label: str,
    unit: str,
    work: int,
    ours: Contender,
    reference: Contender,
    repetitions: int,
) -> ContestResult:
    result = ContestResult(
        task, input_label, unit, work, SideResult(ours.shown), SideResult(reference.shown)
    )
    for i in range(repetitions):
        print(f"  {task} {input_label}: run {i + 1}/{repetitions}", file=sys.stderr, flush=True)
        _run(ours, result.ours)
        _run(reference, result.reference)
    return result
