from __future__ import annotations

import io
import json

import polars as pl

from gdi_pipelines.domain.clinical import (
    DANISH_MAPPING,
    PERSON_SCHEMA,
    ClinicalFile,
    SourceFormat,
    find_national_identifiers,
    read_clinical_files,
    records_to_frame,
)
from gdi_pipelines.domain.pseudonym import is_pseudonym, pseudonymise
from gdi_pipelines_tests.domain.clinical.clinical_oracles import FHIR_BUNDLE, PHENOPACKETS

KEY = b"d" * 32
YEAR = 2025


def _pseudo(sample_id: str) -> str:
    return pseudonymise(KEY, "SE", sample_id)


def _files() -> list[ClinicalFile]:
    return [ClinicalFile(p, p.name, SourceFormat.PHENOPACKET) for p in PHENOPACKETS]


def test_one_malformed_file_is_a_file_reject_and_the_others_go_on():
    broken = PHENOPACKETS[1].read_text()[:-20]  # cut off the end of the JSON
    files = [*_files(), ClinicalFile(broken.encode(), "broken.json", SourceFormat.PHENOPACKET)]
    batch = read_clinical_files(files, pseudonymise=_pseudo, reference_year=YEAR)
    assert len(batch.records) == len(PHENOPACKETS)
    [reject] = [r for r in batch.rejects if r.record == "file"]
    assert reject.source_file == "broken.json"
    expected_line = len(broken.splitlines())  # the JSON ends early on its last line
    assert reject.reason.startswith(f"broken.json: line {expected_line} column")


def test_future_birth_in_one_file_rejects_that_person_only():
    doc = json.loads(PHENOPACKETS[0].read_text())
    doc["subject"]["dateOfBirth"] = f"{YEAR + 5}-01-01T00:00:00Z"
    stream = io.BytesIO(json.dumps(doc).encode())
    files = [*_files()[1:], ClinicalFile(stream, "f.json", SourceFormat.PHENOPACKET)]
    batch = read_clinical_files(files, pseudonymise=_pseudo, reference_year=YEAR)
    assert len(batch.records) == len(PHENOPACKETS) - 1
    [reject] = [r for r in batch.rejects if r.field == "year_of_birth"]
    assert (reject.source_file, reject.record) == ("f.json", "phenopacket id=1")


def test_the_same_person_in_two_files_is_kept_once():
    # rarelink_evco_8 and the FHIR bundle describe the same patient (EvCo8)
    files = [*_files(), ClinicalFile(FHIR_BUNDLE, FHIR_BUNDLE.name, SourceFormat.FHIR)]
    batch = read_clinical_files(files, pseudonymise=_pseudo, reference_year=YEAR)
    frame = records_to_frame(batch.records)
    assert frame["sample_id"].n_unique() == frame.height == len(PHENOPACKETS)
    [dup] = [r for r in batch.rejects if "already read" in r.reason]
    assert dup.source_file == FHIR_BUNDLE.name and "rarelink_evco_8.json" in dup.reason


def test_csv_without_mapping_is_a_file_reject():
    files = [ClinicalFile(b"proeve_id\nx\n", "dk.csv", SourceFormat.CSV)]
    batch = read_clinical_files(files, pseudonymise=_pseudo, reference_year=YEAR)
    assert batch.records == () and "mapping" in batch.rejects[0].reason


def test_all_formats_together_give_one_frame_with_the_person_schema():
    csv = b"cpr,proeve_id,koen,foedselsaar\n880320-0016,DK-LAB-1,K,1990\n"
    files = [
        *_files(),
        ClinicalFile(FHIR_BUNDLE, FHIR_BUNDLE.name, SourceFormat.FHIR),
        ClinicalFile(csv, "dk.csv", SourceFormat.CSV),
    ]
    batch = read_clinical_files(
        files, pseudonymise=_pseudo, reference_year=YEAR, csv_mapping=DANISH_MAPPING
    )
    frame = records_to_frame(batch.records)
    assert frame.schema == PERSON_SCHEMA
    assert set(frame["source_format"]) == {"phenopacket", "csv"}  # FHIR person is a duplicate
    assert all(is_pseudonym(s) for s in frame["sample_id"])
    assert find_national_identifiers(frame) == []
    nervous = frame.filter(pl.col("hpo_ancestors").list.contains("HP:0000707"))
    assert 0 < nervous.height < frame.height  # one filter finds them; the CSV person has none
