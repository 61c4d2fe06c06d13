"""The printed tables: one line per contest, the memory-scaling table of task 1 (ours) across
sizes, and where the whole-pipeline runs spent their time."""

from __future__ import annotations

import statistics

from gdi_pipelines.bench.contest import MIB, ContestResult

MAX_TIME_PER_WORK_GROWTH = 1.1  # 10x genotypes may take at most ~11x the time
MAX_RSS_GROWTH = 1.25  # "flat": within noise of the previous size


def human(n: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.3g}"


def _row(cells: list[str], widths: list[int]) -> str:
    pairs = enumerate(zip(cells, widths, strict=True))
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths), "  ".join("-" * w for w in widths)]
    return "\n".join(lines + [_row(r, widths) for r in rows])


def contest_table(results: list[ContestResult]) -> str:
    header = ["task", "input", "work", "ours s", "ref s", "ours/ref", "cpu ours/ref"]
    header += ["ours /s", "ref /s"]
    header += ["ours RSS MiB", "ref RSS MiB", "runs"]
    rows = []
    for r in results:
        unit = "gt" if r.unit == "genotypes" else r.unit
        rows.append(
            [
                r.task,
                r.input,
                f"{human(r.work)} {unit}",
                f"{r.ours.median_seconds:.2f}",
                f"{r.reference.median_seconds:.2f}",
                f"{r.time_ratio:.2f}",
                f"{r.cpu_ratio:.2f}",
                human(r.work / r.ours.median_seconds),
                human(r.work / r.reference.median_seconds),
                f"{r.ours.peak_rss_bytes / MIB:.0f}",
                f"{r.reference.peak_rss_bytes / MIB:.0f}",
                f"{len(r.ours.runs)}+{len(r.reference.runs)}",
            ]
        )
    return _table(header, rows)


def memory_scaling(results: list[ContestResult]) -> list[dict]:
    """Task 1 (ours) on the synthetic inputs, size by size, per country."""
    rows: list[dict] = []
    synthetic = [r for r in results if r.task == "harmonise" and r.notes.get("size")]
    for country in sorted({r.notes["country"] for r in synthetic}):
        previous = None
        mine = sorted((r for r in synthetic if r.notes["country"] == country), key=lambda r: r.work)
        for r in mine:
            row = {
                "input": r.input,
                "size": r.notes["size"],
                "genotypes": r.work,
                "median_seconds": round(r.ours.median_seconds, 3),
                "median_cpu_seconds": round(r.ours.median_cpu_seconds, 3),
                "peak_rss_mib": round(r.ours.peak_rss_bytes / MIB, 1),
            }
            if previous is not None:
                work_x = r.work / previous.work
                time_x = r.ours.median_seconds / previous.ours.median_seconds
                cpu_x = r.ours.median_cpu_seconds / previous.ours.median_cpu_seconds
                rss_x = r.ours.peak_rss_bytes / previous.ours.peak_rss_bytes
                row |= {
                    "genotypes_x": round(work_x, 2),
                    "time_x": round(time_x, 2),
                    "cpu_x": round(cpu_x, 2),
                    "peak_rss_x": round(rss_x, 3),
                    "time_within_bound": time_x <= MAX_TIME_PER_WORK_GROWTH * work_x,
                    "rss_flat": rss_x <= MAX_RSS_GROWTH,
                }
            rows.append(row)
            previous = r
    return rows


def scaling_table(rows: list[dict]) -> str:
    header = ["input", "size", "genotypes", "ours s", "peak RSS MiB", "x gt", "x time", "x cpu"]
    header += ["x RSS"]
    header += ["time ok", "RSS flat"]
    cells = []
    for row in rows:
        grew = "genotypes_x" in row
        cells.append(
            [
                row["input"],
                row["size"],
                human(row["genotypes"]),
                f"{row['median_seconds']:.2f}",
                f"{row['peak_rss_mib']:.0f}",
                f"{row['genotypes_x']:.2f}" if grew else "-",
                f"{row['time_x']:.2f}" if grew else "-",
                f"{row['cpu_x']:.2f}" if grew else "-",
                f"{row['peak_rss_x']:.2f}" if grew else "-",
                ("yes" if row["time_within_bound"] else "NO") if grew else "-",
                ("yes" if row["rss_flat"] else "NO") if grew else "-",
            ]
        )
    return _table(header, cells)


def pipeline_summary(result: ContestResult) -> str:
    details = [d for d in result.ours.details if d]
    if not details:
        return ""
    lines = [
        f"pipeline {result.input}: gdi materialize {result.ours.median_seconds:.1f} s vs "
        f"references summed {result.reference.median_seconds:.1f} s "
        f"(x{result.time_ratio:.2f}); medians over {len(details)} runs:"
    ]
    med = statistics.median
    for step in details[0]["steps"]:
        runs = [d["steps"][step] for d in details if step in d["steps"]]
        seconds = med(s["seconds"] or 0.0 for s in runs)
        gate = med(s.get("gate_seconds") or 0.0 for s in runs)
        recording = med(s.get("results_seconds") or 0.0 for s in runs)
        publish = med(s.get("publish_seconds") or 0.0 for s in runs)
        lines.append(
            f"  {step}: {seconds:.2f} s; gate {gate:.2f} s ({runs[0]['checks']} checks, "
            f"{recording:.2f} s of it recording results); publish {publish:.2f} s"
        )
    run_s = med(d["run_seconds"] or 0.0 for d in details)
    step_s = med(d.get("step_seconds") or 0.0 for d in details)
    gate_s = med(d["gate_seconds"] for d in details)
    lines.append(
        f"  Dagster runs {run_s:.1f} s of {result.ours.median_seconds:.1f} s wall "
        f"(the rest: interpreter, imports, definitions, instance); steps {step_s:.1f} s; "
        f"quality gates {gate_s:.2f} s = {100 * gate_s / step_s:.1f}% of the steps' time, "
        f"{100 * gate_s / run_s:.1f}% of the runs, "
        f"{100 * result.notes['gate_share_of_wall_median']:.1f}% of wall; of which the "
        f"Great Expectations suites {med(d.get('suite_seconds', 0.0) for d in details):.2f} s = "
        f"{100 * result.notes.get('suite_share_of_steps_median', 0.0):.1f}% of the steps' time"
    )
    return "\n".join(lines)
