"""Small controlled vocabularies: sex and gender, age bands, countries, DUO, onset ages.

Sex at birth and administrative gender use four values:

| value   | FHIR / HL7, LOINC, SNOMED          | Phenopackets | Nordic registries, ISO/IEC 5218  |
|---------|------------------------------------|--------------|----------------------------------|
| female  | female, F, LA3-6, 248152002        | FEMALE       | K (kvinde/kvinne/kvinna), FI N, 2 |
| male    | male, M, LA2-8, 248153007          | MALE         | M (mand/mann/man/mies), 1        |
| other   | other, OTH, LA46-8, 32570681000036106 | OTHER_SEX | A (andet/annet/annat), 9         |
| unknown | unknown, UNK, LA4489-6, 261665006  | UNKNOWN_SEX  | U, 0, an empty value             |

An empty value becomes `unknown`; a value outside the table becomes `unknown` and is reported
as a reject. Phenopackets' `subject.gender` (SNOMED gender identity) is the administrative
gender for phenopackets (see `SNOMED_GENDER`).
"""

from __future__ import annotations

import re

import pycountry

SEX_VALUES = ("female", "male", "other", "unknown")

SEX_CODES: dict[str, str] = {
    # FHIR AdministrativeGender, HL7 v2/v3, us-core-birthsex
    "female": "female",
    "f": "female",
    "male": "male",
    "m": "male",
    "other": "other",
    "oth": "other",
    "o": "other",
    "unknown": "unknown",
    "unk": "unknown",
    "u": "unknown",
    "asked-declined": "unknown",
    # Phenopackets v2 Sex enum
    "unknown_sex": "unknown",
    "other_sex": "other",
    # LOINC answers (LL3324-2 / recorded sex or gender)
    "la3-6": "female",
    "la2-8": "male",
    "la46-8": "other",
    "la4489-6": "unknown",
    # SNOMED CT
    "248152002": "female",
    "248153007": "male",
    "32570681000036106": "other",
    "261665006": "unknown",
    # ISO/IEC 5218 (used by Nordic registries as 1/2)
    "0": "unknown",
    "1": "male",
    "2": "female",
    "9": "other",
}

# Nordic registry letters: K = kvinde/kvinne/kvinna, M = mand/mann/man/mies, N = nainen
NATIONAL_SEX_CODES: dict[str, dict[str, str]] = {
    "DK": {"k": "female", "kvinde": "female", "mand": "male", "a": "other", "andet": "other"},
    "NO": {"k": "female", "kvinne": "female", "mann": "male", "a": "other", "annet": "other"},
    "SE": {"k": "female", "kvinna": "female", "man": "male", "a": "other", "annat": "other"},
    "FI": {"n": "female", "nainen": "female", "mies": "male", "muu": "other"},
}

SNOMED_GENDER: dict[str, str] = {
    "SNOMEDCT:446141000124107": "female",  # Female gender identity
    "SNOMEDCT:446151000124109": "male",  # Male gender identity
    "SNOMEDCT:33791000087105": "other",  # Identifies as nonbinary gender
    "SNOMEDCT:446131000124102": "other",  # Identifies as non-conforming gender
    "SNOMEDCT:394743007": "unknown",  # Gender unknown
    "SNOMEDCT:1220561009": "unknown",  # Not recorded
}

_DUO = re.compile(r"^DUO:\d{7}$")
_DURATION = re.compile(
    r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
_YEAR = re.compile(r"^(\d{4})(?:$|-)")
FIRST_YEAR = 1900
TOP_AGE_BAND = 90  # ages from here on share one band, "90+"


def normalise_sex(value: str | None, extra: dict[str, str] | None = None) -> str | None:
    """One of SEX_VALUES, or None when the value is not in any table (caller rejects it)."""
    key = (value or "").strip().lower()
    if not key:
        return "unknown"
    return (extra or {}).get(key) or SEX_CODES.get(key)


def year_from(value: str) -> int:
    """The year of `1987`, `1987-05`, `1987-05-01` or `1987-05-01T00:00:00Z`; else ValueError."""
    match = _YEAR.match(value.strip())
    if not match:
        raise ValueError("not a year or ISO 8601 date")
    return int(match.group(1))


def check_year_of_birth(year: int, reference_year: int) -> None:
    if year > reference_year:
        raise ValueError(f"year of birth in the future (reference year {reference_year})")
    if year < FIRST_YEAR:
        raise ValueError(f"year of birth before {FIRST_YEAR}")


def age_band(year_of_birth: int, reference_year: int) -> str:
    age = reference_year - year_of_birth
    if age >= TOP_AGE_BAND:
        return f"{TOP_AGE_BAND}+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def country_alpha2(value: str) -> str:
    """ISO 3166-1 alpha-2 for an alpha-2 or alpha-3 code (any case); else ValueError."""
    code = value.strip().upper()
    country = None
    if len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
    elif len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    if country is None:
        raise ValueError("not an ISO 3166-1 alpha-2 or alpha-3 country code")
    return country.alpha_2


def check_duo(value: str) -> str:
    code = value.strip()
    if not _DUO.match(code):
        raise ValueError("not a DUO CURIE (DUO: and 7 digits)")
    return code


def check_duration(value: str) -> str:
    """An ISO 8601 duration such as P2Y4M (an age at onset); else ValueError."""
    text = value.strip()
    if not _DURATION.match(text):
        raise ValueError("not an ISO 8601 duration (e.g. P2Y4M)")
    return text


def duration_between(start_year_month_day: tuple[int, int, int], end: tuple[int, int, int]) -> str:
    """Whole years and months from birth to an event, e.g. P1Y2M (days are dropped)."""
    (y0, m0, d0), (y1, m1, d1) = start_year_month_day, end
    months = (y1 - y0) * 12 + (m1 - m0) - (1 if d1 < d0 else 0)
    if months < 0:
        raise ValueError("event before birth")
    return f"P{months // 12}Y{months % 12}M"


TRUE_WORDS = frozenset({"true", "yes", "y", "1", "ja", "j", "kyllä"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "nej", "nei", "ei"})


def parse_flag(value: str) -> bool | None:
    """Yes/no in English and Nordic languages; empty -> None; else ValueError."""
    key = value.strip().lower()
    if not key:
        return None
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise ValueError("not a yes/no value")
