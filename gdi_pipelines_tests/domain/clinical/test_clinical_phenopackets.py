from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gdi_pipelines.domain.clinical import (
    ClinicalFormatError,
    read_phenopacket,
    records_to_frame,
)
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines_tests.domain.clinical.clinical_oracles import (
    PHENOPACKETS,
    obo,
    phenopacket_source_terms,
)

KEY = b"k" * 32
YEAR = 2025
HPO_FIELDS = {"observed_hpo", "excluded_hpo"}


def _pseudo(sample_id: str) -> str:
    return pseudonymise(KEY, "SE", sample_id)


def _read(data: Path | bytes, source: str = "packet.json"):
    return read_phenopacket(data, source, pseudonymise=_pseudo, reference_year=YEAR)


def _evco1() -> dict:
    return json.loads(PHENOPACKETS[0].read_text())


def _outcome(curie: str, record, batch) -> str:
    kept = {t.id for t in record.observed_hpo + record.excluded_hpo}
    replaced = {r.old_id: r.new_id for r in batch.replacements if r.field in HPO_FIELDS}
    rejected = {r.value for r in batch.rejects if r.field in HPO_FIELDS}
    if curie in replaced and replaced[curie] in kept:
        return "replaced"
    if curie in kept:
        return "kept"
    if curie in rejected:
        return "rejected"
    return "unaccounted"


@pytest.mark.parametrize("path", PHENOPACKETS, ids=lambda p: p.name)
def test_every_source_term_is_kept_replaced_or_rejected(path: Path):
    features, diseases = phenopacket_source_terms(path)
    batch = _read(path, path.name)
    assert len(batch.records) == 1
    record = batch.records[0]
    outcomes = {curie: _outcome(curie, record, batch) for curie, _ in features}
    assert outcomes == {curie: obo().expected(curie) for curie, _ in features}
    counts = {k: list(outcomes.values()).count(k) for k in ("kept", "replaced", "rejected")}
    assert sum(counts.values()) == len({curie for curie, _ in features})
    excluded_in_source = {obo().alt_ids.get(c, c) for c, excluded in features if excluded}
    assert {t.id for t in record.excluded_hpo} <= excluded_in_source
    # diseases: every distinct code is either a diagnosis or a reject
    diagnosis_ids = {t.id for t in record.diagnoses}
    rejected = {r.value for r in batch.rejects if r.field == "diagnoses"}
    for curie in set(diseases):
        expected_kept = bool(re.fullmatch(r"(MONDO:\d{7}|ORPHA:\d+|OMIM:\d{6})", curie))
        assert (curie in diagnosis_ids) is expected_kept
        assert (curie in rejected) is not expected_kept


def test_real_phenopackets_person_fields():
    for path in PHENOPACKETS:
        doc = json.loads(path.read_text())
        record = _read(path, path.name).records[0]
        born = int(doc["subject"]["dateOfBirth"][:4])
        age = YEAR - born
        assert record.year_of_birth == born
        assert record.age_band == f"{age // 10 * 10}-{age // 10 * 10 + 9}"
        assert record.sample_id == _pseudo(doc["subject"]["id"])
        assert record.sex_at_birth == doc["subject"].get("sex", "unknown").lower()
        assert record.source_format == "phenopacket" and record.source_file == path.name
        assert record.affected is True  # every file has a disease
        assert "HP:0000118" in record.hpo_ancestors
        labels = {t.id: t.label for t in record.observed_hpo}
        assert all(labels.values()), "labels come from hp.obo"


def test_raw_subject_ids_never_reach_the_frame():
    batches = [_read(p, p.name) for p in PHENOPACKETS]
    frame = records_to_frame(r for b in batches for r in b.records)
    subject_ids = {json.loads(p.read_text())["subject"]["id"] for p in PHENOPACKETS}
    assert frame.height == len(PHENOPACKETS)
    assert subject_ids.isdisjoint(set(frame["sample_id"]))
    assert not any(s in v for s in subject_ids for v in frame["source_record"])


def test_malformed_onset_is_rejected_and_the_person_kept():
    # rarelink_evco_6 gives its disease onset as "P0Y-10M", not an ISO 8601 duration
    path = next(p for p in PHENOPACKETS if p.name == "rarelink_evco_6.json")
    onset = json.loads(path.read_text())["diseases"][0]["onset"]["age"]["iso8601duration"]
    batch = _read(path, path.name)
    assert batch.records[0].disease_onset is None
    [reject] = [r for r in batch.rejects if r.field == "disease_onset"]
    assert reject.value == onset and "ISO 8601" in reject.reason
    assert reject.source_file == path.name and reject.record == "phenopacket id=6"


