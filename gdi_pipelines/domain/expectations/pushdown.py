"""Row-level (map) expectations decided by polars over the whole lazy table, with GX's results.

For the expectations and kwargs below, `evaluate` computes what GX's pandas engine reports on the
same rows (as the runner hands them to GX: `_view_frame`, small ints widened to Int64, Float32 to
Float64): element_count, missing_count, unexpected_count and the first MAX_EXAMPLES unexpected
values in row order (GX's partial_unexpected_list). It streams: one aggregation per group of
columns the checks tie together (a pass decodes only its columns, so peak memory is a row group
of a few columns, not of the table), one per list path (its elements), and one `filter().head()`
query per failing expectation. `check_for` returns None for anything else (decided per
instance), and the runner leaves that instance to GX on pandas chunks.

GX's rules, reproduced here (pandas engine, GX 1.x; the parity tests compare both engines):

- missing: pandas' isnull, i.e. null, and NaN in float columns (polars keeps NaN apart).
- column map expectations (Between, InSet, MatchRegex): missing values are filtered out first
  (missing_count); unexpected = non-missing values that fail the condition.
- ToBeNull / ToNotBeNull: no missing_count (GX leaves it out); unexpected = non-null / null
  values; a null datetime shows as "NaT" among the examples.
- column pairs: `ignore_row_if` drops rows with both (default) / either value missing, or none
  ("neither"); missing_count = rows dropped; on the rows kept a comparison with a missing value
  is False (NaN semantics), so such a row is unexpected.
- MatchRegex: Python `re.search` on string values (pandas' str.contains, which GX calls, uses
  pyarrow's RE2 only where it gives Python's answer). The pattern is parsed by Python's own
  parser and re-emitted in Rust regex syntax node by node: each character literally (`\\x{..}`
  unless ASCII alphanumeric), `\\d`, `\\s`, `\\w` and their negations as explicit classes built
  from Python's own predicates (isdecimal, isspace, isalnum or "_"), `^` as `\\A`, a final `$`
  as `\\n?\\z` (Python's `$` also matches before a trailing newline). Anything without an exact
  equivalent (look-around, backreferences, `\\b`, inline flags, possessive or atomic groups, a
  `$` that is not last) is not supported; nor are the few patterns that pandas' RE2 path would
  read differently from Python (`[:`, `{,`, `\\1`, counts above 1000).
  On a plain column the regex is decided once per distinct value of each batch of rows the
  engine streams (`_once_per_value`), then mapped back to the rows.

Values are compared as numpy compares them: Between always as Float64 (GX's model turns every
numeric bound into a float), sets and pairs of integers as Int64, anything with a float as
Float64. One difference remains, by design: pandas turns an integer column with a null in the
chunk into float64, so there GX sees integers beyond 2**53 rounded (in sets, pairs and the
examples), where polars keeps them exact.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from re import _constants as sre  # Python's own regex parser, as pandas uses it
from re import _parser as sre_parse
from typing import Any

import polars as pl

from gdi_pipelines.domain.expectations.results import MAX_EXAMPLES

INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)
FLOATS = (pl.Float32, pl.Float64)
NUMBERS = INTEGERS + FLOATS
INT64 = (-(2**63), 2**63 - 1)
COLUMN = frozenset({"column", "mostly"})
BOUNDS = frozenset({"min_value", "max_value", "strict_min", "strict_max"})
PAIR = frozenset({"column_A", "column_B", "ignore_row_if", "mostly"})
KWARGS = {  # the kwargs each supported expectation may have; any other: left to GX
    "ExpectColumnValuesToBeBetween": COLUMN | BOUNDS,
    "ExpectColumnValuesToBeInSet": COLUMN | {"value_set"},
    "ExpectColumnValuesToMatchRegex": COLUMN | {"regex"},
    "ExpectColumnValuesToNotBeNull": COLUMN,
    "ExpectColumnValuesToBeNull": COLUMN,
    "ExpectColumnPairValuesAToBeGreaterThanB": PAIR | {"or_equal"},
    "ExpectColumnPairValuesToBeEqual": PAIR,
}
SUPPORTED = frozenset(KWARGS)
DISTINCT_AFTER_RUNS = 4  # a batch keeping more than 1/4 of its rows as runs is made unique
IGNORE_ROW_IF = ("both_values_are_missing", "either_value_is_missing", "neither")


@dataclass(frozen=True)
class Check:
    """One map expectation as polars expressions over its frame (the table, or `view`)."""

    view: str | None  # list path whose elements it checks; None: the table's rows
    shown: tuple[str, ...]  # columns of the frame whose values are the examples
    unexpected: pl.Expr
    missing: pl.Expr | None  # None: GX reports no missing_count (the null checks)
    null_shown_as: str | None = None  # how GX lists a missing value ("NaT" for datetimes)


def view_expr(view: str) -> pl.Expr:
    """The elements of `column[]` (or the field of each element for `column[].field`): what both
    engines check. Null lists and empty lists contribute no element; null elements do."""
    column, _, path = view.partition("[]")
    elements = pl.col(column).explode(keep_nulls=False)
    return elements.struct.field(path.removeprefix(".")) if path else elements


def check_for(expectation: str, kwargs: dict[str, Any], schema: pl.Schema) -> Check | None:
    """The polars form of one GX expectation on a table with `schema`; None if not supported."""
    if expectation not in SUPPORTED or set(kwargs) - KWARGS[expectation]:
        return None
    mostly = kwargs.get("mostly", 1)
    if isinstance(mostly, bool) or not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
        return None
    if "column_A" in kwargs:
        return _pair_check(expectation, kwargs, schema)
    column = kwargs.get("column")
    dtype = _dtype_of(column, schema) if isinstance(column, str) else None
    if dtype is None:
        return None
    view = column if "[]" in column else None
    x = pl.col(column)
    missing = _missing(x, dtype)
    if expectation in ("ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull"):
        if not _null_checkable(dtype):
            return None
        null_shown_as = "NaT" if isinstance(dtype, pl.Datetime) else None
        unexpected = missing if expectation.endswith("NotBeNull") else ~missing
        return Check(view, (column,), unexpected, None, null_shown_as)
    condition = _condition(expectation, kwargs, x, dtype)
    if condition is None:
        return None
    if view is None and expectation == "ExpectColumnValuesToMatchRegex":
        condition = _once_per_value(column, condition)
    return Check(view, (column,), ~missing & ~condition.fill_null(False), missing)


def _once_per_value(column: str, condition: pl.Expr) -> pl.Expr:
    """A regex `condition` decided once per distinct value of each batch of rows the engine
    streams, then mapped back to the rows: a column repeats its values (a country, the
    samples, alleles, a variant's id over its samples), and a regex costs per value. Values
    are first taken once per run of equal neighbours (cheaper than hashing, when runs are
    long), then hashed unique; a column whose runs are short skips the first step. Nulls get
    null, as before."""
    runs_pay = [True]

    def per_batch(values: pl.Series) -> pl.Series:
        distinct = values
        if runs_pay[0]:
            distinct = values.filter(values.ne_missing(values.shift(1)))
            runs_pay[0] = distinct.len() * DISTINCT_AFTER_RUNS <= values.len()
        if not runs_pay[0]:
            distinct = distinct.unique()
        distinct = distinct.drop_nulls()
        decided = pl.DataFrame({column: distinct}).select(condition.fill_null(False)).to_series()
        failing = distinct.filter(~decided)
        if failing.len() == 0:
            passed = values.is_not_null()
            return passed if values.null_count() == 0 else passed.replace(False, None)
        return ~values.is_in(failing.implode())

    return pl.col(column).map_batches(per_batch, return_dtype=pl.Boolean, is_elementwise=True)


def evaluate(checks: Mapping[int, Check], table: pl.LazyFrame) -> dict[int, dict[str, Any]]:
    """GX-shaped results (element_count, missing_count, unexpected_count,
    partial_unexpected_list) of each check on `table`, by key."""
    results: dict[int, dict[str, Any]] = {}
    for view, keys in _passes(checks):
        frame = table if view is None else table.select(view_expr(view).alias(view))
        sums = [pl.len().alias("elements")]
        for key in keys:
            sums.append(checks[key].unexpected.sum().alias(f"unexpected_{key}"))
            if checks[key].missing is not None:
                sums.append(checks[key].missing.sum().alias(f"missing_{key}"))
        counts = frame.select(sums).collect(engine="streaming").row(0, named=True)
        for key in keys:
            check, unexpected = checks[key], counts[f"unexpected_{key}"]
            result = {
                "element_count": counts["elements"],
                "unexpected_count": unexpected,
                "partial_unexpected_list": _examples(frame, check) if unexpected else [],
            }
            if check.missing is not None:
                result["missing_count"] = counts[f"missing_{key}"]
            results[key] = result
    return results


def _passes(checks: Mapping[int, Check]) -> list[tuple[str | None, list[int]]]:
    """Checks grouped into streaming passes that read few columns each (peak memory follows the
    columns one pass decodes at once, a row group of each): one pass per list path, one per
    set of plain columns that checks tie together (a pair joins its two columns)."""
    views: dict[str, list[int]] = {}
    groups: list[tuple[set[str], list[int]]] = []
    for key, check in checks.items():
        if check.view is not None:
            views.setdefault(check.view, []).append(key)
            continue
        columns, keys = set(check.shown), [key]
        for group in [g for g in groups if g[0] & columns]:
            groups.remove(group)
            columns |= group[0]
            keys = group[1] + keys
        groups.append((columns, sorted(keys)))
    return [(None, keys) for _, keys in groups] + list(views.items())


def _examples(frame: pl.LazyFrame, check: Check) -> list[Any]:
    """The first MAX_EXAMPLES unexpected values in row order, as GX lists them."""
    rows = frame.filter(check.unexpected).select(check.shown).head(MAX_EXAMPLES)
    shown = rows.collect(engine="streaming").rows()
    if len(check.shown) == 1:
        return [check.null_shown_as if v is None else v for (v,) in shown]
    return [tuple(row) for row in shown]


def _dtype_of(column: str, schema: pl.Schema) -> pl.DataType | None:
    """The dtype of a column, or of the elements `view_expr` yields for a list path."""
    base, brackets, path = column.partition("[]")
    dtype = schema.get(base)
    if not brackets or dtype is None:
        return dtype
    if not isinstance(dtype, pl.List):
        return None
    inner = dtype.inner
    if not path:
        return inner
    fields = {f.name: f.dtype for f in inner.fields} if isinstance(inner, pl.Struct) else {}
    return fields.get(path.removeprefix("."))


def _missing(x: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return x.is_null() | x.is_nan() if dtype in FLOATS else x.is_null()


def _null_checkable(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Datetime):  # microseconds or coarser: a Python datetime holds them
        return dtype.time_unit in ("us", "ms")
    return dtype in (*NUMBERS, pl.UInt64, pl.String, pl.Boolean)


def _condition(expectation: str, kwargs: dict[str, Any], x: pl.Expr, dtype) -> pl.Expr | None:
    """What a non-missing value must satisfy; None if not supported exactly."""
    if expectation == "ExpectColumnValuesToMatchRegex":
        regex = kwargs.get("regex")
        pattern = rust_regex(regex) if isinstance(regex, str) else None
        return x.str.contains(pattern) if dtype == pl.String and pattern is not None else None
    if expectation == "ExpectColumnValuesToBeInSet":
        return _in_set(x, dtype, kwargs.get("value_set"))
    return _between(x, dtype, kwargs)


def _in_set(x: pl.Expr, dtype, values) -> pl.Expr | None:
    """pandas' isin: exact for strings, booleans, integers; numeric for floats."""
    if not isinstance(values, list | tuple | set | frozenset):
        return None
    values = list(values)
    if dtype == pl.String and all(isinstance(v, str) for v in values):
        return x.is_in(pl.Series(values, dtype=pl.String).implode())
    if dtype == pl.Boolean and all(isinstance(v, bool) for v in values):
        return x.is_in(pl.Series(values, dtype=pl.Boolean).implode())
    if dtype in NUMBERS and all(_integer(v) for v in values):
        wide = pl.Float64 if dtype in FLOATS else pl.Int64
        return x.cast(wide).is_in(pl.Series(values, dtype=wide).implode())
    if dtype in FLOATS and all(_finite(v) for v in values):
        return x.cast(pl.Float64).is_in(pl.Series(values, dtype=pl.Float64).implode())
    return None


def _between(x: pl.Expr, dtype, kwargs: dict[str, Any]) -> pl.Expr | None:
    """GX's pandas range check. GX's model turns every numeric bound into a float, so numpy
    compares the values as float64; a boolean is 0 or 1, as in Python, where GX compares a bool
    column value by value."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    strict = kwargs.get("strict_min"), kwargs.get("strict_max")
    bounds = [b for b in (low, high) if b is not None]
    if dtype not in (*NUMBERS, pl.Boolean) or not bounds or not all(map(_finite, bounds)):
        return None
    if any(s is not None and not isinstance(s, bool) for s in strict):
        return None
    if low is not None and high is not None and low > high:
        return None  # GX raises "min_value cannot be greater than max_value": left to GX
    x, condition = x.cast(pl.Float64), pl.lit(True)
    if low is not None:
        low = pl.lit(float(low), dtype=pl.Float64)
        condition &= x > low if strict[0] else x >= low
    if high is not None:
        high = pl.lit(float(high), dtype=pl.Float64)
        condition &= x < high if strict[1] else x <= high
    return condition


def _pair_check(expectation: str, kwargs: dict[str, Any], schema: pl.Schema) -> Check | None:
    a_name, b_name = kwargs["column_A"], kwargs["column_B"]
    a_type, b_type = schema.get(a_name), schema.get(b_name)
    ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
    or_equal = kwargs.get("or_equal")
    if ignore not in IGNORE_ROW_IF or (or_equal is not None and not isinstance(or_equal, bool)):
        return None
    a, b = pl.col(a_name), pl.col(b_name)
    if a_type in NUMBERS and b_type in NUMBERS:
        wide = pl.Float64 if a_type in FLOATS or b_type in FLOATS else pl.Int64
        a, b = a.cast(wide), b.cast(wide)
    elif not (expectation == "ExpectColumnPairValuesToBeEqual" and a_type == b_type == pl.String):
        return None
    a_missing, b_missing = _missing(pl.col(a_name), a_type), _missing(pl.col(b_name), b_type)
    if expectation == "ExpectColumnPairValuesToBeEqual":
        holds = a == b
    else:
        holds = a >= b if or_equal else a > b
    holds = (~a_missing & ~b_missing & holds).fill_null(False)  # NaN compares False
    if ignore == "both_values_are_missing":
        ignored = a_missing & b_missing
    elif ignore == "either_value_is_missing":
        ignored = a_missing | b_missing
    else:
        ignored = pl.lit(False)
    return Check(None, (a_name, b_name), ~ignored & ~holds, ignored)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1]


def _finite(value: Any) -> bool:
    """A number (not a bool) whose float is finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


# --- regex: Python re.search semantics in Rust regex syntax --------------------------------

_RE2_READS_OTHERWISE = re.compile(r"\[:|\{,|\\[0-9]")  # POSIX class, {,n}, octal/backreference
MAX_COUNT = 1000  # RE2 (pandas' pyarrow path) refuses larger counted repetitions


class _Unsupported(Exception):
    pass


@cache
def rust_regex(pattern: str) -> str | None:
    """`pattern` (Python syntax) as a Rust regex matching the same strings under `re.search`;
    None when there is no exact translation."""
    if _RE2_READS_OTHERWISE.search(pattern):
        return None
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
        if parsed.state.flags != re.UNICODE:  # inline flags: (?i), (?s), (?x), ...
            return None
        translated = _emit(list(parsed), tail=True)
        pl.select(pl.lit("").str.contains(translated))  # Rust accepts it (size limits)
    except (re.error, _Unsupported, pl.exceptions.PolarsError):
        return None
    return translated


def _emit(items: list, tail: bool) -> str:
    """Rust syntax of a parsed sequence; `tail`: nothing of the pattern follows it."""
    out = []
    for index, (op, arg) in enumerate(items):
        last = tail and index == len(items) - 1
        if op is sre.LITERAL:
            out.append(_char(arg))
        elif op is sre.NOT_LITERAL:
            out.append(f"[^{_char(arg)}]")
        elif op is sre.ANY:  # both: any character but \n
            out.append(".")
        elif op is sre.IN:
            out.append(_class(arg))
        elif op is sre.BRANCH:
            out.append("(?:" + "|".join(_emit(list(a), last) for a in arg[1]) + ")")
        elif op is sre.SUBPATTERN:
            _, add_flags, del_flags, sub = arg
            if add_flags or del_flags:
                raise _Unsupported("scoped flags")
            out.append(f"(?:{_emit(list(sub), last)})")
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = arg
            if low > MAX_COUNT or (high is not sre.MAXREPEAT and high > MAX_COUNT):
                raise _Unsupported("count")
            count = f"{{{low},}}" if high is sre.MAXREPEAT else f"{{{low},{high}}}"
            lazy = "?" if op is sre.MIN_REPEAT else ""
            out.append(f"(?:{_emit(list(sub), False)}){count}{lazy}")
        elif op is sre.AT and arg in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
            out.append(r"\A")
        elif op is sre.AT and arg is sre.AT_END_STRING:
            out.append(r"\z")
        elif op is sre.AT and arg is sre.AT_END and last:
            out.append(r"\n?\z")  # consumes the newline: fine, as nothing follows
        else:
            raise _Unsupported(str(op))
    return "".join(out)


def _class(items: list) -> str:
    negate = bool(items) and items[0][0] is sre.NEGATE
    parts = []
    for op, arg in items[1:] if negate else items:
        if op is sre.LITERAL:
            parts.append(_char(arg))
        elif op is sre.RANGE:
            parts.append(f"{_char(arg[0])}-{_char(arg[1])}")
        elif op is sre.CATEGORY:
            parts.append(_category(arg))
        else:
            raise _Unsupported(str(op))
    return f"[{'^' if negate else ''}{''.join(parts)}]"


def _char(code: int) -> str:
    if 0xD800 <= code <= 0xDFFF:
        raise _Unsupported("surrogate")
    if chr(code).isascii() and chr(code).isalnum():  # never special in Rust syntax
        return chr(code)
    return f"\\x{{{code:X}}}"


_CATEGORIES = {
    "DIGIT": str.isdecimal,  # sre: Py_UNICODE_ISDECIMAL
    "SPACE": str.isspace,  # Py_UNICODE_ISSPACE
    "WORD": lambda c: c.isalnum() or c == "_",  # Py_UNICODE_ISALNUM or "_"
}


def _category(code) -> str:
    name = str(code).removeprefix("CATEGORY_")
    negate = name.startswith("NOT_")
    ranges = _ranges(name.removeprefix("NOT_"))
    return f"[{'^' if negate else ''}{ranges}]"


@cache
def _ranges(name: str) -> str:
    """The code points Python's category holds, as a Rust class body of ranges."""
    if name not in _CATEGORIES:
        raise _Unsupported(name)
    test, runs, start = _CATEGORIES[name], [], None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and not 0xD800 <= code <= 0xDFFF and test(chr(code))
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            runs.append((start, code - 1))
            start = None
    return "".join(f"{_char(a)}-{_char(b)}" for a, b in runs)
