from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.clinical import find_national_identifiers, national_identifier_kind
from gdi_pipelines.domain.pseudonym import pseudonymise


def _luhn_check_digit(nine: str) -> str:
    """The Swedish check digit, computed here from the Luhn definition."""
    total = 0
    for i, char in enumerate(nine):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


def _personnummer(yymmdd: str, serial: str) -> str:
    return f"{yymmdd}-{serial}{_luhn_check_digit(yymmdd + serial)}"


# Valid examples published with python-stdnum's validators and by the national authorities.
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("880320-0016", "SE personnummer"),
        ("19121212-1212", "SE personnummer"),
        ("211062-5629", "DK CPR-nummer"),
        ("15108695088", "NO fødselsnummer"),
        ("131052-308T", "FI henkilötunnus"),
    ],
)
def test_known_valid_ids_are_recognised(value, kind):
    assert national_identifier_kind(value) == kind
    assert national_identifier_kind(f"patient {value}, seen twice") == kind


@pytest.mark.parametrize("value", ["880320-0017", "15108695089", "131052-308U", "321062-5629"])
def test_wrong_check_digits_or_dates_are_not_ids(value):
    assert national_identifier_kind(value) is None


def test_planted_personnummer_is_found_in_a_frame():
    planted = _personnummer("850709", "238")
    frame = pl.DataFrame(
        {
            "sample_id": [pseudonymise(b"k" * 32, "SE", "SE-LAB-000001"), "SE-x"],
            "observed_hpo": [[{"id": "HP:0001250", "label": "Seizure"}], []],
            "source_record": ["line 2", f"note: {planted}"],
            "year_of_birth": [1985, 1990],
        }
    )
    findings = find_national_identifiers(frame)
    assert findings == ["source_record: SE personnummer in 1 value(s)"]
    assert planted not in " ".join(findings)  # findings never echo the id


def test_ids_inside_list_and_struct_columns_are_found():
    frame = pl.DataFrame({"terms": [[{"id": "HP:0000118", "label": "131052-308T"}]]})
    assert find_national_identifiers(frame) == ["terms.label: FI henkilötunnus in 1 value(s)"]


def test_national_id_column_names_are_reported():
    frame = pl.DataFrame({"personnummer": ["x"], "fodselsnummer": ["y"]})
    assert len(find_national_identifiers(frame)) == 2


CURIES = st.one_of(
    st.integers(0, 9_999_999).map(lambda n: f"HP:{n:07d}"),
    st.integers(0, 9_999_999).map(lambda n: f"MONDO:{n:07d}"),
    st.integers(0, 999_999).map(lambda n: f"OMIM:{n:06d}"),
    st.integers(0, 9_999_999).map(lambda n: f"ORPHA:{n}"),
    st.integers(0, 9_999_999).map(lambda n: f"DUO:{n:07d}"),
)


@settings(max_examples=500, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    country=st.sampled_from(["SE", "DK", "NO", "FI"]),
    sample=st.text(min_size=1, max_size=20),
    curie=CURIES,
)
def test_no_false_positives_on_pseudonyms_and_curies(key, country, sample, curie):
    pseudonym = pseudonymise(key, country, sample)
    frame = pl.DataFrame({"sample_id": [pseudonym], "hpo_ancestors": [[curie, f"{curie};{curie}"]]})
    assert find_national_identifiers(frame) == []
