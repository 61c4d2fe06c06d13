"""Country profiles: the four defaults and deterministic profiles for other countries."""

from __future__ import annotations

import pytest

from gdi_pipelines.synth.cohort import CohortSpec, generate_cohort
from gdi_pipelines.synth.countries import ClinicalFormat, country_profile


def test_default_profiles():
    se, dk, fi, no = (country_profile(c) for c in ("SE", "DK", "FI", "NO"))
    assert (se.build, se.contig_style, se.clinical_format) == (
        "GRCh38",
        "chr",
        ClinicalFormat.PHENOPACKETS,
    )
    assert (dk.build, dk.contig_style, dk.clinical_format) == (
        "GRCh37",
        "numeric",
        ClinicalFormat.CSV,
    )
    assert (fi.build, fi.clinical_format, fi.csv_columns) == ("GRCh38", ClinicalFormat.FHIR, None)
    assert no.csv_columns is not None and no.csv_columns["sex"] == "kjønn"
    assert dk.csv_columns is not None and dk.csv_columns["national_id"] == "cpr"
    assert (dk.contig_name("chr1"), dk.contig_name("chrM"), se.contig_name("chrM")) == (
        "1",
        "MT",
        "chrM",
    )


def test_other_countries_get_a_stable_profile_from_the_defaults():
    codes = ["DE", "NL", "EE", "ES", "PT", "IT", "PL", "LU", "BE", "CZ", "AT", "IE"]
    profiles = [country_profile(c) for c in codes]
    assert profiles == [country_profile(c) for c in codes]
    assert [p.country for p in profiles] == codes
    defaults = {
        (p.build, p.contig_style, p.clinical_format)
        for p in map(country_profile, ["SE", "DK", "FI", "NO"])
    }
    assert {(p.build, p.contig_style, p.clinical_format) for p in profiles} <= defaults
    assert len({p.clinical_format for p in profiles}) > 1


@pytest.mark.parametrize("code", ["se", "SWE", "S1", ""])
def test_invalid_codes_are_rejected(code):
    with pytest.raises(ValueError, match="2-letter"):
        country_profile(code)


def test_generate_cohort_rejects_bad_countries_before_writing(tmp_path):
    for countries in (("SE", "SE"), ("SE", "sweden")):
        with pytest.raises(ValueError):
            generate_cohort(CohortSpec(countries=countries), tmp_path / "l", tmp_path / "r")
    assert not any(tmp_path.iterdir())