def test_malformed_json_names_file_and_line():
    lines = PHENOPACKETS[0].read_text().splitlines()
    lines.insert(3, "  oops,")  # becomes line 4
    with pytest.raises(ClinicalFormatError, match=r"^bad\.json: line 4 column \d+: not valid JSON"):
        _read("\n".join(lines).encode(), "bad.json")


def test_json_that_is_not_a_phenopacket_is_a_format_error():
    with pytest.raises(ClinicalFormatError, match=r"^x\.json: not a GA4GH Phenopacket v2: .*nope"):
        _read(b'{"id": "1", "nope": 1}', "x.json")


def _first_obsolete_with_replacement() -> tuple[str, str]:
    oracle = obo()
    return next((old, new) for old, new in oracle.replaced_by.items() if new in oracle.current)


def test_obsolete_term_replaced_and_unknown_term_rejected():
    obsolete, replacement = _first_obsolete_with_replacement()
    unknown = "HP:9999999"
    assert obo().expected(unknown) == "rejected"
    doc = _evco1()
    features = doc["phenotypicFeatures"]
    untouched = {f["type"]["id"] for f in features[2:]}
    features[0]["type"] = {"id": obsolete, "label": "old"}
    features[1]["type"] = {"id": unknown, "label": "made up"}
    batch = _read(json.dumps(doc).encode(), "evco1-edited.json")
    [record] = batch.records
    observed = {t.id for t in record.observed_hpo}
    assert replacement in observed and obsolete not in observed and unknown not in observed
    assert untouched <= observed
    [change] = batch.replacements
    assert (change.old_id, change.new_id, change.field) == (obsolete, replacement, "observed_hpo")
    assert "obsolete" in change.reason and change.source_file == "evco1-edited.json"
    [reject] = [r for r in batch.rejects if r.field == "observed_hpo"]
    assert reject.value == unknown and "unknown HPO term" in reject.reason
    assert reject.record == "phenopacket id=1"


def test_year_of_birth_in_the_future_drops_the_person():
    doc = _evco1()
    doc["subject"]["dateOfBirth"] = f"{YEAR + 1}-02-03T00:00:00Z"
    batch = _read(json.dumps(doc).encode(), "future.json")
    assert batch.records == ()
    [reject] = [r for r in batch.rejects if r.field == "year_of_birth"]
    assert reject.source_file == "future.json" and "future" in reject.reason
    assert reject.value == str(YEAR + 1)


def test_year_of_birth_before_1900_drops_the_person():
    doc = _evco1()
    doc["subject"]["dateOfBirth"] = "1899-12-31T00:00:00Z"
    batch = _read(json.dumps(doc).encode(), "old.json")
    assert batch.records == ()
    assert any("before 1900" in r.reason for r in batch.rejects)


def test_missing_sample_id_drops_the_person():
    doc = _evco1()
    del doc["subject"]["id"]
    batch = _read(json.dumps(doc).encode(), "anon.json")
    assert batch.records == ()
    assert [r.field for r in batch.rejects] == ["sample_id"]


def test_biosample_id_is_the_sample_id_when_given():
    doc = _evco1()
    doc["biosamples"] = [{"id": "LAB-0042", "individualId": doc["subject"]["id"]}]
    [record] = _read(json.dumps(doc).encode()).records
    assert record.sample_id == _pseudo("LAB-0042")


def test_excluded_feature_and_excluded_disease():
    doc = _evco1()
    doc["phenotypicFeatures"][0]["excluded"] = True
    doc["diseases"].append({"term": {"id": "OMIM:147920", "label": "x"}, "excluded": True})
    batch = _read(json.dumps(doc).encode())
    [record] = batch.records
    first = doc["phenotypicFeatures"][0]["type"]["id"]
    assert [t.id for t in record.excluded_hpo] == [first]
    assert first not in {t.id for t in record.observed_hpo}
    assert first not in record.hpo_ancestors  # the rollup covers observed terms only
    assert "OMIM:147920" not in {t.id for t in record.diagnoses}
    assert any(r.value == "OMIM:147920" and "excluded" in r.reason for r in batch.rejects)


def test_unknown_gender_code_is_rejected_and_set_unknown():
    doc = _evco1()
    doc["subject"]["gender"] = {"id": "SNOMEDCT:000", "label": "?"}
    batch = _read(json.dumps(doc).encode())
    assert batch.records[0].administrative_gender == "unknown"
    assert [r.field for r in batch.rejects] == ["administrative_gender"]
