"""Two real-data nodes, harmonised once per session: the 1000 Genomes beagle slice (191
samples, GT only) and the GATK hapmap exome file (22 samples, GQ/DP masking, FILTERs), cut
into batches of three pseudo-countries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from gdi_pipelines.domain.aggregates.sample_qc import SampleQcConfig, sample_qc
from gdi_pipelines.domain.aggregates.variant_summaries import variant_summaries
from gdi_pipelines.domain.variants.harmonise import HarmoniseConfig
from gdi_pipelines_tests.domain.aggregates.aggregates_oracles import (
    Batch,
    Harmonised,
    harmonise_batches,
    own_ref_fasta,
    vcf_samples,
)
from gdi_pipelines_tests.domain.variants.variants_oracles import BEAGLE, GRCH37_FASTA, HAPMAP

BUILD = "GRCh37"  # no liftover: the bcftools side stays on the source coordinates


@dataclass
class Node:
    harmonised: Harmonised
    batches: list[Batch]
    fasta: Path
    masked: bool  # GQ/DP masking applies (FORMAT GQ/DP present)
    qc: pl.DataFrame
    summaries: pl.DataFrame
    folder: Path


def _node(vcf: Path, fasta: Path, batches: list[Batch], masked: bool, folder: Path) -> Node:
    config = HarmoniseConfig(source_build=BUILD, source_fasta=fasta, target_build=BUILD)
    harmonised = harmonise_batches(vcf, batches, config, folder)
    calls, sites = harmonised.calls.lazy(), harmonised.sites.lazy()
    qc = sample_qc(calls, sites, harmonised.samples.lazy(), config=SampleQcConfig(build=BUILD))
    qc = qc.collect(engine="streaming")
    summaries = variant_summaries(calls, sites, qc.lazy(), build=BUILD)
    return Node(
        harmonised, batches, fasta, masked, qc, summaries.collect(engine="streaming"), folder
    )


@pytest.fixture(scope="session")
def beagle_node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    """AA: two batches, the second genotyped only 22:20,000,000-20,050,000; BB; CC (11)."""
    s = vcf_samples(BEAGLE)
    batches = [
        Batch("AA", "b001", tuple(s[0:60])),
        Batch("AA", "b002", tuple(s[60:100]), region="22:20000000-20050000"),
        Batch("BB", "b001", tuple(s[100:180])),
        Batch("CC", "b001", tuple(s[180:191])),
    ]
    folder = tmp_path_factory.mktemp("beagle")
    return _node(BEAGLE, GRCH37_FASTA, batches, masked=False, folder=folder)


@pytest.fixture(scope="session")
def hapmap_node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    s = vcf_samples(HAPMAP)
    batches = [
        Batch("AA", "b001", tuple(s[0:8])),
        Batch("BB", "b001", tuple(s[8:15])),
        Batch("CC", "b001", tuple(s[15:22])),
    ]
    folder = tmp_path_factory.mktemp("hapmap")
    fasta = own_ref_fasta(HAPMAP, "22", folder)
    return _node(HAPMAP, fasta, batches, masked=True, folder=folder)
