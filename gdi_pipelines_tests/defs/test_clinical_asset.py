"""`clinical_phenotypes` through Dagster on the real Phenopackets and FHIR bundle."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gdi_pipelines.config import load_settings
from gdi_pipelines.defs.clinical import build_clinical_defs
from gdi_pipelines.defs.partitions import CountryBatch, country_batch_partitions
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.domain.clinical.ontology import PHENOTYPIC_ABNORMALITY
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines_tests.defs.landing_fixtures import KEY, materialise, write_batch

CLINICAL = Path(__file__).resolve().parents[1] / "data" / "clinical"


def real_files() -> dict:
    files = {
        f"clinical/phenopackets/{p.name}": (p, "clinical", "PHENOPACKET", {})
        for p in sorted(CLINICAL.glob("rarelink_evco_*.json"))
    }
    files["clinical/fhir_bundle.json"] = (
        CLINICAL / "Bundle-rarelink-example.json",
        "clinical",
        "FHIR",
        {},
    )
    return files


def subject_ids() -> list[str]:
    ids = []
    for path in sorted(CLINICAL.glob("rarelink_evco_*.json")):
        packet = json.loads(path.read_text())
        biosamples = packet.get("biosamples") or []
        ids.append(biosamples[0]["id"] if biosamples else packet["subject"]["id"])
    return ids


@pytest.fixture
def node(gdi_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GDI_COUNTRIES", "SE")
    monkeypatch.setenv("GDI_PSEUDONYM_KEY", KEY)
    settings = load_settings()
    defs = build_clinical_defs(country_batch_partitions(settings.countries))
    return settings, dg.DagsterInstance.ephemeral(), defs


def test_real_exports_publish_one_row_per_person(node):
    settings, instance, defs = node
    samples = subject_ids()
    folder = Path(settings.node("SE").landing.uri) / "b001"
    write_batch(folder, "SE", "b001", samples, real_files())
    result = materialise(instance, defs, "SE", "b001")
    assert result.success
    warehouse = settings.node("SE").warehouse
    persons = TableRef(warehouse.child("clinical_phenotypes")).read()
    expected = {pseudonymise(KEY.encode(), "SE", s) for s in samples}
    assert set(persons["sample"]) == expected and persons.height == len(samples)
    text = persons.select(pl.col(pl.String)).write_csv()
    assert not any(s in text for s in samples), "lab sample ids are redacted everywhere"
    with_phenotype = persons.filter(
        pl.col("hpo_ancestors").list.contains(PHENOTYPIC_ABNORMALITY)
    ).height
    assert with_phenotype == persons.filter(pl.col("observed_hpo").list.len() > 0).height > 0
    rejects = TableRef(warehouse.child("clinical_rejects")).read()
    # the FHIR bundle's patient is also a phenopacket: dropped as a duplicate, with reason
    assert rejects.filter(pl.col("reason").str.contains("already read")).height == 1
    assert (rejects["source_file"].str.len_chars() > 0).all()
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["no_national_identifiers"] and checks["only_valid_ontology_codes"]
    assert not checks["no_rejected_records"], "rejects are reported as a warning"


def test_malformed_file_is_rejected_and_the_rest_published(node):
    settings, instance, defs = node
    samples = subject_ids()
    files = real_files()
    broken = b'{"id": "x",\n  "subject": }'
    files["clinical/phenopackets/broken.json"] = (broken, "clinical", "PHENOPACKET", {})
    folder = Path(settings.node("SE").landing.uri) / "b002"
    write_batch(folder, "SE", "b002", samples, files)
    result = materialise(instance, defs, "SE", "b002")
    assert result.success
    warehouse = settings.node("SE").warehouse
    assert TableRef(warehouse.child("clinical_phenotypes")).read().height == len(samples)
    rejects = TableRef(warehouse.child("clinical_rejects")).read()
    file_level = rejects.filter(pl.col("source_file") == "clinical/phenopackets/broken.json")
    assert file_level.height == 1
    assert "line 2" in file_level["reason"][0] and "not valid JSON" in file_level["reason"][0]


def test_cross_check_against_genotyped_samples(node):
    settings, instance, defs = node
    samples = subject_ids()
    folder = Path(settings.node("SE").landing.uri) / "b003"
    write_batch(folder, "SE", "b003", samples, real_files())
    pseudonyms = [pseudonymise(KEY.encode(), "SE", s) for s in samples]
    genotyped = [*pseudonyms[1:], pseudonymise(KEY.encode(), "SE", "SE-LAB-ONLY-VCF")]
    pl.DataFrame(
        {
            "country": "SE",
            "batch_id": "b003",
            "sample": genotyped,
            "sex": "unknown",
            "haploid_x_observed": False,
        }
    ).write_delta(settings.node("SE").warehouse.child("variant_samples").uri)
    instance.add_dynamic_partitions("batches", ["b003"])
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        instance=instance,
        partition_key=CountryBatch("SE", "b003").key,
        resources={"platform": PlatformResource()},
    )
    cross = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = cross["persons_match_genotyped_samples"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["persons_without_genotypes"].value == 1
    assert check.metadata["genotyped_without_record"].value == 1
    assert pseudonyms[0] in check.metadata["failures"].value
