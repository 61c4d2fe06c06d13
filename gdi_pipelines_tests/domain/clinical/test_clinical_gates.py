"""Each clinical gate fails on the defect it guards against, and passes on clean rows."""

from __future__ import annotations

import polars as pl

from gdi_pipelines.defs.clinical import SCHEMA
from gdi_pipelines.domain.clinical import gates
from gdi_pipelines.domain.clinical.ontology import hpo_index
from gdi_pipelines.domain.pseudonym import pseudonymise


def person(**changes) -> dict:
    row = {
        "country": "SE",
        "batch_id": "b001",
        "sample": pseudonymise(b"k" * 20, "SE", "S1"),
        "sex_at_birth": "female",
        "administrative_gender": "female",
        "year_of_birth": 1980,
        "age_band": "40-49",
        "country_of_origin": "SE",
        "diagnoses": [{"id": "ICD10:Q87.4", "label": "Marfan syndrome"}],
        "observed_hpo": [{"id": "HP:0001166", "label": "Arachnodactyly"}],
        "excluded_hpo": [],
        "hpo_ancestors": ["HP:0001166"],
        "affected": True,
        "disease_onset": None,
        "consent_codes": [],
        "source_format": "csv",
        "source_file": "clinical/registry_export.csv",
        "source_record": "line 2",
    }
    return row | changes


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA)


def test_clean_rows_pass_every_blocking_gate():
    staged = frame(person(), person(sample=pseudonymise(b"k" * 20, "SE", "S2")))
    for outcome in (
        gates.pseudonyms(staged),
        gates.sex_vocabulary(staged),
        gates.birth_years(staged),
        gates.ontology_codes(staged),
        gates.no_identifiers(staged, ["S1", "S2"]),
    ):
        assert outcome.passed, outcome


def test_each_defect_fails_its_gate_naming_the_record():
    obsolete = next(t for t in hpo_index().terms.values() if t.obsolete and t.replaced_by)
    cases = [
        (gates.pseudonyms, frame(person(sample="S1")), "'S1' is not a pseudonym"),
        (gates.pseudonyms, frame(person(), person()), "appears on more than one row"),
        (gates.sex_vocabulary, frame(person(sex_at_birth="K")), "sex_at_birth 'K'"),
        (gates.birth_years, frame(person(year_of_birth=2999)), "year of birth 2999"),
        (
            gates.ontology_codes,
            frame(person(observed_hpo=[{"id": "HP:9999999", "label": None}])),
            "HP:9999999",
        ),
        (
            gates.ontology_codes,
            frame(person(observed_hpo=[{"id": obsolete.id, "label": None}])),
            f"{obsolete.id} is not current",
        ),
        (
            gates.ontology_codes,
            frame(person(diagnoses=[{"id": "ICD10:Z99.99", "label": None}])),
            "ICD10:Z99.99",
        ),
    ]
    for gate, staged, expected in cases:
        outcome = gate(staged)
        assert outcome.blocks, (gate, staged)
        assert any(expected in line for line in outcome.failures), outcome.failures
        assert all("line 2" in line for line in outcome.failures if "appears" not in line)


def personnummer(birth: str, serial: str) -> str:
    """A Swedish personal number with a valid Luhn check digit (birth YYMMDD, serial NNN)."""
    digits = [int(c) for c in birth + serial]
    total = sum(sum(divmod(d * (2 - i % 2), 10)) for i, d in enumerate(digits))
    return f"19{birth}-{serial}{(10 - total % 10) % 10}"


def test_identifiers_gate_finds_personnummer_and_lab_sample_ids():
    leaked = frame(person(source_record=f"line 2 ({personnummer('850312', '238')})"))
    assert gates.no_identifiers(leaked, []).blocks
    lab_id = frame(person(source_file="clinical/phenopackets/SE-LAB-000123.json"))
    outcome = gates.no_identifiers(lab_id, ["SE-LAB-000123"])
    assert outcome.blocks and "lab sample id" in outcome.failures[0]
    assert "SE-LAB-000123" not in " ".join(outcome.failures)


def test_coverage_and_rejects_only_warn():
    staged = frame(person())
    outcome = gates.coverage(staged, [staged["sample"][0], "SE-" + "0" * 24])
    assert not outcome.passed and not outcome.blocks
    assert outcome.figures["samples_without_record"] == 1
