"""The polars engine (pushdown.py) decides row-level expectations exactly as GX does.

Both engines run on the same rows through the runner's own code: GX through `gx_bridge` on the
pandas frame the runner builds (`_view_frame`), polars through `pushdown.evaluate`; their
Decisions must be equal (success, element_count, missing_count, unexpected_count, the examples
in partial_unexpected_list and the failure lines), engine aside.

- every suite, every map expectation instance: hypothesis frames with the suite's column types,
  mixing nulls, NaN, +-inf, -0.0, values on and next to the bounds, set members and near-misses,
  strings drawn from the suite's regexes and mutated ones (unicode digits, trailing newline),
  list columns with null lists, empty lists, null elements and null fields;
- the supported kwargs beyond what the suites use (strict bounds, mostly, ignore_row_if, ...);
- the regex translation against Python's `re.search` and pandas' `str.contains` (what GX calls);
- whole clean and damaged tables of every suite through `run_suite`: polars on the LazyFrame,
  polars per chunk of an iterable, and GX on chunks give the same outcomes.

The one documented difference (see pushdown.py): integers beyond 2**53 in a column with a null,
which pandas holds as float64 (sets, pairs, examples). A test shows it; generated integers stay
within 2**53.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime
from unittest.mock import patch

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.expectations import pushdown, run_suite
from gdi_pipelines.domain.expectations import runner as runner_module
from gdi_pipelines.domain.expectations.results import MapTally
from gdi_pipelines.domain.expectations.suites import (
    SuiteSpec,
    columns_of,
    load_suite,
    parse_suite,
    suite_names,
)
from gdi_pipelines_tests.domain.expectations.tables import CLEAN

SCHEMA_S = pl.Schema({"s": pl.String})

PARAMETERS = {"expected_samples": 50, "expected_rows": 40}
# map expectations polars does not decide, left to GX on chunks (the rest is pushed down)
GX_ONLY = {("clinical_phenotypes", "disease_onset_form")}  # look-ahead in its regex
EXTRA_COLUMNS = {"country_variant_summaries": {"AF_XX": pl.Float64, "AF_XY": pl.Float64}}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def suite_schema(table: str) -> pl.Schema:
    return pl.Schema({**CLEAN[table](1).schema, **EXTRA_COLUMNS.get(table, {})})


def plan_for(suite: SuiteSpec, schema: pl.Schema, gx: bool = False) -> runner_module._Plan:
    parameters = runner_module._parameters(suite, PARAMETERS)
    if gx:
        with patch.object(pushdown, "check_for", return_value=None):
            return runner_module._Plan(suite, schema, parameters)
    return runner_module._Plan(suite, schema, parameters)


def both_engines(frame: pl.DataFrame, suite: SuiteSpec) -> tuple[dict, dict, list]:
    """Decisions of the pushed-down instances by polars and by GX, with the plan's instances."""
    polars_plan, gx_plan = plan_for(suite, frame.schema), plan_for(suite, frame.schema, gx=True)
    polars_plan.push_down(frame.lazy())
    gx_plan.run_chunks(iter([frame]))
    pushed = [i for i in polars_plan.instances if i.check is not None]
    polars = {i.key: _comparable(polars_plan.tallies[i.key]) for i in pushed}
    gx = {i.key: _comparable(gx_plan.tallies[i.key]) for i in pushed}
    return polars, gx, pushed


def _comparable(tally: MapTally) -> dict:
    decision = tally.decision()
    return {"success": decision.success, **decision.result, "failures": decision.failures}


def assert_same(frame: pl.DataFrame, suite: SuiteSpec) -> list:
    polars, gx, pushed = both_engines(frame, suite)
    for instance in pushed:
        where = (instance.spec.name, instance.kwargs)
        assert polars[instance.key] == gx[instance.key], where
    return pushed


# --- which instances each engine decides ----------------------------------------------------


