"""Expectation suites kept in the repository as JSON, one per table (`suites/{table}.json`).

Each entry names a GX 1.x expectation class and its keyword arguments, one to one:

    {"name": "af_in_unit_interval", "expectation": "ExpectColumnValuesToBeBetween",
     "kwargs": {"column": "AF", "min_value": 0, "max_value": 1},
     "severity": "ERROR", "description": "AF in [0, 1]"}

plus two shorthands that stay one outcome but stand for several GX expectations:
`for_each` (a list of kwargs merged over `kwargs`, one GX expectation each) and
`for_each_column_matching` (a regex; one GX expectation per table column it matches).
Run-time values use GX's own `{"$PARAMETER": "expected_rows"}`. A column written `name[]` or
`name[].field` is each element (or that field of each element) of a list column. The `type_` of
ExpectColumnTypeToBe is a polars type as `str(dtype)` prints it (`Int8`, `List(String)`): types
are read from the polars schema, where pandas would blur them (a nullable Int8 is float64).

Loading needs no GX import; `gx_bridge` turns entries into GX objects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gdi_pipelines.domain.quality import Severity

SUITES_DIR = Path(__file__).parent / "suites"
PARAMETER = "$PARAMETER"

# Decided by polars over the whole table (see whole_table.py): no chunk can decide them.
WHOLE_TABLE = frozenset(
    {
        "ExpectTableColumnsToMatchOrderedList",
        "ExpectTableColumnsToMatchSet",
        "ExpectTableColumnCountToEqual",
        "ExpectColumnToExist",
        "ExpectColumnTypeToBe",
        "ExpectTableRowCountToEqual",
        "ExpectTableRowCountToBeBetween",
        "ExpectColumnValuesToBeUnique",
        "ExpectCompoundColumnsToBeUnique",
        "ExpectColumnUniqueValueCountToBeBetween",
    }
)
# Row-level (map) expectations: counts add up over chunks. Polars decides those pushdown.py
# reproduces exactly (pushdown.SUPPORTED, per instance); GX on pandas chunks the others.
CHUNKED = frozenset(
    {
        "ExpectColumnValuesToBeBetween",
        "ExpectColumnValuesToBeInSet",
        "ExpectColumnValuesToNotBeInSet",
        "ExpectColumnValuesToBeNull",
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToMatchRegex",
        "ExpectColumnValuesToNotMatchRegex",
        "ExpectColumnValuesToMatchRegexList",
        "ExpectColumnValuesToNotMatchRegexList",
        "ExpectColumnValueLengthsToBeBetween",
        "ExpectColumnValueLengthsToEqual",
        "ExpectColumnValuesToMatchStrftimeFormat",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "ExpectColumnPairValuesToBeEqual",
        "ExpectColumnPairValuesToBeInSet",
        "ExpectMulticolumnSumToEqual",
        "ExpectSelectColumnValuesToBeUniqueWithinRecord",
    }
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # usable as a Dagster asset check name
_KEYS = {
    "name",
    "expectation",
    "kwargs",
    "severity",
    "description",
    "for_each",
    "for_each_column_matching",
}


class SuiteError(ValueError):
    """A suite file that does not follow the format; the message names the suite and entry."""


@dataclass(frozen=True)
class ExpectationSpec:
    name: str
    expectation: str  # GX 1.x class name
    kwargs: dict[str, Any]
    severity: Severity
    description: str
    for_each: tuple[dict[str, Any], ...] = ()
    for_each_column_matching: str | None = None

    @property
    def whole_table(self) -> bool:
        return self.expectation in WHOLE_TABLE

    def instances(self, columns: list[str]) -> list[dict[str, Any]]:
        """The kwargs of each GX expectation this entry stands for, on a table with `columns`."""
        if self.for_each_column_matching:
            pattern = re.compile(self.for_each_column_matching)
            return [{**self.kwargs, "column": c} for c in columns if pattern.search(c)]
        if self.for_each:
            return [{**self.kwargs, **each} for each in self.for_each]
        return [dict(self.kwargs)]


@dataclass(frozen=True)
class SuiteSpec:
    table: str
    version: int
    description: str
    expectations: tuple[ExpectationSpec, ...]
    meta: dict[str, Any]

    def parameter_names(self) -> set[str]:
        names: set[str] = set()
        for spec in self.expectations:
            for kwargs in (spec.kwargs, *spec.for_each):
                names |= {v[PARAMETER] for v in kwargs.values() if is_parameter(v)}
        return names


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.json"))


@cache
def load_suite(name: str) -> SuiteSpec:
    path = SUITES_DIR / f"{name}.json"
    if not path.is_file():
        raise SuiteError(f"no expectation suite {name!r} (have: {', '.join(suite_names())})")
    suite = parse_suite(json.loads(path.read_text()))
    if suite.table != name:
        raise SuiteError(f"{path.name}: table is {suite.table!r}, expected {name!r}")
    return suite


def parse_suite(data: dict[str, Any]) -> SuiteSpec:
    table = data.get("table")
    if not isinstance(table, str) or not isinstance(data.get("version"), int):
        raise SuiteError("a suite needs 'table' (string) and 'version' (integer)")
    specs = tuple(_parse_entry(table, entry) for entry in data.get("expectations", []))
    names = [s.name for s in specs]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise SuiteError(f"{table}: expectation names used twice: {', '.join(dupes)}")
    meta = {k: v for k, v in data.items() if k != "expectations"}
    return SuiteSpec(table, data["version"], data.get("description", ""), specs, meta)


def _parse_entry(table: str, entry: dict[str, Any]) -> ExpectationSpec:
    where = f"{table}/{entry.get('name', '?')}"
    if unknown := set(entry) - _KEYS:
        raise SuiteError(f"{where}: unknown keys {sorted(unknown)}")
    name, expectation = entry.get("name", ""), entry.get("expectation", "")
    if not _NAME.match(name):
        raise SuiteError(f"{where}: name must be lower_snake_case")
    if expectation not in WHOLE_TABLE | CHUNKED:
        raise SuiteError(
            f"{where}: {expectation!r} is neither a row-level expectation that can run chunk by "
            "chunk nor one with a whole-table implementation (see suites.WHOLE_TABLE/CHUNKED)"
        )
    try:
        severity = Severity(entry.get("severity"))
    except ValueError:
        raise SuiteError(f"{where}: severity must be ERROR or WARN") from None
    for_each = tuple(entry.get("for_each", ()))
    matching = entry.get("for_each_column_matching")
    if for_each and matching:
        raise SuiteError(f"{where}: use for_each or for_each_column_matching, not both")
    kwargs = dict(entry.get("kwargs", {}))
    description = entry.get("description", "")
    spec = ExpectationSpec(name, expectation, kwargs, severity, description, for_each, matching)
    for kwargs in (spec.kwargs, *spec.for_each):
        for key, value in kwargs.items():
            if isinstance(value, dict) and not is_parameter(value):
                raise SuiteError(f"{where}: {key} is a dict but not a {{'$PARAMETER': name}}")
        paths = [c for c in columns_of(kwargs) if "[]" in c]
        if paths and (spec.whole_table or "column" not in kwargs):
            raise SuiteError(f"{where}: list paths ({paths[0]}) only in row-level 'column'")
    return spec


def is_parameter(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {PARAMETER}


def resolve(kwargs: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with every {"$PARAMETER": name} replaced by parameters[name]."""
    return {k: parameters[v[PARAMETER]] if is_parameter(v) else v for k, v in kwargs.items()}


def columns_of(kwargs: dict[str, Any]) -> tuple[str, ...]:
    """The columns (or list paths) one GX expectation reads, in the order GX names them."""
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_A" in kwargs:
        return (kwargs["column_A"], kwargs["column_B"])
    return tuple(kwargs.get("column_list", ()))


def label_of(kwargs: dict[str, Any]) -> str:
    return ",".join(columns_of(kwargs)) or "table"


def base_column(column: str) -> str:
    """`observed_hpo[].id` -> `observed_hpo`; a plain column stays itself."""
    return column.split("[]", 1)[0]
