"""Keep Delta tables healthy: compact small files, then vacuum files no version within the
retention still needs (time travel stays possible within it)."""

from __future__ import annotations

from dataclasses import dataclass

from deltalake import DeltaTable

from gdi_pipelines.config.locations import Location
from gdi_pipelines.storage.delta import storage_options
from gdi_pipelines.storage.objectstore import store_for

LOG_DIR = "_delta_log"


@dataclass(frozen=True)
class MaintenanceResult:
    table_uri: str
    version_before: int
    version_after: int
    files_compacted: int
    files_vacuumed: int


def find_tables(root: Location) -> list[Location]:
    """Every Delta table below `root` (a folder holding `_delta_log/`), staging excluded."""
    tables = set()
    for obj in store_for(root).list(root.uri):
        parts = obj.relative.split("/")
        if LOG_DIR in parts and not parts[0].startswith("_"):
            tables.add("/".join(parts[: parts.index(LOG_DIR)]))
    return [root.child(t) for t in sorted(tables)]


def maintain(table: Location, retention_days: int) -> MaintenanceResult:
    dt = DeltaTable(table.uri, storage_options=storage_options(table))
    before = dt.version()
    compacted = dt.optimize.compact()
    removed = dt.vacuum(
        retention_hours=retention_days * 24,
        dry_run=False,
        enforce_retention_duration=False,  # the node's own retention setting rules
    )
    return MaintenanceResult(
        table.uri,
        before,
        dt.version(),
        int(compacted.get("numFilesRemoved", 0)),
        len(removed),
    )