@pytest.mark.parametrize("table", sorted(CLEAN))
def test_every_map_expectation_but_the_listed_ones_is_pushed_down(table):
    plan = plan_for(load_suite(table), suite_schema(table))
    map_instances = [i for i in plan.instances if not i.spec.whole_table]
    assert map_instances and not any(i.absent for i in map_instances)
    left_to_gx = {(table, i.spec.name) for i in map_instances if i.check is None}
    assert left_to_gx == {entry for entry in GX_ONLY if entry[0] == table}
    assert {i.engine for i in map_instances if i.check is not None} == {"polars"}


@pytest.mark.parametrize(
    ("expectation", "kwargs", "dtype"),
    [
        ("ExpectColumnValuesToMatchRegex", {"regex": "^P(?=\\d)"}, pl.String),  # look-ahead
        ("ExpectColumnValuesToMatchRegex", {"regex": "(a)\\1"}, pl.String),  # backreference
        ("ExpectColumnValuesToMatchRegex", {"regex": "(?i)^hp:"}, pl.String),  # flags
        ("ExpectColumnValuesToMatchRegex", {"regex": "\\bHP"}, pl.String),  # word boundary
        ("ExpectColumnValuesToMatchRegex", {"regex": "a$b"}, pl.String),  # $ not last
        ("ExpectColumnValuesToMatchRegex", {"regex": "[[:alpha:]]"}, pl.String),  # RE2 differs
        ("ExpectColumnValuesToMatchRegex", {"regex": "^[0-9]+$"}, pl.Int64),  # not a string
        ("ExpectColumnValuesToMatchRegex", {"regex": "(unclosed"}, pl.String),  # invalid
        ("ExpectColumnValuesToBeBetween", {"min_value": 0}, pl.String),
        ("ExpectColumnValuesToBeBetween", {"min_value": 0}, pl.UInt64),
        ("ExpectColumnValuesToBeBetween", {"min_value": 2, "max_value": 1}, pl.Int64),
        ("ExpectColumnValuesToBeBetween", {}, pl.Int64),
        ("ExpectColumnValuesToBeBetween", {"min_value": "a"}, pl.Int64),
        ("ExpectColumnValuesToBeBetween", {"min_value": float("nan")}, pl.Float64),
        ("ExpectColumnValuesToBeBetween", {"min_value": 0, "row_condition": "x>1"}, pl.Int64),
        ("ExpectColumnValuesToBeInSet", {"value_set": [1, "1"]}, pl.Int64),
        ("ExpectColumnValuesToBeInSet", {"value_set": [1.5]}, pl.Int64),
        ("ExpectColumnValuesToBeInSet", {"value_set": [1]}, pl.Boolean),
        ("ExpectColumnValuesToBeInSet", {"value_set": None}, pl.String),
        ("ExpectColumnValuesToNotBeNull", {"mostly": 1.5}, pl.String),
        ("ExpectColumnValuesToNotBeNull", {}, pl.List(pl.String)),
        ("ExpectColumnValuesToNotBeNull", {}, pl.Datetime("ns")),
        ("ExpectColumnValuesToBeUnique", {}, pl.String),
    ],
)
def test_unsupported_combinations_are_left_to_gx(expectation, kwargs, dtype):
    schema = pl.Schema({"x": dtype})
    assert pushdown.check_for(expectation, {"column": "x", **kwargs}, schema) is None


def test_unsupported_pairs_are_left_to_gx():
    schema = pl.Schema({"s": pl.String, "t": pl.String, "b": pl.Boolean, "i": pl.Int64})
    greater = "ExpectColumnPairValuesAToBeGreaterThanB"
    for expectation, kwargs in [
        (greater, {"column_A": "s", "column_B": "t"}),  # strings: only equality
        ("ExpectColumnPairValuesToBeEqual", {"column_A": "s", "column_B": "i"}),
        ("ExpectColumnPairValuesToBeEqual", {"column_A": "b", "column_B": "b"}),
        (greater, {"column_A": "i", "column_B": "i", "ignore_row_if": "any"}),
        (greater, {"column_A": "i", "column_B": "i", "or_equal": "yes"}),
    ]:
        assert pushdown.check_for(expectation, kwargs, schema) is None


