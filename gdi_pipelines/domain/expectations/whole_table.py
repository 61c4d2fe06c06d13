"""Expectations no chunk can decide, computed with polars on the whole (lazy) table.

- column list, column set, column types: from the schema alone (no data read). Types are
  polars types (`Int8`, `List(String)`), exact where pandas would blur them (nullable Int8 ->
  float64).
- row counts: summed while the chunks go by.
- uniqueness and distinct counts: streaming group-bys over the key columns only. Uniqueness runs
  in hash-bucket passes of at most `rows_per_pass` rows, so memory stays bounded whatever the
  table size (each pass re-reads the key columns).

Results follow GX's semantics: rows whose key is all-null are missing, every row of a
duplicated key is unexpected.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from gdi_pipelines.domain.duplicate_keys import duplicated_keys as duplicated
from gdi_pipelines.domain.expectations.results import MAX_EXAMPLES, Decision, plain
from gdi_pipelines.domain.expectations.suites import columns_of, label_of

SCHEMA_LEVEL = frozenset(
    {
        "ExpectTableColumnsToMatchOrderedList",
        "ExpectTableColumnsToMatchSet",
        "ExpectTableColumnCountToEqual",
        "ExpectColumnToExist",
        "ExpectColumnTypeToBe",
    }
)
ROW_COUNT = frozenset({"ExpectTableRowCountToEqual", "ExpectTableRowCountToBeBetween"})
UNIQUE = frozenset({"ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"})
DISTINCT_COUNT = frozenset({"ExpectColumnUniqueValueCountToBeBetween"})


def schema_decision(expectation: str, kwargs: dict[str, Any], schema: pl.Schema) -> Decision:
    columns = schema.names()
    where = f"{expectation} on {label_of(kwargs)}"
    if expectation == "ExpectTableColumnsToMatchOrderedList":
        return _column_list(kwargs, columns, where)
    if expectation == "ExpectTableColumnsToMatchSet":
        expected = set(kwargs["column_set"])
        missing = sorted(expected - set(columns))
        extra = sorted(set(columns) - expected) if kwargs.get("exact_match", True) else []
        failures = [f"{where}: column {c} is absent" for c in missing]
        failures += [f"{where}: column {c} is not expected" for c in extra]
        return Decision(kwargs, not failures, _columns_result(columns, missing, extra), failures)
    if expectation == "ExpectTableColumnCountToEqual":
        ok = len(columns) == kwargs["value"]
        failures = [] if ok else [f"{where}: {len(columns)} columns, expected {kwargs['value']}"]
        return Decision(kwargs, ok, {"observed_value": len(columns)}, failures)
    column = kwargs["column"]
    if column not in schema:
        return Decision(kwargs, False, {"observed_value": None}, [f"{where}: column is absent"])
    if expectation == "ExpectColumnToExist":
        index = kwargs.get("column_index")
        ok = index is None or columns.index(column) == index
        failures = [] if ok else [f"{where}: at position {columns.index(column)}, not {index}"]
        return Decision(kwargs, ok, {"observed_value": columns.index(column)}, failures)
    observed = str(schema[column])  # ExpectColumnTypeToBe, with polars type names
    ok = observed == kwargs["type_"]
    failures = [] if ok else [f"{where}: type is {observed}, expected {kwargs['type_']}"]
    return Decision(kwargs, ok, {"observed_value": observed}, failures)


def _column_list(kwargs: dict[str, Any], columns: list[str], where: str) -> Decision:
    expected = list(kwargs["column_list"])
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    failures = [f"{where}: column {c} is absent" for c in missing]
    failures += [f"{where}: column {c} is not expected" for c in extra]
    if not failures and columns != expected:
        position = next(i for i, (a, b) in enumerate(zip(columns, expected, strict=True)) if a != b)
        failures.append(
            f"{where}: order differs from position {position}: "
            f"found {columns[position]}, expected {expected[position]}"
        )
    return Decision(kwargs, not failures, _columns_result(columns, missing, extra), failures)


def _columns_result(columns: list[str], missing: list[str], extra: list[str]) -> dict[str, Any]:
    return {"observed_value": columns, "missing_columns": missing, "unexpected_columns": extra}


def row_count_decision(expectation: str, kwargs: dict[str, Any], rows: int) -> Decision:
    where = expectation
    if expectation == "ExpectTableRowCountToEqual":
        ok = rows == kwargs["value"]
        expected = f"{kwargs['value']}"
    else:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        ok = _between(rows, low, high, kwargs.get("strict_min"), kwargs.get("strict_max"))
        expected = f"between {low} and {high}"
    failures = [] if ok else [f"{where}: {rows} rows, expected {expected}"]
    return Decision(kwargs, ok, {"observed_value": rows}, failures)


def distinct_count_decision(kwargs: dict[str, Any], table: pl.LazyFrame) -> Decision:
    """Distinct non-null values; memory grows with their number (meant for e.g. samples)."""
    column = kwargs["column"]
    count = table.select(pl.col(column).drop_nulls().n_unique()).collect(engine="streaming").item()
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    ok = _between(count, low, high, kwargs.get("strict_min"), kwargs.get("strict_max"))
    failures = []
    if not ok:
        failures.append(
            f"ExpectColumnUniqueValueCountToBeBetween on {column}: {count} distinct values, "
            f"expected between {low} and {high}"
        )
    return Decision(kwargs, ok, {"observed_value": count}, failures)


def uniqueness_decision(
    expectation: str, kwargs: dict[str, Any], table: pl.LazyFrame, rows: int, rows_per_pass: int
) -> Decision:
    keys = list(columns_of(kwargs))
    all_missing = pl.all_horizontal([pl.col(k).is_null() for k in keys])
    missing = table.select(all_missing.sum()).collect(engine="streaming").item()
    passes = max(1, math.ceil(rows / rows_per_pass))
    unexpected, duplicated_keys, examples = 0, 0, []
    for dupes in duplicated(table, keys, rows, rows_per_pass):
        unexpected += dupes.get_column("len").sum()
        duplicated_keys += dupes.height
        examples.append(dupes.sort(keys).head(MAX_EXAMPLES))
    shown = pl.concat(examples).sort(keys).head(MAX_EXAMPLES)
    listed = [
        plain(row[0]) if len(keys) == 1 else {k: plain(row[k]) for k in keys}
        for row in shown.iter_rows(named=len(keys) > 1)
    ]
    considered = rows - missing
    result = {
        "element_count": rows,
        "missing_count": missing,
        "unexpected_count": int(unexpected),
        "unexpected_percent": 100 * unexpected / considered if considered else 0.0,
        "partial_unexpected_list": listed,
        "duplicated_keys": duplicated_keys,
        "passes": passes,
    }
    failures = [
        f"{expectation} on {label_of(kwargs)}: {values} occurs {n} times"
        for values, n in zip(listed, shown.get_column("len"), strict=True)
    ]
    if duplicated_keys > len(listed):
        failures.append(f"... {duplicated_keys} duplicated keys, {unexpected} rows in all")
    return Decision(kwargs, duplicated_keys == 0, result, failures)


def _between(value, low, high, strict_low=False, strict_high=False) -> bool:
    if low is not None and (value <= low if strict_low else value < low):
        return False
    return high is None or (value < high if strict_high else value <= high)
