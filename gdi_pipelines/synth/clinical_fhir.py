"""FHIR R4 export: one Bundle (type collection) per batch, built with fhir.resources R4B.

fhir.resources 8 ships R5 at top level and R4B (the R4 maintenance release, same Patient,
Condition and Observation shapes) under `fhir.resources.R4B`; there is no plain R4 package.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from gdi_pipelines.synth.clinical_catalogue import HpoTerm, RareDisease
from gdi_pipelines.synth.national_ids import id_scheme, lab_sample_system
from gdi_pipelines.synth.persons import Person
from gdi_pipelines.synth.seeding import stream_entropy

HPO_SYSTEM = "http://human-phenotype-ontology.org"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
ORPHA_SYSTEM = "http://www.orpha.net"
OMIM_SYSTEM = "https://www.omim.org"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
CONDITION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-"
BUNDLE_FILE = "fhir_bundle.json"


def _uuid(seed: int, *labels: object) -> str:
    return str(uuid.UUID(int=stream_entropy(seed, "fhir", *labels), version=4))


def _patient(person: Person, country: str, resource_id: str) -> Patient:
    _, national_system = id_scheme(country)
    return Patient(
        id=resource_id,
        identifier=[
            {"use": "official", "system": national_system, "value": person.national_id},
            {"use": "secondary", "system": lab_sample_system(country), "value": person.sample_id},
        ],
        gender=person.sex,
        birthDate=str(person.birth_year),
        extension=[{"url": BIRTH_PLACE, "valueAddress": {"country": person.origin_country}}],
    )


def _condition(
    person: Person, disease: RareDisease, resource_id: str, patient_ref: str
) -> Condition:
    codings = [
        {"system": ICD10_SYSTEM, "code": disease.icd10, "display": disease.icd10_label},
        {
            "system": ORPHA_SYSTEM,
            "code": disease.orpha.removeprefix("ORPHA:"),
            "display": disease.orpha_label,
        },
    ]
    if person.coded_with_omim:
        omim = disease.omim.removeprefix("OMIM:")
        codings.append({"system": OMIM_SYSTEM, "code": omim, "display": disease.omim_label})
    return Condition(
        id=resource_id,
        clinicalStatus={"coding": [{"system": CONDITION_SYSTEM + "clinical", "code": "active"}]},
        verificationStatus={
            "coding": [{"system": CONDITION_SYSTEM + "ver-status", "code": "confirmed"}]
        },
        code={"coding": codings, "text": disease.orpha_label},
        subject={"reference": patient_ref},
        onsetAge={
            "value": person.onset_age or 0,
            "unit": "a",
            "system": "http://unitsofmeasure.org",
            "code": "a",
        },
    )


def _observation(term: HpoTerm, present: bool, resource_id: str, patient_ref: str) -> Observation:
    return Observation(
        id=resource_id,
        status="final",
        code={"coding": [{"system": HPO_SYSTEM, "code": term.id, "display": term.label}]},
        subject={"reference": patient_ref},
        valueBoolean=present,
    )


def build_bundle(
    persons: list[Person], country: str, batch_id: str, created: datetime, seed: int
) -> Bundle:
    entries: list[BundleEntry] = []

    def add(resource: Patient | Condition | Observation) -> str:
        full_url = f"urn:uuid:{resource.id}"
        entries.append(BundleEntry(fullUrl=full_url, resource=resource))
        return full_url

    for person in persons:
        keys = (country, batch_id, person.sample_id)
        patient_ref = add(_patient(person, country, _uuid(seed, *keys, "patient")))
        if person.disease is not None:
            condition_id = _uuid(seed, *keys, "condition")
            add(_condition(person, person.disease, condition_id, patient_ref))
        findings = [(t, True) for t in person.observed] + [(t, False) for t in person.excluded]
        for term, present in findings:
            resource_id = _uuid(seed, *keys, "observation", term.id)
            add(_observation(term, present, resource_id, patient_ref))
    return Bundle(
        id=_uuid(seed, country, batch_id, "bundle"),
        type="collection",
        timestamp=created.isoformat(),
        entry=entries,
    )


def write_fhir_bundle(
    folder: Path, persons: list[Person], country: str, batch_id: str, created: datetime, seed: int
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BUNDLE_FILE
    bundle = build_bundle(persons, country, batch_id, created, seed)
    path.write_text(bundle.json(indent=2) + "\n", encoding="utf-8")
    return path