# --- regex translation ---------------------------------------------------------------------


def suite_regexes() -> list[str]:
    found = {
        kwargs["regex"]
        for name in suite_names()
        for spec in load_suite(name).expectations
        for kwargs in spec.instances([])
        if "regex" in kwargs
    }
    return sorted(found)


TRANSLATED = [r for r in suite_regexes() if pushdown.rust_regex(r) is not None]
EXTRA_PATTERNS = [
    r"\d+",
    r"\D\W\S",
    r"[^\d\s]x?",
    r"[\w-]{2,3}",
    r"a.c",
    r"^a*?b$",
    r"(?:ab|cd)+\Z",
    r"\AHP",
    r"x|y$",
    r"[^a-c]$",
    r"^$",
    "",
]
SPICE = ["", "\n", "٣", "𝟘", "é", "\x0b", " ", "\u2028", "_", "ß", "İ", "-", "+", ".", "x"]


def mutated(pattern: str) -> st.SearchStrategy[str]:
    """Strings re.search finds the pattern in, and small edits of them."""
    matching = st.from_regex(pattern) if pattern else st.just("")
    at, cut = st.integers(0, 40), st.integers(0, 2)
    return st.one_of(matching, st.tuples(matching, at, cut, st.sampled_from(SPICE)).map(_edit))


def _edit(case: tuple[str, int, int, str]) -> str:
    text, at, cut, insert = case
    return text[:at] + insert + text[at + cut :]


def texts_for(pattern: str) -> st.SearchStrategy[str]:
    return st.one_of(mutated(pattern), st.text(max_size=8), st.sampled_from(SPICE))


@pytest.mark.parametrize("pattern", TRANSLATED + EXTRA_PATTERNS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_translated_regex_matches_as_python_and_pandas(pattern, data):
    strings = data.draw(st.lists(texts_for(pattern), min_size=1, max_size=20))
    translated = pushdown.rust_regex(pattern)
    assert translated is not None
    ours = pl.Series(strings, dtype=pl.String).str.contains(translated).to_list()
    assert ours == [re.search(pattern, s) is not None for s in strings]
    assert ours == pd.Series(strings, dtype="str").str.contains(pattern).tolist()


def test_the_suites_regexes_are_translated_but_the_look_ahead_one():
    untranslated = [r for r in suite_regexes() if r not in TRANSLATED]
    assert len(untranslated) == 1 and "(?=" in untranslated[0]


@pytest.mark.parametrize("category", [r"\d", r"\D", r"\s", r"\S", r"\w", r"\W"])
def test_category_classes_hold_exactly_pythons_code_points(category):
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    chars = pl.Series(list(every), dtype=pl.String)
    ours = chars.filter(chars.str.contains(pushdown.rust_regex(category)))
    assert "".join(ours) == "".join(re.findall(category, every))


# --- generated frames, every suite --------------------------------------------------------


def hints(plan: runner_module._Plan) -> dict[str, dict[str, list]]:
    """Per column (or list path): the bounds, sets and regexes its expectations name."""
    found: dict[str, dict[str, list]] = {}
    for instance in plan.instances:
        if instance.spec.whole_table:
            continue
        kwargs = instance.kwargs
        for column in columns_of(kwargs):
            hint = found.setdefault(column, _no_hint())
            hint["low"] += [kwargs["min_value"]] if "min_value" in kwargs else []
            hint["high"] += [kwargs["max_value"]] if "max_value" in kwargs else []
            hint["sets"] += list(kwargs.get("value_set") or [])
            hint["regexes"] += [kwargs["regex"]] if "regex" in kwargs else []
    return found


def strings(hint: dict) -> st.SearchStrategy:
    options = [st.none(), st.just(""), st.text(max_size=5), st.sampled_from(SPICE)]
    if hint["sets"]:
        members = st.sampled_from([v for v in hint["sets"] if isinstance(v, str)] or [""])
        options += [members, members.map(str.upper), members.map(lambda v: v + "\n")]
    options += [mutated(r) for r in hint["regexes"]]
    return st.one_of(options)


def integers(dtype: pl.DataType, hint: dict) -> st.SearchStrategy:
    low, high = (-(2**53), 2**53) if dtype == pl.Int64 else (-(2**31), 2**31 - 1)
    if dtype == pl.Int8:
        low, high = -128, 127
    near = {n + d for n in [*hint["low"], *hint["high"], *hint["sets"], 0] for d in (-1, 0, 1)}
    near = sorted(int(v) for v in near if not isinstance(v, bool) and low <= v <= high)
    return st.one_of(st.none(), st.integers(low, high), st.sampled_from(near))


def floats(hint: dict) -> st.SearchStrategy:
    special = [float("nan"), math.inf, -math.inf, -0.0, 0.0, 0.5, 1.0]
    for bound in map(float, hint["low"] + hint["high"]):
        special += [bound, math.nextafter(bound, math.inf), math.nextafter(bound, -math.inf)]
    return st.one_of(
        st.none(), st.sampled_from(special), st.floats(-2, 2), st.floats(allow_nan=True)
    )


def valid(dtype: pl.DataType, hint: dict) -> st.SearchStrategy:
    """Values meeting every expectation on the column (rows that pass matter as much)."""
    if dtype == pl.String and hint["regexes"]:
        return st.from_regex(hint["regexes"][0], fullmatch=True)
    if hint["sets"]:
        return st.sampled_from(hint["sets"])
    low, high = max(hint["low"], default=-(10**6)), min(hint["high"], default=10**6)
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.Int64):
        if dtype == pl.Int8:
            low, high = max(low, -128), min(high, 127)
        return st.integers(math.ceil(low), math.floor(high))
    if dtype == pl.Float64:
        return st.floats(low, high)
    return values(dtype, hint)


