"""Fake national person ids in each country's real format, with valid check digits.

SE personnummer YYYYMMDD-NNNC (Luhn), DK CPR DDMMYY-SSSS (century digit, sex parity),
FI henkilötunnus DDMMYY{-|A}ZZZQ (mod 31), NO fødselsnummer DDMMYYIIIKK (two mod 11 digits).
Other countries: CC-YYYYMMDD-NNNN.
"""

from __future__ import annotations

from datetime import date

import numpy as np

_FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_NO_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_NO_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def luhn_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(digits):
        value = int(ch) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def _with_sex_parity(number: int, male: bool) -> int:
    return number if (number % 2 == 1) == male else number + 1


def swedish_personnummer(rng: np.random.Generator, born: date, male: bool) -> str:
    serial = _with_sex_parity(int(rng.integers(0, 998)), male)
    core = f"{born:%y%m%d}{serial:03d}"
    return f"{born:%Y%m%d}-{serial:03d}{luhn_digit(core)}"


def danish_cpr(rng: np.random.Generator, born: date, male: bool) -> str:
    century_digit = 4 if born.year >= 2000 else int(rng.integers(0, 4))
    serial = _with_sex_parity(century_digit * 1000 + int(rng.integers(0, 998)), male)
    return f"{born:%d%m%y}-{serial:04d}"


def finnish_hetu(rng: np.random.Generator, born: date, male: bool) -> str:
    serial = _with_sex_parity(int(rng.integers(2, 898)), male)
    check = _FI_CHECK[int(f"{born:%d%m%y}{serial:03d}") % 31]
    return f"{born:%d%m%y}{'A' if born.year >= 2000 else '-'}{serial:03d}{check}"


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if check == 11 else (None if check == 10 else check)


def norwegian_fodselsnummer(rng: np.random.Generator, born: date, male: bool) -> str:
    low = 500 if born.year >= 2000 else 0
    while True:
        individual = _with_sex_parity(low + int(rng.integers(0, 498)), male)
        digits = f"{born:%d%m%y}{individual:03d}"
        k1 = _mod11(digits, _NO_WEIGHTS_1)
        k2 = None if k1 is None else _mod11(digits + str(k1), _NO_WEIGHTS_2)
        if k2 is not None:
            return f"{digits}{k1}{k2}"


def national_person_id(country: str, rng: np.random.Generator, born: date, male: bool) -> str:
    makers = {
        "SE": swedish_personnummer,
        "DK": danish_cpr,
        "FI": finnish_hetu,
        "NO": norwegian_fodselsnummer,
    }
    if country in makers:
        return makers[country](rng, born, male)
    return f"{country}-{born:%Y%m%d}-{int(rng.integers(0, 10_000)):04d}"


# Identifier schemes: (CURIE prefix for Phenopackets alternate ids, FHIR identifier system).
ID_SCHEMES: dict[str, tuple[str, str]] = {
    "SE": ("SE-PNR", "urn:oid:1.2.752.129.2.1.3.1"),
    "DK": ("DK-CPR", "urn:oid:1.2.208.176.1.2"),
    "FI": ("FI-HETU", "urn:oid:1.2.246.21"),
    "NO": ("NO-FNR", "urn:oid:2.16.578.1.12.4.1.4.1"),
}


def id_scheme(country: str) -> tuple[str, str]:
    return ID_SCHEMES.get(country, (f"{country}-NID", f"urn:gdi:{country.lower()}:person-id"))


def lab_sample_system(country: str) -> str:
    return f"urn:gdi:{country.lower()}:lab-sample-id"
