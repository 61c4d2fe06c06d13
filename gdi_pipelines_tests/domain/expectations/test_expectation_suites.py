"""The suites in the repository: they load, map to real GX classes and match the tables."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from gdi_pipelines.domain.clinical.model import PERSON_SCHEMA
from gdi_pipelines.domain.expectations.suites import (
    CHUNKED,
    WHOLE_TABLE,
    SuiteError,
    load_suite,
    parse_suite,
    suite_names,
)
from gdi_pipelines.domain.sequencing.table import SCHEMA as RAW_SEQUENCES_SCHEMA
from gdi_pipelines.domain.variants.harmonise import CALL_SCHEMA

KEYS = {"country": pl.String, "batch_id": pl.String}
PUBLISHED = {
    "raw_sequences": pl.Schema(RAW_SEQUENCES_SCHEMA),
    "harmonised_variants": pl.Schema({**KEYS, **CALL_SCHEMA}),
    "clinical_phenotypes": pl.Schema(
        {
            **KEYS,
            "sample": pl.String,
            **{k: v for k, v in PERSON_SCHEMA.items() if k != "sample_id"},
        }
    ),
}


def test_one_suite_per_table():
    assert suite_names() == [
        "clinical_phenotypes",
        "country_variant_summaries",
        "cross_country_aggregates",
        "harmonised_variants",
        "raw_sequences",
        "sample_qc",
    ]


@pytest.mark.parametrize("name", suite_names())
def test_every_entry_is_a_real_gx_expectation(name):
    from gdi_pipelines.domain.expectations.gx_bridge import gx_expectation

    suite = load_suite(name)
    assert suite.table == name and suite.version >= 1 and suite.meta["evaluation"]
    for spec in suite.expectations:
        # as written, $PARAMETER included: GX's own pydantic models must accept the kwargs
        for kwargs in spec.instances(["AF_FI", "AF_XX"]):
            expectation = gx_expectation(spec, kwargs)
            assert type(expectation).__name__ == spec.expectation
            assert expectation.configuration.kwargs  # serialisable as a GX configuration


def test_chunked_expectations_are_row_level_and_whole_table_ones_exist():
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    from gdi_pipelines.domain.expectations.gx_bridge import expectation_class

    row_level = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    for name in CHUNKED:
        assert issubclass(expectation_class(name), row_level), name
    for name in WHOLE_TABLE:
        assert expectation_class(name)


@pytest.mark.parametrize("table", sorted(PUBLISHED))
def test_suites_describe_the_published_schema(table):
    """Schema drift in the code shows up here, not as a blocked partition."""
    specs = {s.name: s for s in load_suite(table).expectations}
    assert specs["columns_in_order"].kwargs["column_list"] == PUBLISHED[table].names()
    types = {k["column"]: k["type_"] for k in specs["column_types"].instances([])}
    assert types == {name: str(dtype) for name, dtype in PUBLISHED[table].items()}


def test_names_do_not_clash_with_the_assets_own_checks():
    from gdi_pipelines.domain.clinical import gates as clinical
    from gdi_pipelines.domain.sequencing import gates as sequencing
    from gdi_pipelines.domain.variants import gates as variants

    for table, gates in [
        ("clinical_phenotypes", clinical),
        ("raw_sequences", sequencing),
        ("harmonised_variants", variants),
    ]:
        names = {s.name for s in load_suite(table).expectations}
        assert not names & {name for name, _, _ in gates.CHECKS}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"expectation": "ExpectColumnValuesToBeIncreasing"}, "neither a row-level"),
        ({"severity": "FATAL"}, "severity"),
        ({"name": "Bad Name"}, "lower_snake_case"),
        ({"kwargs": {"column": "x", "value_set": {"a": 1}}}, "PARAMETER"),
        ({"colum": "x"}, "unknown keys"),
        ({"expectation": "ExpectColumnValuesToBeUnique", "kwargs": {"column": "x[]"}}, "list"),
    ],
)
def test_malformed_entries_are_refused(entry, message):
    good = {
        "name": "x_known",
        "expectation": "ExpectColumnValuesToBeInSet",
        "kwargs": {"column": "x", "value_set": ["a"]},
        "severity": "ERROR",
    }
    with pytest.raises(SuiteError, match=message):
        parse_suite({"table": "t", "version": 1, "expectations": [{**good, **entry}]})


def test_importing_the_package_does_not_import_gx():
    code = (
        "import sys, gdi_pipelines.domain.expectations as e; e.load_suite('raw_sequences'); "
        "assert 'great_expectations' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