def values(dtype: pl.DataType, hint: dict) -> st.SearchStrategy:
    if dtype == pl.String:
        return strings(hint)
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.Int64):
        return integers(dtype, hint)
    if dtype == pl.Float64:
        return floats(hint)
    if dtype == pl.Boolean:
        return st.one_of(st.none(), st.booleans())
    if isinstance(dtype, pl.Datetime):
        moments = st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1), timezones=st.just(UTC))
        return st.one_of(st.none(), moments)
    raise AssertionError(f"no strategy for {dtype}")


def list_values(dtype: pl.List, column: str, found: dict, kind) -> st.SearchStrategy:
    inner = dtype.inner
    if isinstance(inner, pl.Struct):
        fields = {
            f.name: kind(f.dtype, found.get(f"{column}[].{f.name}", _no_hint()))
            for f in inner.fields
        }
        element = st.fixed_dictionaries(fields)
        element = element if kind is valid else st.one_of(st.none(), element)
    else:
        element = kind(inner, found.get(f"{column}[]", _no_hint()))
    return st.one_of(st.none(), st.lists(element, max_size=3))


def _no_hint() -> dict:
    return {"low": [], "high": [], "sets": [], "regexes": []}


@st.composite
def suite_frames(draw, table: str) -> pl.DataFrame:
    schema = suite_schema(table)
    plan = plan_for(load_suite(table), schema)
    found = hints(plan)
    read = {c.split("[]")[0] for c in found}
    rows = draw(st.integers(0, 45))
    data = {}
    for name, dtype in schema.items():
        if name not in read:
            continue
        kind = draw(st.sampled_from([values, valid]))  # edge values or passing ones
        if isinstance(dtype, pl.List):
            strategy = list_values(dtype, name, found, kind)
        else:
            strategy = kind(dtype, found.get(name, _no_hint()))
        data[name] = draw(st.lists(strategy, min_size=rows, max_size=rows))
    for instance in plan.instances:  # pairs: often equal values, to hit or_equal and ==
        if "column_A" in instance.kwargs:
            a, b = instance.kwargs["column_A"], instance.kwargs["column_B"]
            tie = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
            target, source = (a, b) if schema[a] == pl.Float64 else (b, a)
            data[target] = [
                _like(data[source][i], schema[target]) if t else data[target][i]
                for i, t in enumerate(tie)
            ]
    return pl.DataFrame(data, schema={c: schema[c] for c in data})


