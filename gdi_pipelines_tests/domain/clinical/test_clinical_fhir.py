from __future__ import annotations

import copy
import json

import pytest

from gdi_pipelines.domain.clinical import ClinicalFormatError, read_fhir_bundle, read_phenopacket
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines_tests.domain.clinical.clinical_oracles import FHIR_BUNDLE, PHENOPACKETS, obo

KEY = b"f" * 32
YEAR = 2025
HPO_SYSTEM = "http://purl.obolibrary.org/obo/hp.owl"
PATIENT_ID = "8462c600fc75951df56a81973c0cede1"


def _pseudo(sample_id: str) -> str:
    return pseudonymise(KEY, "FI", sample_id)


def _read(doc: dict | None = None, source: str = "bundle.json"):
    data = FHIR_BUNDLE if doc is None else json.dumps(doc).encode()
    return read_fhir_bundle(data, source, pseudonymise=_pseudo, reference_year=YEAR)


def _doc() -> dict:
    return json.loads(FHIR_BUNDLE.read_text())


def _resources(doc: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == kind]


def _hpo_in_source(doc: dict) -> list[str]:
    return [
        f"HP:{c['code']}"
        for obs in _resources(doc, "Observation")
        for c in obs["code"]["coding"]
        if "hp.owl" in c["system"]
    ]


def _entry(resource: dict) -> dict:
    return {"resource": resource}


def _observation(oid: str, code: str, patient: str = PATIENT_ID, **extra) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": HPO_SYSTEM, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        **extra,
    }


def test_every_hpo_and_disease_code_of_the_real_bundle_is_accounted_for():
    doc = _doc()
    source_hpo = _hpo_in_source(doc)
    assert len(source_hpo) == len(set(source_hpo)) > 0
    batch = _read()
    [record] = batch.records
    kept = {t.id for t in record.observed_hpo + record.excluded_hpo}
    replaced = {r.old_id: r.new_id for r in batch.replacements}
    rejected = {r.value for r in batch.rejects if r.field.endswith("_hpo")}
    outcomes = {}
    for curie in source_hpo:
        if curie in replaced and replaced[curie] in kept:
            outcomes[curie] = "replaced"
        elif curie in kept:
            outcomes[curie] = "kept"
        elif curie in rejected:
            outcomes[curie] = "rejected"
    assert outcomes == {c: obo().expected(c) for c in source_hpo}
    assert len(kept) + len(replaced) + len(rejected) == len(source_hpo)
    conditions = _resources(doc, "Condition")
    source_diseases = {f"MONDO:{c['code']}" for r in conditions for c in r["code"]["coding"]}
    assert {t.id for t in record.diagnoses} == source_diseases


def test_real_bundle_person_fields():
    doc = _doc()
    [patient] = _resources(doc, "Patient")
    [record] = _read().records
    assert record.sample_id == _pseudo(patient["identifier"][0]["value"])
    assert record.administrative_gender == patient["gender"]
    assert record.sex_at_birth == "female"  # recordedSexOrGender: LOINC LA3-6, "Sex at Birth"
    assert record.year_of_birth == int(patient["birthDate"][:4])
    assert record.source_format == "fhir" and record.source_record == f"Patient/{PATIENT_ID}"
    assert record.affected is True


def test_invalid_birth_country_code_is_rejected_and_the_person_kept():
    doc = _doc()
    birth_place = _resources(doc, "Patient")[0]["extension"][0]["extension"][0]
    code = birth_place["valueCodeableConcept"]["coding"][0]["code"]  # "JAP" is not ISO 3166
    batch = _read()
    assert batch.records[0].country_of_origin is None
    [reject] = [r for r in batch.rejects if r.field == "country_of_origin"]
    assert reject.value == code and "ISO 3166" in reject.reason


def test_the_bundle_patient_is_the_same_person_as_phenopacket_evco8():
    packet = next(p for p in PHENOPACKETS if p.name == "rarelink_evco_8.json")
    from_packet = read_phenopacket(packet, packet.name, pseudonymise=_pseudo, reference_year=YEAR)
    [a], [b] = from_packet.records, _read().records
    assert a.sample_id == b.sample_id
    assert {t.id for t in a.observed_hpo} == {t.id for t in b.observed_hpo}
    assert a.hpo_ancestors == b.hpo_ancestors
    # FHIR gives the onset as a date; turned into the age at onset it matches the phenopacket
    assert a.disease_onset == b.disease_onset and a.year_of_birth == b.year_of_birth


