"""One small synthetic cohort, generated once per test session and shared by the synth tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from gdi_pipelines.domain.manifest import MANIFEST_NAME, Manifest, parse_manifest
from gdi_pipelines.synth.cohort import CohortSpec, SynthReport, generate_cohort

SMALL_SPEC = CohortSpec(
    countries=("SE", "DK", "FI", "NO"),
    batches_per_country=2,
    samples_per_batch=16,
    variants_per_batch=1500,
    reads_per_sample=40,
    contig_length=100_000,
    n_autosomes=2,
    seed=7,
)


@dataclass(frozen=True)
class Cohort:
    spec: CohortSpec
    report: SynthReport
    truth_dir: Path
    builds: dict

    def batch_dir(self, country: str, batch_id: str) -> Path:
        return self.report.landing_dir / country / batch_id

    def manifest(self, country: str, batch_id: str) -> Manifest:
        path = self.batch_dir(country, batch_id) / MANIFEST_NAME
        return parse_manifest(path.read_bytes(), str(path))

    def vcf(self, country: str, batch_id: str) -> Path:
        return self.batch_dir(country, batch_id) / "variants" / f"{country}_{batch_id}.vcf.gz"

    def fasta(self, build: str) -> Path:
        return self.report.reference_dir / self.builds[build]["fasta"]


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    root = tmp_path_factory.mktemp("synth_cohort")
    report = generate_cohort(SMALL_SPEC, root / "landing", root / "reference", root / "truth")
    builds = json.loads((report.reference_dir / "builds.json").read_text())
    return Cohort(SMALL_SPEC, report, root / "truth", builds)