def _like(value, dtype):
    if value is None or dtype != pl.Float64:
        return value
    return float(value)


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(CLEAN))
@SETTINGS
@given(data=st.data())
def test_polars_equals_gx_on_generated_frames(table, data):
    frame = data.draw(suite_frames(table))
    assert assert_same(frame, load_suite(table))


# --- kwargs beyond the suites ----------------------------------------------------------------

NUMERIC = [pl.Int8, pl.Int32, pl.Int64, pl.UInt16, pl.Float32, pl.Float64]


def _suite(expectation: str, kwargs: dict) -> SuiteSpec:
    entry = {"name": "x", "expectation": expectation, "kwargs": kwargs, "severity": "ERROR"}
    return parse_suite({"table": "t", "version": 1, "expectations": [entry]})


def _numbers(dtype) -> st.SearchStrategy:
    if dtype == pl.Boolean:
        return st.one_of(st.none(), st.booleans())
    if dtype in (pl.Float32, pl.Float64):
        return st.one_of(st.none(), st.sampled_from([float("nan"), -0.0, 0.1, 1.0, 2.5]))
    low = 0 if dtype == pl.UInt16 else -3
    return st.one_of(st.none(), st.integers(low, 4))


@st.composite
def kwargs_cases(draw):
    dtype = draw(st.sampled_from([*NUMERIC, pl.Boolean]))
    other = draw(st.sampled_from(NUMERIC))
    rows = draw(st.integers(0, 30))
    frame = pl.DataFrame(
        {
            "x": draw(st.lists(_numbers(dtype), min_size=rows, max_size=rows)),
            "y": draw(st.lists(_numbers(other), min_size=rows, max_size=rows)),
        },
        schema={"x": dtype, "y": other},
        strict=False,
    )
    mostly = draw(st.one_of(st.just({}), st.builds(lambda m: {"mostly": m}, st.floats(0, 1))))
    bound = st.one_of(st.none(), st.integers(-2, 3), st.sampled_from([0.1, 1.0, 2.5, -0.0]))
    low, high = draw(bound), draw(bound)
    if low is not None and high is not None and low > high:
        low, high = high, low
    if low is None and high is None:
        low = 0
    strict = {k: draw(st.booleans()) for k in ("strict_min", "strict_max") if draw(st.booleans())}
    ignore = draw(
        st.one_of(
            st.just({}),
            st.sampled_from(pushdown.IGNORE_ROW_IF).map(lambda v: {"ignore_row_if": v}),
        )
    )
    pairs = {"column_A": "x", "column_B": "y", **ignore, **mostly}
    value_set = draw(st.lists(st.integers(-3, 4), max_size=3))
    if dtype in (pl.Float32, pl.Float64):
        value_set += draw(st.lists(st.sampled_from([0.1, 2.5]), max_size=1))
    if dtype == pl.Boolean:
        value_set = draw(st.lists(st.booleans(), max_size=2))
    cases = [
        ("ExpectColumnValuesToBeBetween", {"min_value": low, "max_value": high, **strict}),
        ("ExpectColumnValuesToBeInSet", {"value_set": value_set}),
        ("ExpectColumnValuesToNotBeNull", {}),
        ("ExpectColumnValuesToBeNull", {}),
    ]
    if dtype != pl.Boolean:
        cases += [
            ("ExpectColumnPairValuesAToBeGreaterThanB", pairs),
            ("ExpectColumnPairValuesAToBeGreaterThanB", {**pairs, "or_equal": True}),
            ("ExpectColumnPairValuesToBeEqual", pairs),
        ]
    case = draw(st.sampled_from(cases))
    expectation, kwargs = case
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if "column_A" not in kwargs:
        kwargs = {"column": "x", **kwargs, **mostly}
    return frame, expectation, kwargs


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(kwargs_cases())
def test_polars_equals_gx_for_the_supported_kwargs(case):
    frame, expectation, kwargs = case
    assert assert_same(frame, _suite(expectation, kwargs)), (expectation, kwargs)


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        (pl.Datetime("us", "UTC"), [datetime(2026, 1, 5, 12, 0, 0, 1, tzinfo=UTC), None]),
        (pl.Datetime("ms"), [datetime(2026, 1, 5, 12), None]),
        (pl.Boolean, [True, None, False]),
        (pl.UInt64, [2**53, None]),
        (pl.String, ["", None, "é"]),
        (pl.Float64, [float("nan"), None, 1.0]),
    ],
)
def test_null_checks_list_what_gx_lists(dtype, values):
    frame = pl.DataFrame({"x": values}, schema={"x": dtype})
    for expectation in ("ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull"):
        assert assert_same(frame, _suite(expectation, {"column": "x"}))


