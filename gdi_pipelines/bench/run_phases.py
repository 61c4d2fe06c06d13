"""Where `gdi materialize` spent its time, read back from the Dagster event log.

Per step: its duration and, for an asset step with checks, three phases:
- gate: from the asset's last own log line before its checks (not counting the Great
  Expectations "rows validated" line) to its last check result: the domain gates and the GX
  suite computed on the staged rows, plus Dagster recording each check result;
- results: first to last check result (Dagster recording them, part of the gate phase);
- publish: last check result to the materialization (the Delta commit of the partition);
- suite: the Great Expectations suite's own time (as the step logs it, Data Docs included).
A step that only runs a check counts whole as gate time. Caveat: `raw_sequences` and
`clinical_phenotypes` log before they stage their (small) tables, so their gate phase also
holds that staging; `harmonised_variants` logs after staging, so its gate phase is checks only.
"""

from __future__ import annotations

import re
from pathlib import Path

CHECK = "ASSET_CHECK_EVALUATION"
STEP_END = ("STEP_SUCCESS", "STEP_FAILURE")
RUN_END = ("PIPELINE_SUCCESS", "PIPELINE_FAILURE")
GX_LOG = re.compile(r"rows validated in ([0-9.]+) s")


def _kind(entry) -> str:
    return entry.dagster_event.event_type_value if entry.dagster_event else "LOG"


def _step_phases(entries: list) -> dict:
    kinds = [_kind(e) for e in entries]
    times = [e.timestamp for e in entries]
    starts = [t for t, k in zip(times, kinds, strict=True) if k == "STEP_START"]
    ends = [t for t, k in zip(times, kinds, strict=True) if k in STEP_END]
    phases = {
        "seconds": (ends[-1] - starts[0]) if starts and ends else None,
        "log_lines": kinds.count("LOG"),
        "checks": kinds.count(CHECK),
    }
    suite = [GX_LOG.search(e.user_message or "") for e in entries if _kind(e) == "LOG"]
    phases["suite_seconds"] = sum(float(m.group(1)) for m in suite if m)
    checks = [i for i, k in enumerate(kinds) if k == CHECK]
    if not checks:
        return phases
    phases["results_seconds"] = times[checks[-1]] - times[checks[0]]
    own_logs = [
        i
        for i, k in enumerate(kinds[: checks[0]])
        if k == "LOG" and not GX_LOG.search(entries[i].user_message or "")
    ]
    if not own_logs:  # a step that only evaluates checks
        phases["gate_seconds"] = phases["seconds"]
        return phases
    phases["gate_seconds"] = times[checks[-1]] - times[own_logs[-1]]
    done = [i for i, k in enumerate(kinds) if k == "ASSET_MATERIALIZATION" and i > checks[-1]]
    if done:
        phases["publish_seconds"] = times[done[0]] - times[checks[-1]]
    return phases


def run_phases(dagster_home: Path) -> dict:
    """Phases of every run of the instance in `dagster_home` (`gdi materialize` runs the
    ingest job, then the federation refresh), steps keyed by step key, times summed."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        logs = [instance.all_logs(run.run_id) for run in reversed(instance.get_runs())]
    finally:
        instance.dispose()
    steps: dict[str, dict] = {}
    run_seconds = 0.0
    for entries in logs:
        by_step: dict[str, list] = {}
        for entry in entries:
            if entry.step_key:
                by_step.setdefault(entry.step_key, []).append(entry)
        start = next((e.timestamp for e in entries if _kind(e) == "PIPELINE_START"), None)
        end = next((e.timestamp for e in entries if _kind(e) in RUN_END), None)
        run_seconds += (end - start) if start and end else 0.0
        steps |= {key: _step_phases(step) for key, step in by_step.items()}
    if not logs:
        return {}
    return {
        "runs": len(logs),
        "run_seconds": run_seconds,
        "step_seconds": sum(s.get("seconds") or 0.0 for s in steps.values()),
        "gate_seconds": sum(s.get("gate_seconds") or 0.0 for s in steps.values()),
        "suite_seconds": sum(s["suite_seconds"] for s in steps.values()),
        "publish_seconds": sum(s.get("publish_seconds") or 0.0 for s in steps.values()),
        "events": sum(len(entries) for entries in logs),
        "steps": steps,
    }
