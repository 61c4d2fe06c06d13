"""Recognise Nordic national person identifiers, so none can leave a node in clinical tables.

Checked forms (a match must stand alone: no letter or digit right before or after it):

- SE personnummer / samordningsnummer: (YY)YYMMDD[-+]NNNN, valid date (day + 60 allowed),
  Luhn check digit.
- DK CPR: DDMMYY-NNNN with a valid date; without the hyphen only when the modulus-11 check
  holds (many CPR numbers since 2007 fail it, so bare 10-digit numbers would be too noisy).
- NO fødselsnummer / D-nummer: DDMMYYIIIKK, valid date (day + 40, month + 40/+80 allowed),
  both modulus-11 check digits.
- FI henkilötunnus: DDMMYY, century sign (+-A-F, U-Y), NNN, check character (mod 31).

Findings name the column and the kind of id, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import polars as pl

_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
_SE_DK = re.compile(_EDGE_BEFORE + r"(\d{6}|\d{8})([-+]?)(\d{4})" + _EDGE_AFTER)
_NO = re.compile(_EDGE_BEFORE + r"(\d{11})" + _EDGE_AFTER)
_FI = re.compile(_EDGE_BEFORE + r"(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])" + _EDGE_AFTER)
_FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_SUSPECT_COLUMN = re.compile(
    r"personnummer|samordningsnummer|cpr|f[oø]dselsnummer|henkil[oö]tunnus|hetu|ssn",
    re.IGNORECASE,
)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _swedish(head: str, tail: str) -> bool:
    short = head[-6:]
    year = int(head[:4]) if len(head) == 8 else 2000  # 2000: a leap year, 29 Feb stays valid
    month, day = int(short[2:4]), int(short[4:])
    day = day - 60 if day > 60 else day  # samordningsnummer
    return _valid_date(year, month, day) and _luhn(short + tail)


def _danish(head: str, separator: str, tail: str) -> bool:
    if len(head) != 6 or separator == "+":
        return False
    day, month = int(head[:2]), int(head[2:4])
    if not _valid_date(2000, month, day):  # leap year: 29 Feb is a valid CPR date
        return False
    if separator == "-":
        return True
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    return sum(int(c) * w for c, w in zip(head + tail, weights, strict=True)) % 11 == 0


def _norwegian(number: str) -> bool:
    day, month = int(number[:2]), int(number[2:4])
    day = day - 40 if day > 40 else day  # D-nummer
    month = month - 80 if month > 80 else month - 40 if month > 40 else month  # H/test numbers
    if not _valid_date(2000, month, day):
        return False
    digits = [int(c) for c in number]
    checks = []
    for weights in ((3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)):
        remainder = sum(d * w for d, w in zip(digits + checks, weights, strict=False)) % 11
        check = 0 if remainder == 0 else 11 - remainder
        if check == 10:
            return False
        checks.append(check)
    return digits[9:] == checks


def _finnish(head: str, serial: str, check: str) -> bool:
    day, month = int(head[:2]), int(head[2:4])
    if not _valid_date(2000, month, day):
        return False
    return _FI_CHECK[int(head + serial) % 31] == check


def national_identifier_kind(text: str) -> str | None:
    """The kind of national id found in `text` ("SE personnummer", ...), or None."""
    upper = text.upper()
    for match in _FI.finditer(upper):
        if _finnish(match.group(1), match.group(3), match.group(4)):
            return "FI henkilötunnus"
    for match in _SE_DK.finditer(upper):
        head, separator, tail = match.groups()
        if _swedish(head, tail):
            return "SE personnummer"
        if _danish(head, separator, tail):
            return "DK CPR-nummer"
    for match in _NO.finditer(upper):
        if _norwegian(match.group(1)):
            return "NO fødselsnummer"
    return None


def _string_columns(name: str, series: pl.Series) -> Iterator[tuple[str, pl.Series]]:
    dtype = series.dtype
    if dtype == pl.String:
        yield name, series
    elif isinstance(dtype, pl.List):
        yield from _string_columns(name, series.explode())
    elif isinstance(dtype, pl.Struct):
        for field in series.struct.unnest().iter_columns():
            yield from _string_columns(f"{name}.{field.name}", field)


def find_national_identifiers(frame: pl.DataFrame) -> list[str]:
    """One finding per column holding national ids (or named like such a column); [] if clean."""
    findings = [
        f"{name}: column name suggests a national identifier"
        for name in frame.columns
        if _SUSPECT_COLUMN.search(name)
    ]
    for column in frame.iter_columns():
        for name, series in _string_columns(column.name, column):
            kinds: dict[str, int] = {}
            for value in series.drop_nulls().to_list():
                kind = national_identifier_kind(value)
                if kind:
                    kinds[kind] = kinds.get(kind, 0) + 1
            findings.extend(f"{name}: {kind} in {n} value(s)" for kind, n in sorted(kinds.items()))
    return findings


def redact(value: str) -> str:
    """`value`, unless it holds a national id (then a placeholder naming the kind)."""
    kind = national_identifier_kind(value)
    return f"<{kind} redacted>" if kind else value
