"""The one door from the federation to the nodes: their summary tables, nothing else.

Federation assets get a `NodeSummaries`, never a node's warehouse: asking it for any table
outside SHARED_TABLES (calls, samples, sample QC, clinical rows) raises, so no person-level
table can reach the shared zone by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from gdi_pipelines.config.nodes import NodeConfig
from gdi_pipelines.storage.delta import TableRef

SHARED_TABLES = frozenset({"country_variant_summaries", "country_cohort_counts"})


class NotASummaryError(PermissionError):
    """A federation read of a node table that is not one of the shared summaries."""


@dataclass(frozen=True)
class SummaryInput:
    country: str
    version: int
    frame: pl.LazyFrame


class NodeSummaries:
    def __init__(self, nodes: Sequence[NodeConfig]):
        self._nodes = tuple(nodes)

    def read(self, table: str) -> list[SummaryInput]:
        """Every node's published `table` (nodes that have not published it yet are left out),
        each pinned to the version read, for lineage."""
        if table not in SHARED_TABLES:
            raise NotASummaryError(
                f"federation code may read only {sorted(SHARED_TABLES)} of a node, not {table!r}"
            )
        found = []
        for node in self._nodes:
            ref = TableRef(node.warehouse.child(table))
            version = ref.version()
            if version is not None:
                frame = ref.scan(version).filter(pl.col("country") == node.country)
                found.append(SummaryInput(node.country, version, frame))
        return found
