"""`harmonised_variants` through Dagster on the real 1000 Genomes slice (GRCh37 -> GRCh38)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from pyliftover import LiftOver

from gdi_pipelines.config import load_settings
from gdi_pipelines.defs.partitions import country_batch_partitions
from gdi_pipelines.defs.variants import build_variants_defs
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines_tests.defs.landing_fixtures import KEY, materialise, write_batch

DATA = Path(__file__).resolve().parents[1] / "data" / "variants"
VCF = DATA / "beagle_1kgp1_chr22_20Mb.vcf.gz"
FASTA = DATA / "GRCh37_22_1-21000000_Npadded.fa.gz"
CHAIN = DATA / "hg19ToHg38.over.chain.gz"


def vcf_samples() -> list[str]:
    out = subprocess.run(["bcftools", "query", "-l", str(VCF)], capture_output=True, text=True)
    return out.stdout.split()


@pytest.fixture
def node(gdi_home: Path, monkeypatch: pytest.MonkeyPatch):
    reference = gdi_home / "reference"
    reference.mkdir(parents=True)
    catalogue = {
        "GRCh37": {"fasta": str(FASTA), "chain_to_GRCh38": str(CHAIN)},
        "GRCh38": {"fasta": None},
    }
    (reference / "builds.json").write_text(json.dumps(catalogue))
    monkeypatch.setenv("GDI_COUNTRIES", "SE")
    monkeypatch.setenv("GDI_PSEUDONYM_KEY", KEY)
    settings = load_settings()
    defs = build_variants_defs(country_batch_partitions(settings.countries))
    return settings, dg.DagsterInstance.ephemeral(), defs


def land(settings, batch: str, samples: list[str]) -> Path:
    files = {
        "variants/SE.vcf.gz": (VCF, "variants", "VCF", {"build": "GRCh37"}),
        "variants/SE.vcf.gz.tbi": (Path(f"{VCF}.tbi"), "index", "TBI", {}),
    }
    folder = Path(settings.node("SE").landing.uri) / batch
    return write_batch(folder, "SE", batch, samples, files)


def bcftools_calls_on_grch38() -> set[tuple]:
    """bcftools norm -m -any -f, non-hom-ref calls and no-calls, lifted with pyliftover."""
    norm = subprocess.Popen(
        ["bcftools", "norm", "-m", "-any", "-f", str(FASTA), "-Ou", str(VCF)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    query = subprocess.run(
        ["bcftools", "query", "-f", r"[%CHROM\t%POS\t%REF\t%ALT\t%SAMPLE\t%GT\n]"],
        stdin=norm.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    lift = LiftOver(str(CHAIN))
    expected = set()
    for line in query.stdout.splitlines():
        chrom, pos, ref, alt, sample, gt = line.split("\t")
        if alt.startswith("<"):
            continue  # symbolic alleles are rejected, with reason
        alleles = gt.replace("|", "/").split("/")
        if all(a == "0" for a in alleles):
            continue
        dosage = None if "." in alleles else sum(a == "1" for a in alleles)
        lifted = lift.convert_coordinate(f"chr{chrom}", int(pos) - 1)
        assert lifted and len(lifted) == 1 and lifted[0][2] == "+"
        new_chrom, new_pos0 = lifted[0][0], lifted[0][1]
        expected.add((new_chrom, new_pos0 + 1, ref, alt, sample, dosage))
    return expected


def test_published_calls_equal_bcftools_lifted_by_pyliftover(node):
    settings, instance, defs = node
    samples = vcf_samples()
    land(settings, "b001", samples)
    result = materialise(instance, defs, "SE", "b001")
    assert result.success
    warehouse = settings.node("SE").warehouse
    calls = TableRef(warehouse.child("harmonised_variants")).read()
    by_pseudonym = {pseudonymise(KEY.encode(), "SE", s): s for s in samples}
    published = {
        (c, p, r, a, by_pseudonym[s], d)
        for c, p, r, a, s, d in calls.select(
            "chrom", "pos", "ref", "alt", "sample", "dosage"
        ).iter_rows()
    }
    assert published == bcftools_calls_on_grch38()
    key = pl.format("{}-{}-{}-{}", "chrom", "pos", "ref", "alt")
    assert calls.select((pl.col("variant_id") == key).all()).item()
    rejects = TableRef(warehouse.child("variant_rejects")).read()
    assert rejects["reason"].to_list() == ["symbolic_allele"]
    sites = TableRef(warehouse.child("variant_sites")).read()
    assert set(sites["variant_id"]) >= set(calls["variant_id"])
    assert sites["variant_id"].is_unique().all()
    listed = TableRef(warehouse.child("variant_samples")).read()
    assert set(listed["sample"]) == set(by_pseudonym)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert all(e.passed for e in checks.values()), {n: e.passed for n, e in checks.items()}
    assert checks["ref_matches_reference"].metadata["mismatches"].value == 0


def test_region_shards_in_two_processes_publish_the_same_calls(node):
    settings, instance, defs = node
    samples = vcf_samples()
    land(settings, "b001", samples)
    assert materialise(instance, defs, "SE", "b001").success
    table = TableRef(settings.node("SE").warehouse.child("harmonised_variants"))
    columns = ["sample", "variant_id", "dosage", "ploidy"]
    one = table.read().select(columns).sort(columns)
    two_processes = {"ops": {"harmonised_variants": {"config": {"processes": 2}}}}
    assert materialise(instance, defs, "SE", "b001", run_config=two_processes).success
    assert table.read().select(columns).sort(columns).equals(one)


def test_gate_failure_publishes_nothing(node):
    settings, instance, defs = node
    samples = vcf_samples()
    land(settings, "b001", samples)
    assert materialise(instance, defs, "SE", "b001").success
    table = TableRef(settings.node("SE").warehouse.child("harmonised_variants"))
    version = table.version()
    strict = {"ops": {"harmonised_variants": {"config": {"reject_rate_ceiling": 0.0}}}}
    failed = materialise(instance, defs, "SE", "b001", run_config=strict)
    assert not failed.success
    checks = {e.check_name: e for e in failed.get_asset_check_evaluations()}
    assert not checks["reject_rate_below_ceiling"].passed
    assert "symbolic_allele (1)" in checks["reject_rate_below_ceiling"].metadata["failures"].value
    assert table.version() == version


def test_sample_missing_from_vcf_blocks(node):
    settings, instance, defs = node
    land(settings, "b002", [*vcf_samples(), "SE-LAB-GHOST"])
    result = materialise(instance, defs, "SE", "b002")
    assert not result.success
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}
    samples = check["manifest_samples_match_vcf"]
    assert not samples.passed and samples.metadata["missing"].value == 1
    ghost = pseudonymise(KEY.encode(), "SE", "SE-LAB-GHOST")
    assert ghost in samples.metadata["failures"].value
    assert TableRef(settings.node("SE").warehouse.child("harmonised_variants")).version() is None
