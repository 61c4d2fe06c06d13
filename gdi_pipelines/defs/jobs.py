"""Jobs: the per-batch ingest over every node-local asset."""

from __future__ import annotations

import dagster as dg

from gdi_pipelines.defs.memory import HOOKS

INGEST_JOB = "ingest_batch"
NODE_GROUPS = ("sequencing", "variants", "clinical")


def ingest_job(partitions: dg.MultiPartitionsDefinition) -> dg.UnresolvedAssetJobDefinition:
    selection = dg.AssetSelection.groups(*NODE_GROUPS)
    return dg.define_asset_job(
        INGEST_JOB,
        selection=selection,
        partitions_def=partitions,
        description="Everything a node computes for one country x batch partition.",
        hooks=HOOKS,
    )