def test_ints_beyond_2_53_are_exact_in_polars_only():
    """pandas holds an integer column with a null as float64: 2**53 + 1 becomes 2**53 there, so
    GX finds it in the set {2**53}; polars compares the integers."""
    frame = pl.DataFrame({"x": [2**53 + 1, None]}, schema={"x": pl.Int64})
    suite = _suite("ExpectColumnValuesToBeInSet", {"column": "x", "value_set": [2**53]})
    polars, gx, [instance] = both_engines(frame, suite)
    assert polars[instance.key]["unexpected_count"] == 1
    assert gx[instance.key]["unexpected_count"] == 0
    assert assert_same(frame.drop_nulls(), suite)  # without the null, pandas keeps int64
    # Between compares floats in both engines (GX makes its bounds floats): no difference
    between = _suite("ExpectColumnValuesToBeBetween", {"column": "x", "max_value": 2**53})
    assert assert_same(frame, between) and assert_same(frame.drop_nulls(), between)


def test_examples_are_the_first_twenty_in_row_order_of_a_multi_file_scan(tmp_path):
    """A streaming scan over several files and row groups lists GX's examples, in GX's order."""
    rows = 5_000
    frame = pl.select(
        x=pl.int_range(rows, dtype=pl.Int64).shuffle(seed=3),
        s=pl.format("HP:{}", pl.int_range(rows).cast(pl.String).str.zfill(7)),
    ).with_columns(
        x=pl.when(pl.int_range(pl.len()) % 97 == 5).then(-pl.col("x")).otherwise("x"),
        s=pl.when(pl.int_range(pl.len()) % 89 == 0).then(pl.lit("HP:1")).otherwise("s"),
    )
    for index, piece in enumerate(frame.iter_slices(1_700)):
        piece.write_parquet(tmp_path / f"{index}.parquet", row_group_size=300)
    scan = pl.scan_parquet(tmp_path / "*.parquet")
    between = _suite("ExpectColumnValuesToBeBetween", {"column": "x", "min_value": 0})
    regex = _suite("ExpectColumnValuesToMatchRegex", {"column": "s", "regex": r"^HP:\d{7}$"})
    entries = [between.expectations[0], regex.expectations[0]]
    suite = SuiteSpec("t", 1, "", (entries[0], replace(entries[1], name="y")), {})
    polars_plan = plan_for(suite, scan.collect_schema())
    gx_plan = plan_for(suite, frame.schema, gx=True)
    polars_plan.push_down(scan)
    gx_plan.run_chunks(frame.iter_slices(700))
    for key in polars_plan.tallies:
        polars, gx = polars_plan.tallies[key].decision(), gx_plan.tallies[key].decision()
        assert polars.result["unexpected_count"] > 20
        assert polars.result == gx.result and polars.failures == gx.failures


# --- whole tables through run_suite --------------------------------------------------------

ROWS = 240
DAMAGE = {
    pl.String: [None, "", "x", "FI\n", "٣", "HP:12", "chr0"],
    pl.Int8: [None, -1, 0, 3, 100],
    pl.Int32: [None, -1, 0, 2**31 - 1],
    pl.Int64: [None, -1, 0, 10**12],
    pl.Float64: [None, float("nan"), -0.5, 1.5, math.inf, -0.0],
    pl.Boolean: [None, False],
}


