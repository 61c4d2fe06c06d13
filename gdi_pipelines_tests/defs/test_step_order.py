"""harmonised_variants goes first among a batch's ready steps (Dagster runs ready steps in
order of their `dagster/priority` tag): it is the run's longest step and its largest working
set, staged before any other step's suite has imported GX."""

from __future__ import annotations

from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs.jobs import INGEST_JOB


def test_harmonised_variants_has_the_highest_priority_of_the_batch_steps() -> None:
    job = build_definitions(("SE",), executor="in_process").resolve_job_def(INGEST_JOB)
    priority = {
        node.name: int(node.definition.tags.get("dagster/priority", 0)) for node in job.graph.nodes
    }
    first = max(priority.values())
    assert [name for name, p in priority.items() if p == first] == ["harmonised_variants"]
