"""One synthetic network, run once per session through Dagster: three countries (SE with two
batches), every ingest partition, then the federation job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import Settings, load_settings
from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs import federation, summaries
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.orchestrate import RunSummary, materialise, refresh_federation
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines_tests.defs.landing_fixtures import KEY

COUNTRIES = ("SE", "DK", "FI")
BATCH_IDS = ("b001", "b002")
# positions summarised / pooled at once: small, so every contig is cut into several regions
# and the tests comparing with one pass over all rows see the cuts
REGION_POSITIONS = 20


@dataclass
class FederatedNode:
    home: Path
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    runs: list[RunSummary]
    environment: dict[str, str]

    def node_table(self, country: str, table: str) -> pl.DataFrame:
        return TableRef(self.settings.node(country).warehouse.child(table)).read()

    def federation_table(self, table: str) -> pl.DataFrame:
        return TableRef(self.settings.federation.child(table)).read()

    def raw_sample_ids(self) -> set[str]:
        ids = set()
        for manifest in self.home.glob("landing/*/*/manifest.json"):
            ids |= {s["sample_id"] for s in json.loads(manifest.read_text())["samples"]}
        return ids

    def pseudonyms(self) -> set[str]:
        return {
            s
            for c in COUNTRIES
            for table in ("variant_samples", "clinical_phenotypes", "sample_qc")
            for s in self.node_table(c, table)["sample"].to_list()
        }


def federated_node(tmp_path_factory: pytest.TempPathFactory) -> FederatedNode:
    home = tmp_path_factory.mktemp("federated") / "gdi-home"
    environment = {
        "GDI_HOME": str(home),
        "GDI_COUNTRIES": ",".join(COUNTRIES),
        "GDI_PSEUDONYM_KEY": KEY,
        "GX_ANALYTICS_ENABLED": "false",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.setattr(summaries, "REGION_POSITIONS", REGION_POSITIONS)
        patch.setattr(federation, "REGION_POSITIONS", REGION_POSITIONS)
        args = ["--batches", "2", "--samples", "24", "--variants", "700", "--reads", "20"]
        assert gdi(["synth", *args]) == 0
        settings = load_settings()
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(BATCHES.name, list(BATCH_IDS))
        defs = build_definitions(settings.countries, "in_process")
        partitions = [CountryBatch(c, b) for c in COUNTRIES for b in BATCH_IDS]
        # DK and FI publish one batch only: the federation must not need every partition
        partitions = [p for p in partitions if p.country == "SE" or p.batch_id == "b001"]
        runs = materialise(defs, instance, partitions)
        runs.append(refresh_federation(defs, instance))
    return FederatedNode(home, settings, defs, instance, runs, environment)
