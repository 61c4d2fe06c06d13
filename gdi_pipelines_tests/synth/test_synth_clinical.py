"""Clinical exports: every file parses back, ids and codes are consistent with the batch."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date

import polars as pl
from fhir.resources.R4B.bundle import Bundle
from google.protobuf.json_format import Parse
from phenopackets import Phenopacket, Sex

from gdi_pipelines.domain.manifest import FileFormat, FileKind
from gdi_pipelines.synth.clinical_catalogue import OBSOLETE_TERMS
from gdi_pipelines.synth.countries import DANISH_COLUMNS, NORWEGIAN_COLUMNS, country_profile
from gdi_pipelines.synth.persons import batch_persons
from gdi_pipelines.synth.samples import batch_samples

FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def clinical_files(cohort, country, batch_id):
    manifest = cohort.manifest(country, batch_id)
    entries = manifest.files_of(FileKind.CLINICAL)
    sexes = {s.sample_id: s.reported_sex for s in manifest.samples}
    return [cohort.batch_dir(country, batch_id) / e.path for e in entries], entries, sexes


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def norwegian_ok(number: str) -> bool:
    d = [int(c) for c in number]
    k1 = 11 - sum(a * b for a, b in zip(d[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
    k2 = 11 - sum(a * b for a, b in zip(d[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    return d[9] == k1 % 11 and d[10] == k2 % 11


def test_phenopackets_parse_and_match_the_samples(cohort):
    seen = Counter()
    for batch_id in ("b001", "b002"):
        paths, entries, sexes = clinical_files(cohort, "SE", batch_id)
        assert {e.format for e in entries} == {FileFormat.PHENOPACKET}
        assert len(paths) == len(sexes)
        for path in paths:
            packet = Parse(path.read_text(encoding="utf-8"), Phenopacket())
            subject = packet.subject
            assert path.name == f"{subject.id}.json" and subject.id in sexes
            assert subject.sex == (Sex.MALE if sexes[subject.id] == "male" else Sex.FEMALE)
            [national] = subject.alternate_ids
            assert re.fullmatch(r"SE-PNR:(19|20)\d{6}-\d{4}", national)
            assert luhn_ok(national[9:15] + national[16:])  # YYMMDD + NNNC
            assert 1930 <= subject.date_of_birth.ToDatetime().year <= 2022
            assert {r.id for r in packet.meta_data.resources} >= {"hp", "icd10", "ordo"}
            assert packet.meta_data.external_references[0].id.startswith("DUO:")
            assert packet.files[0].file_attributes["genomeAssembly"] == "GRCh38"
            seen["excluded"] += sum(f.excluded for f in packet.phenotypic_features)
            seen["observed"] += sum(not f.excluded for f in packet.phenotypic_features)
            if packet.diseases:
                assert packet.diseases[0].term.id.split(":")[0] in ("ORPHA", "OMIM")
                assert packet.diseases[1].term.id.startswith("ICD10:")
                seen["affected"] += 1
    assert seen["excluded"] > 0 and seen["observed"] > seen["excluded"]
    assert 0 < seen["affected"] < 2 * cohort.spec.samples_per_batch


def test_registry_csvs_use_national_columns_and_words(cohort):
    for country, columns, pattern in (
        ("DK", DANISH_COLUMNS, r"\d{6}-\d{4}"),
        ("NO", NORWEGIAN_COLUMNS, r"\d{11}"),
    ):
        paths, entries, sexes = clinical_files(cohort, country, "b001")
        assert [e.format for e in entries] == [FileFormat.CSV]
        frame = pl.read_csv(paths[0], infer_schema=False)
        assert frame.columns == list(columns.values())
        assert frame.height == len(sexes)
        ids = frame[columns["sample_id"]].to_list()
        assert set(ids) == set(sexes)
        sex_words = frame[columns["sex"]].to_list()
        assert sex_words == ["M" if sexes[s] == "male" else "K" for s in ids]
        assert set(frame[columns["affected"]].to_list()) <= {"ja", "nej", "nei"}
        for national_id, sex in zip(frame[columns["national_id"]], sex_words, strict=True):
            assert re.fullmatch(pattern, national_id)
            digit = int(national_id[-1]) if country == "DK" else int(national_id[8])
            assert digit % 2 == (1 if sex == "M" else 0)
            if country == "NO":
                assert norwegian_ok(national_id)
        hpo = [t for cell in frame[columns["hpo_observed"]].drop_nulls() for t in cell.split(";")]
        assert hpo and all(re.fullmatch(r"HP:\d{7}", t) for t in hpo)
    assert "kjønn" in paths[0].read_text(encoding="utf-8")


def test_fhir_bundle_parses_with_patients_conditions_and_observations(cohort):
    paths, entries, sexes = clinical_files(cohort, "FI", "b001")
    assert [e.format for e in entries] == [FileFormat.FHIR]
    bundle = Bundle.model_validate_json(paths[0].read_text(encoding="utf-8"))
    assert bundle.type == "collection"
    kinds = Counter(e.resource.get_resource_type() for e in bundle.entry)
    assert kinds["Patient"] == len(sexes) and kinds["Condition"] > 0 and kinds["Observation"] > 0
    patients = {
        e.fullUrl: e.resource for e in bundle.entry if e.resource.get_resource_type() == "Patient"
    }
    for patient in patients.values():
        systems = {i.system: i.value for i in patient.identifier}
        assert len(systems) == 2
        hetu = systems["urn:oid:1.2.246.21"]
        assert re.fullmatch(r"\d{6}[-A]\d{3}[0-9A-Y]", hetu)
        assert FI_CHECK[int(hetu[:6] + hetu[7:10]) % 31] == hetu[10]
        sample = systems["urn:gdi:fi:lab-sample-id"]
        assert patient.gender == sexes[sample]
        assert re.fullmatch(r"\d{4}", str(patient.birthDate))
    values = []
    for entry in bundle.entry:
        resource = entry.resource
        if resource.get_resource_type() == "Observation":
            assert resource.code.coding[0].system == "http://human-phenotype-ontology.org"
            values.append(resource.valueBoolean)
        if resource.get_resource_type() == "Condition":
            assert resource.subject.reference in patients
            systems = {c.system for c in resource.code.coding}
            assert {"http://hl7.org/fhir/sid/icd-10", "http://www.orpha.net"} <= systems
    assert True in values
    json.loads(paths[0].read_text(encoding="utf-8"))


def test_persons_are_plausible_and_obsolete_terms_rare(cohort):
    samples = batch_samples(3, "SE", 0, 600)
    persons = batch_persons(3, samples, 2024)
    assert [p.sample_id for p in persons] == list(samples.sample_ids)
    affected = [p for p in persons if p.affected]
    assert 0.45 < len(affected) / len(persons) < 0.75
    for person in persons:
        assert date(1930, 1, 1) <= person.birth_date <= date(2022, 12, 31)
        assert person.sex in person.disease.sexes if person.disease else not person.observed
        if person.onset_age is not None:
            assert 0 <= person.onset_age <= 2024 - person.birth_year
        assert not set(person.observed) & set(person.excluded)
    terms = [t for p in affected for t in p.observed]
    obsolete = [t for t in terms if t.obsolete]
    could_be = [t for t in terms if t.id in OBSOLETE_TERMS or t.obsolete]
    assert obsolete and len(obsolete) < 0.4 * len(could_be)
    assert sum(p.origin_country != "SE" for p in persons) > 0


def test_every_country_profile_writes_its_own_format(cohort):
    for country, batch_id in cohort.report.batches:
        _, entries, _ = clinical_files(cohort, country, batch_id)
        expected = {"phenopackets": "PHENOPACKET", "csv": "CSV", "fhir": "FHIR"}
        assert {e.format.value for e in entries} == {
            expected[country_profile(country).clinical_format.value]
        }
