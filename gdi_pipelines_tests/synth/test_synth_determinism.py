"""Same spec and seed: byte-identical output; another seed: different data."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gdi_pipelines.synth.cohort import CohortSpec, generate_cohort

TINY = CohortSpec(
    countries=("SE", "DK", "FI", "NO"),
    samples_per_batch=4,
    variants_per_batch=300,
    reads_per_sample=10,
    contig_length=30_000,
    n_autosomes=1,
)


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(spec: CohortSpec, root: Path) -> dict[str, str]:
    generate_cohort(spec, root / "landing", root / "reference", root / "truth")
    return tree_digest(root)


def test_same_seed_gives_byte_identical_output(tmp_path):
    first, second = run(TINY, tmp_path / "a"), run(TINY, tmp_path / "b")
    assert len(first) > 30
    assert first == second


def test_another_seed_changes_the_data(tmp_path):
    first = run(TINY, tmp_path / "a")
    other = run(CohortSpec(**{**TINY.__dict__, "seed": TINY.seed + 1}), tmp_path / "b")
    changed = [path for path in first if first[path] != other.get(path)]
    assert "reference/GRCh38/genome.fa.gz" in changed
    assert "landing/SE/b001/variants/SE_b001.vcf.gz" in changed
    assert "landing/DK/b001/clinical/registry_export.csv" in changed