def test_excluded_phenotype_orphan_resource_and_invalid_resource():
    doc = _doc()
    not_present = {"system": "http://snomed.info/sct", "code": "410594000"}
    absent = {
        "url": "https://rarelink.bih-charite.de/fhir/StructureDefinition/phenotype-status",
        "valueCodeableConcept": {"coding": [not_present]},
    }
    doc["entry"] += [
        _entry(_observation("neg", "0001250", extension=[absent])),
        _entry(_observation("orphan", "0000707", patient="nobody")),
        _entry(_observation("broken", "0000118", status=["not", "a", "code"])),
        _entry(_observation("unknown-term", "9999999")),
    ]
    batch = _read(doc)
    [record] = batch.records
    assert [t.id for t in record.excluded_hpo] == ["HP:0001250"]
    by_record = {r.record: r for r in batch.rejects}
    assert by_record["Observation/orphan"].reason == "refers to no Patient in the bundle"
    broken = next(r for r in batch.rejects if "broken" in r.record)
    assert broken.record.startswith("entry ") and "invalid" in broken.reason
    unknown = next(r for r in batch.rejects if r.value == "HP:9999999")
    assert unknown.record == f"Patient/{PATIENT_ID}" and "unknown HPO term" in unknown.reason
    assert set(_hpo_in_source(_doc())) <= {t.id for t in record.observed_hpo}


def _second_patient(pid: str, identifiers: list[dict], birth: str = "1980-05-01") -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": identifiers,
        "gender": "male",
        "birthDate": birth,
    }


def test_icd10_orpha_consent_and_national_identifier_handling():
    doc = _doc()
    personnummer = {"system": "http://electronichealth.se/identifier/personnummer"}
    patient = _second_patient(
        "p2", [{**personnummer, "value": "19121212-1212"}, {"value": "LAB-77"}]
    )
    condition = {
        "resourceType": "Condition",
        "id": "c2",
        "subject": {"reference": "urn:uuid:p2-full-url"},
        "code": {
            "coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "Q87.4"},
                {"system": "http://www.orpha.net", "code": "558", "display": "Marfan syndrome"},
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "Q87.49"},
                {"system": "http://snomed.info/sct", "code": "19346006"},
            ]
        },
        "onsetAge": {"value": 3, "code": "a", "system": "http://unitsofmeasure.org"},
    }
    consent = {
        "resourceType": "Consent",
        "id": "k2",
        "status": "active",
        "scope": {"coding": [{"code": "research"}]},
        "category": [{"coding": [{"code": "research"}]}],
        "patient": {"reference": "Patient/p2"},
        "policyRule": {
            "coding": [{"system": "http://purl.obolibrary.org/obo/duo.owl", "code": "DUO:0000042"}]
        },
    }
    doc["entry"] += [
        {"fullUrl": "urn:uuid:p2-full-url", "resource": patient},
        _entry(condition),
        _entry(consent),
    ]
    batch = _read(doc)
    second = next(r for r in batch.records if r.source_record == "Patient/p2")
    assert second.sample_id == _pseudo("LAB-77")  # the personnummer is never the sample id
    assert [(t.id, t.label) for t in second.diagnoses] == [
        ("ICD10:Q87.4", "Marfan syndrome"),
        ("ORPHA:558", "Marfan syndrome"),
    ]
    assert second.disease_onset == "P3Y" and second.consent_codes == ("DUO:0000042",)
    reasons = {r.value: r.reason for r in batch.rejects if r.record == "Condition/c2"}
    rejected_icd = {r.value: r.reason for r in batch.rejects if r.record == "Patient/p2"}
    assert "unknown ICD-10" in rejected_icd["ICD10:Q87.49"]
    assert reasons["http://snomed.info/sct|19346006"] == "unsupported code system"


def test_patient_with_only_a_national_id_or_future_birth_is_dropped():
    doc = _doc()
    cpr = {"system": "urn:oid:1.2.208.176.1.2", "value": "211062-5629"}
    doc["entry"] += [
        _entry(_second_patient("only-cpr", [cpr])),
        _entry(_second_patient("future", [{"value": "LAB-9"}], birth=f"{YEAR + 3}-01-01")),
    ]
    batch = _read(doc, "b.json")
    assert {r.source_record for r in batch.records} == {f"Patient/{PATIENT_ID}"}
    fields = {r.record: r.field for r in batch.rejects if r.record.startswith("Patient/")}
    assert fields["Patient/only-cpr"] == "sample_id"
    assert fields["Patient/future"] == "year_of_birth"
    assert all("211062" not in r.value for r in batch.rejects)


def test_malformed_json_names_file_and_line():
    text = FHIR_BUNDLE.read_text().replace('"type": "transaction"', '"type": transaction', 1)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if '"type": transaction' in t)
    with pytest.raises(ClinicalFormatError, match=rf"^fhir\.json: line {line} column \d+"):
        read_fhir_bundle(text.encode(), "fhir.json", pseudonymise=_pseudo, reference_year=YEAR)


def test_a_resource_that_is_not_a_bundle_is_a_format_error():
    patient = copy.deepcopy(_resources(_doc(), "Patient")[0])
    with pytest.raises(ClinicalFormatError, match="not a FHIR Bundle"):
        _read(patient, "p.json")