def damaged(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """`frame` with about 4% of its cells (nested ones too) replaced by edge values."""
    rng = random.Random(seed)
    columns = {}
    for name, dtype in frame.schema.items():
        cells = frame[name].to_list()
        for row in rng.sample(range(frame.height), k=frame.height // 25):
            cells[row] = _damage(cells[row], dtype, rng)
        columns[name] = pl.Series(name, cells, dtype=dtype)
    return pl.DataFrame(columns)


def _damage(value, dtype, rng: random.Random):
    if isinstance(dtype, pl.List):
        if rng.random() < 0.3:
            return rng.choice([None, []])
        items = list(value or [])
        items.append(_damage(items[0] if items else None, dtype.inner, rng))
        return items
    if isinstance(dtype, pl.Struct):
        return {f.name: _damage(None, f.dtype, rng) for f in dtype.fields}
    choices = next((v for t, v in DAMAGE.items() if dtype == t), [None])
    return rng.choice(choices)


def outcomes(run) -> list:
    return [
        (o.name, o.passed, {k: v for k, v in o.figures.items() if k != "engine"}, o.failures)
        for o in run.outcomes
    ]


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(CLEAN))
def test_run_suite_is_the_same_with_either_engine(table):
    parameters = {"expected_samples": 50, "expected_rows": ROWS}
    for frame in (CLEAN[table](ROWS), damaged(CLEAN[table](ROWS), seed=len(table))):
        lazy = run_suite(frame.lazy(), table, parameters, chunk_rows=70)
        eager = run_suite(frame, table, parameters, chunk_rows=70)
        with patch.object(pushdown, "check_for", return_value=None):
            gx = run_suite(frame.lazy(), table, parameters, chunk_rows=70)
        assert outcomes(lazy) == outcomes(eager) == outcomes(gx)
        engines = {o.name: o.figures["engine"] for o in lazy.outcomes}
        assert {engines[name] for t, name in GX_ONLY if t == table} <= {"gx"}
    failed = [o for o in lazy.outcomes if not o.passed]
    assert failed  # the damage shows
    assert any(json.loads(o.figures.get("partial_unexpected_list", "[]")) for o in failed)


def test_a_regex_decided_once_per_value_agrees_with_one_per_row_batch_after_batch():
    """The per-value regex keeps state across the engine's batches (whether runs of equal
    neighbours pay): batches of long runs, then short runs, then long runs again, each with
    failing values and nulls, must give what the regex gives row by row."""
    check = pushdown.check_for(
        "ExpectColumnValuesToMatchRegex", {"column": "s", "regex": "^[A-Z]{2}$"}, SCHEMA_S
    )
    row_by_row = ~pl.col("s").is_null() & ~pl.col("s").str.contains(r"^[A-Z]{2}$").fill_null(False)
    long_runs = ["SE"] * 40 + [None] * 3 + ["se"] * 5 + ["DK"] * 40 + ["S1"]
    short_runs = [f"{a}{b}" for a in "AbC" for b in "dEF"] * 6 + [None, "XY", "x"]
    for batch in (long_runs, short_runs, long_runs, short_runs[::-1]):
        frame = pl.DataFrame({"s": batch}, schema=SCHEMA_S)
        got = frame.select(check.unexpected).to_series()
        assert got.to_list() == frame.select(row_by_row).to_series().to_list()
        assert got.sum() > 0 and got.sum() < len(batch)
    # batches where every value passes, with and without nulls: a null stays no failure
    for batch in (["SE"] * 30 + [None] * 2 + ["DK"] * 9, ["SE", "DK", "FI"] * 5):
        frame = pl.DataFrame({"s": batch}, schema=SCHEMA_S)
        assert frame.select(check.unexpected).to_series().sum() == 0
        assert frame.select(check.missing.sum()).item() == batch.count(None)
