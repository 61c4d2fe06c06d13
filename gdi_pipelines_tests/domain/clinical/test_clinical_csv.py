from __future__ import annotations

import pytest

from gdi_pipelines.domain.clinical import (
    DANISH_MAPPING,
    NORWEGIAN_MAPPING,
    ClinicalFormatError,
    CsvMapping,
    find_national_identifiers,
    read_registry_csv,
    records_to_frame,
    rejects_to_frame,
)
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.synth.countries import DANISH_COLUMNS, NORWEGIAN_COLUMNS

KEY = b"c" * 32
YEAR = 2025
DK_HEADER = (
    "cpr,proeve_id,koen,foedselsaar,diagnose_icd10,orpha,omim,hpo_observeret,hpo_udelukket,"
    "syg,debut_alder,oprindelsesland"
)


def _pseudo(sample_id: str) -> str:
    return pseudonymise(KEY, "DK", sample_id)


def _read(text: str, mapping: CsvMapping = DANISH_MAPPING, source: str = "dk.csv"):
    return read_registry_csv(
        text.encode(), source, mapping, pseudonymise=_pseudo, reference_year=YEAR
    )


@pytest.mark.parametrize(
    ("mapping", "synth_columns"),
    [(DANISH_MAPPING, DANISH_COLUMNS), (NORWEGIAN_MAPPING, NORWEGIAN_COLUMNS)],
)
def test_default_mappings_cover_the_synthetic_exports(mapping, synth_columns):
    assert set(mapping.columns) | mapping.dropped_columns == set(synth_columns.values())
    assert synth_columns["national_id"] in mapping.dropped_columns
    assert mapping.columns[synth_columns["sample_id"]] == "sample_id"


def test_a_good_danish_row():
    text = (
        DK_HEADER
        + "\n211062-5629,DK-LAB-000001,K,1987,Q87.4;E75.2,558,154700,"
        + "HP:0001250;HP:0000400,HP:0000365,ja,3,DK\n"
    )
    batch = _read(text)
    [record] = batch.records
    assert batch.rejects == () and batch.replacements == ()
    assert record.sample_id == _pseudo("DK-LAB-000001")
    assert record.sex_at_birth == record.administrative_gender == "female"
    assert (record.year_of_birth, record.age_band) == (1987, "30-39")
    assert [t.id for t in record.diagnoses] == [
        "ICD10:Q87.4",
        "ICD10:E75.2",
        "ORPHA:558",
        "OMIM:154700",
    ]
    assert [t.id for t in record.observed_hpo] == ["HP:0001250", "HP:0000400"]
    assert [t.id for t in record.excluded_hpo] == ["HP:0000365"]
    assert "HP:0000707" in record.hpo_ancestors  # seizure -> nervous system
    assert record.affected is True and record.disease_onset == "P3Y"
    assert record.country_of_origin == "DK" and record.source_record == "line 2"


def test_national_id_column_is_dropped():
    text = DK_HEADER + "\n211062-5629,DK-LAB-000001,M,1990,,,,,,nej,,\n"
    frame = records_to_frame(_read(text).records)
    assert "cpr" not in frame.columns
    assert find_national_identifiers(frame) == []
    assert not any("211062" in str(v) for row in frame.rows() for v in row)


def test_missing_mandatory_column_fails_the_file_naming_file_and_column():
    header = DK_HEADER.replace("koen,", "")
    text = header + "\n211062-5629,DK-LAB-000001,1987,,,,,,,,\n"
    with pytest.raises(ClinicalFormatError, match=r"^dk\.csv: mandatory column 'koen'"):
        _read(text)


def test_missing_optional_column_is_fine():
    text = "proeve_id,koen,foedselsaar\nDK-LAB-000002,M,2001\n"
    [record] = _read(text).records
    assert record.diagnoses == () and record.affected is None


