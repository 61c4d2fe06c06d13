"""Per-country conventions of the synthetic labs: build, contig naming, clinical export format."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from gdi_pipelines.synth.seeding import stream_entropy


class ClinicalFormat(StrEnum):
    PHENOPACKETS = "phenopackets"
    CSV = "csv"
    FHIR = "fhir"


# Registry export columns: our field name -> the national column name.
DANISH_COLUMNS: dict[str, str] = {
    "national_id": "cpr",
    "sample_id": "proeve_id",
    "sex": "koen",
    "birth_year": "foedselsaar",
    "icd10": "diagnose_icd10",
    "orpha": "orpha",
    "omim": "omim",
    "hpo_observed": "hpo_observeret",
    "hpo_excluded": "hpo_udelukket",
    "affected": "syg",
    "onset_age": "debut_alder",
    "origin_country": "oprindelsesland",
}
NORWEGIAN_COLUMNS: dict[str, str] = {
    "national_id": "fodselsnummer",
    "sample_id": "prove_id",
    "sex": "kjønn",
    "birth_year": "fodselsar",
    "icd10": "diagnose_icd10",
    "orpha": "orphakode",
    "omim": "omim",
    "hpo_observed": "hpo_observert",
    "hpo_excluded": "hpo_utelukket",
    "affected": "syk",
    "onset_age": "debutalder",
    "origin_country": "opprinnelsesland",
}
# Yes/no and female/male words in each export language.
CSV_WORDS: dict[str, dict[str, str]] = {
    "da": {"yes": "ja", "no": "nej", "female": "K", "male": "M"},
    "no": {"yes": "ja", "no": "nei", "female": "K", "male": "M"},
}


@dataclass(frozen=True)
class CountryProfile:
    country: str
    build: str  # "GRCh37" or "GRCh38"
    contig_style: str  # "numeric" (1, MT) or "chr" (chr1, chrM)
    clinical_format: ClinicalFormat
    csv_columns: dict[str, str] | None = None
    csv_language: str | None = None

    def contig_name(self, chr_name: str) -> str:
        """This lab's name for a contig given in chr style (chr1, chrX, chrM)."""
        if self.contig_style == "chr":
            return chr_name
        bare = chr_name.removeprefix("chr")
        return "MT" if bare == "M" else bare


_DEFAULTS: dict[str, CountryProfile] = {
    "SE": CountryProfile("SE", "GRCh38", "chr", ClinicalFormat.PHENOPACKETS),
    "DK": CountryProfile("DK", "GRCh37", "numeric", ClinicalFormat.CSV, DANISH_COLUMNS, "da"),
    "FI": CountryProfile("FI", "GRCh38", "chr", ClinicalFormat.FHIR),
    "NO": CountryProfile("NO", "GRCh37", "numeric", ClinicalFormat.CSV, NORWEGIAN_COLUMNS, "no"),
}
_CYCLE = ("SE", "DK", "FI", "NO")


def country_profile(country: str) -> CountryProfile:
    """The conventions of a country; unknown codes get one of the four default profiles."""
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError(f"country must be a 2-letter upper-case code, got {country!r}")
    if country in _DEFAULTS:
        return _DEFAULTS[country]
    template = _DEFAULTS[_CYCLE[stream_entropy(0, "profile", country) % len(_CYCLE)]]
    return replace(template, country=country)