ROWS = [
    "211062-5629,DK-LAB-000001,K,1987,Q87.4,,,HP:0001250,,ja,,DK",  # line 2: good
    "211062-5629,DK-LAB-000002,X,1988,,,,,,,,",  # line 3: unknown sex value
    f"211062-5629,DK-LAB-000003,M,{YEAR + 1},,,,,,,,",  # line 4: born in the future
    "211062-5629,DK-LAB-000004,M,1970,,,,HP:9999999;HP:0000400,,,,",  # line 5: unknown HPO
    "211062-5629,DK-LAB-000005,M,1970,Q99.99,,,,,,,",  # line 6: unknown ICD-10
    "211062-5629,,K,1960,,,,,,,,",  # line 7: no sample id
    "211062-5629,DK-LAB-000007,K,1960,,abc,,,,kanske,P2Y-1M,XX",  # line 8: orpha, flag, onset
]


def test_bad_values_are_rejected_per_row_and_the_other_rows_go_on():
    batch = _read(DK_HEADER + "\n" + "\n".join(ROWS) + "\n")
    kept_lines = {r.source_record for r in batch.records}
    assert kept_lines == {"line 2", "line 3", "line 5", "line 6", "line 8"}
    rejects = {(r.record, r.field): r for r in batch.rejects}
    assert rejects[("line 3", "sex")].value == "X"
    assert "future" in rejects[("line 4", "year_of_birth")].reason
    assert rejects[("line 5", "observed_hpo")].value == "HP:9999999"
    assert "unknown ICD-10" in rejects[("line 6", "diagnoses")].reason
    assert "missing sample id" in rejects[("line 7", "sample_id")].reason
    assert "malformed ORPHA" in rejects[("line 8", "diagnoses")].reason
    assert "syg" in rejects[("line 8", "affected")].reason
    assert rejects[("line 8", "disease_onset")].value == "P2Y-1M"
    assert rejects[("line 8", "country_of_origin")].value == "XX"
    assert all(r.source_file == "dk.csv" for r in batch.rejects)
    line3 = next(r for r in batch.records if r.source_record == "line 3")
    assert line3.sex_at_birth == "unknown"
    line5 = next(r for r in batch.records if r.source_record == "line 5")
    assert [t.id for t in line5.observed_hpo] == ["HP:0000400"]
    reject_frame = rejects_to_frame(batch.rejects)
    assert reject_frame.height == len(batch.rejects)
    assert find_national_identifiers(reject_frame) == []  # the cpr column never reaches rejects


def test_norwegian_export():
    header = ",".join(NORWEGIAN_MAPPING.columns) + ",fodselsnummer"
    values = {
        "prove_id": "NO-LAB-000010",
        "kjønn": "M",
        "fodselsar": "1950-04-01",
        "diagnose_icd10": "G71.0",
        "orphakode": "ORPHA:98896",
        "omim": "",
        "hpo_observert": "HP:0003560",
        "hpo_utelukket": "",
        "syk": "nei",
        "debutalder": "P40Y",
        "opprinnelsesland": "NOR",
    }
    row = ",".join(values[c] for c in NORWEGIAN_MAPPING.columns) + ",15108695088"
    [record] = _read(f"{header}\n{row}\n", NORWEGIAN_MAPPING, "no.csv").records
    assert record.sex_at_birth == "male" and record.year_of_birth == 1950
    assert record.age_band == "70-79" and record.affected is False
    assert record.country_of_origin == "NO"
    assert [t.id for t in record.diagnoses] == ["ICD10:G71.0", "ORPHA:98896"]


def test_ragged_csv_is_a_format_error():
    with pytest.raises(ClinicalFormatError, match=r"^dk\.csv: not a readable CSV"):
        _read("proeve_id,koen,foedselsaar\nDK-1,M,1990,extra,cells\n")


def test_a_mapping_cannot_read_a_national_id_column():
    with pytest.raises(ValueError, match="national id columns mapped"):
        CsvMapping(
            name="bad",
            columns={"cpr": "sample_id", "koen": "sex", "aar": "year_of_birth"},
            dropped_columns=frozenset({"cpr"}),
        )
