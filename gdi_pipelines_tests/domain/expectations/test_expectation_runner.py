"""validate_table: clean tables pass, each injected defect fails exactly its expectation, chunked
validation equals whole-frame validation, Data Docs are written.

GX is slow (seconds to import, ~0.5 s per batch validation): frames are small and one GX context
serves the whole process (gx_bridge caches it).
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from gdi_pipelines.domain.expectations import load_suite, pushdown, run_suite, validate_table
from gdi_pipelines.domain.quality import Severity
from gdi_pipelines_tests.domain.expectations.tables import (
    CLEAN,
    clinical_phenotypes,
    country_variant_summaries,
    harmonised_variants,
    raw_sequences,
)

ROWS = 400
PARAMETERS = {
    "harmonised_variants": {"expected_samples": 50},
    "raw_sequences": {"expected_rows": ROWS},
    "clinical_phenotypes": {"expected_rows": ROWS},
}


def failing(outcomes) -> dict:
    return {o.name: o for o in outcomes if not o.passed}


def set_row(frame: pl.DataFrame, row: int, **values) -> pl.DataFrame:
    at_row = pl.int_range(pl.len()) == row
    return frame.with_columns(
        pl.when(at_row).then(pl.lit(v, dtype=frame.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, v in values.items()
    )


@pytest.mark.parametrize("table", sorted(CLEAN))
def test_a_clean_table_passes_every_expectation(table):
    outcomes = validate_table(CLEAN[table](ROWS), table, PARAMETERS.get(table))
    assert [o.name for o in outcomes] == [s.name for s in load_suite(table).expectations]
    assert failing(outcomes) == {}
    assert all(o.figures["engine"] in {"gx", "polars", "none"} for o in outcomes)


def test_af_above_one_fails_af_in_unit_interval():
    frame = set_row(country_variant_summaries(ROWS), 5, AF=1.5)
    bad = failing(validate_table(frame, "country_variant_summaries"))
    assert set(bad) == {"af_in_unit_interval"}
    figures = bad["af_in_unit_interval"].figures
    assert (figures["unexpected_count"], figures["element_count"]) == (1, ROWS)
    assert json.loads(figures["partial_unexpected_list"]) == [1.5]
    assert figures["engine"] == "polars"  # pushed down (pushdown.py)
    assert "ExpectColumnValuesToBeBetween on AF: 1 of 400" in bad["af_in_unit_interval"].failures[0]


def test_ac_above_an_fails_ac_at_most_an():
    clean = country_variant_summaries(ROWS)
    frame = set_row(clean, 7, AC=clean["AN"][7] + 1)  # AF left as it was
    bad = failing(validate_table(frame, "country_variant_summaries"))
    assert set(bad) == {"ac_at_most_an"}
    assert bad["ac_at_most_an"].figures["unexpected_count"] == 1
    [[an, ac]] = json.loads(bad["ac_at_most_an"].figures["partial_unexpected_list"])
    assert ac == an + 1


def test_invalid_hpo_curie_fails_hpo_curie_form():
    clean = clinical_phenotypes(ROWS)
    terms = clean["observed_hpo"].to_list()
    terms[3] = [{"id": "HP:123", "label": "too short"}, *terms[3]]
    frame = clean.with_columns(pl.Series("observed_hpo", terms, dtype=clean["observed_hpo"].dtype))
    bad = failing(validate_table(frame, "clinical_phenotypes", PARAMETERS["clinical_phenotypes"]))
    assert set(bad) == {"hpo_curie_form"}
    figures = bad["hpo_curie_form"].figures
    assert figures["unexpected_count"] == 1
    assert json.loads(figures["observed_hpo[].id.partial_unexpected_list"]) == ["HP:123"]
    assert figures["observed_hpo[].id.element_count"] == 2 * ROWS + 1  # elements, not rows


def test_bad_sex_value_fails_the_vocabulary():
    frame = set_row(clinical_phenotypes(ROWS), 2, sex_at_birth="F")
    bad = failing(validate_table(frame, "clinical_phenotypes", PARAMETERS["clinical_phenotypes"]))
    assert set(bad) == {"sex_and_gender_vocabulary"}
    outcome = bad["sex_and_gender_vocabulary"]
    assert outcome.figures["sex_at_birth.partial_unexpected_list"] == '["F"]'
    assert outcome.figures["failed"] == 1 and outcome.severity is Severity.ERROR
    assert outcome.blocks


def test_duplicate_across_two_chunks_fails_uniqueness():
    first = harmonised_variants(300)
    second = pl.concat([harmonised_variants(299, start=300), first.slice(10, 1)])
    parameters = PARAMETERS["harmonised_variants"]
    # an iterable (keys spooled, read in 2 chunks) and a LazyFrame (polars on the scan, no chunk
    # read: every map expectation is pushed down), both in 2 hash-bucket passes of the
    # uniqueness check
    for frames, chunks in (([first, second], 2), (pl.concat([first, second]).lazy(), 0)):
        run = run_suite(
            frames, "harmonised_variants", parameters, chunk_rows=300, unique_rows_per_pass=400
        )
        assert run.chunks == chunks
        assert set(failing(run.outcomes)) == {"sample_variant_unique"}
        figures = failing(run.outcomes)["sample_variant_unique"].figures
        assert (figures["unexpected_count"], figures["duplicated_keys"]) == (2, 1)
        assert figures["engine"] == "polars" and figures["passes"] == 2
        [example] = json.loads(figures["partial_unexpected_list"])
        assert example == {"sample": first["sample"][10], "variant_id": first["variant_id"][10]}


def test_wrong_column_type_fails_column_types():
    frame = harmonised_variants(ROWS).with_columns(pl.col("dosage").cast(pl.Int64))
    bad = failing(validate_table(frame, "harmonised_variants", PARAMETERS["harmonised_variants"]))
    assert set(bad) == {"column_types"}
    assert bad["column_types"].figures["dosage.observed_value"] == "Int64"
    assert bad["column_types"].failures == (
        "ExpectColumnTypeToBe on dosage: type is Int64, expected Int8",
    )


def test_missing_column_fails_the_column_list_and_its_own_checks():
    frame = raw_sequences(ROWS).drop("gc_fraction")
    bad = failing(validate_table(frame, "raw_sequences", PARAMETERS["raw_sequences"]))
    # the column-list check names it; checks reading the column fail as "absent" (never skipped)
    assert set(bad) == {"columns_in_order", "column_types", "fractions_in_unit_interval"}
    assert bad["columns_in_order"].figures["missing_columns"] == '["gc_fraction"]'
    assert all("gc_fraction" in line for o in bad.values() for line in o.failures)


def test_row_count_different_from_the_manifest_fails():
    frame = raw_sequences(ROWS)
    bad = failing(validate_table(frame, "raw_sequences", {"expected_rows": ROWS + 2}))
    assert set(bad) == {"rows_match_manifest"}
    assert bad["rows_match_manifest"].figures["observed_value"] == ROWS
    assert bad["rows_match_manifest"].failures == (
        f"ExpectTableRowCountToEqual: {ROWS} rows, expected {ROWS + 2}",
    )


def test_a_missing_run_time_parameter_is_an_error():
    with pytest.raises(ValueError, match="expected_rows"):
        validate_table(raw_sequences(3), "raw_sequences")


def test_chunked_validation_equals_whole_frame_validation(monkeypatch):
    frame = harmonised_variants(1500)
    frame = set_row(frame, 3, dosage=3)
    frame = set_row(frame, 700, chrom="22", ploidy=3)
    frame = set_row(frame, 1499, sample="FI-NOT-A-PSEUDONYM", pos=0)
    frame = pl.concat([frame, frame.slice(1200, 2)])  # duplicates in the last chunk
    parameters = {"expected_samples": 50}  # the bad pseudonym is a 51st sample

    def comparable(run):
        ignored = {"passes", "engine"}
        return [
            (o.name, o.passed, {k: v for k, v in o.figures.items() if k not in ignored}, o.failures)
            for o in run.outcomes
        ]

    # polars on the whole LazyFrame; polars on each chunk of an iterable, summed; GX on chunks
    whole = run_suite(frame.lazy(), "harmonised_variants", parameters, chunk_rows=400)
    chunked = run_suite(frame, "harmonised_variants", parameters, chunk_rows=400)
    monkeypatch.setattr(pushdown, "check_for", lambda *args: None)
    gx = run_suite(frame.lazy(), "harmonised_variants", parameters, chunk_rows=400)
    assert (whole.chunks, chunked.chunks, gx.chunks) == (0, 4, 4)
    assert {o.figures["engine"] for o in gx.outcomes} == {"gx", "polars"}
    assert comparable(chunked) == comparable(whole) == comparable(gx)
    assert set(failing(whole.outcomes)) == {
        "sample_pseudonym_form",
        "chrom_canonical",
        "positions_positive",
        "dosage_range",
        "ploidy_range",
        "dosage_within_ploidy",
        "sample_variant_unique",
        "samples_match_manifest",
    }


def test_data_docs_are_written(tmp_path):
    docs = tmp_path / "_docs" / "gx" / "raw_sequences"
    frame = set_row(raw_sequences(ROWS), 0, q30_fraction=1.2)
    run = run_suite(frame, "raw_sequences", PARAMETERS["raw_sequences"], docs_dir=docs)
    assert run.docs_index == docs.resolve() / "index.html" and run.docs_index.is_file()
    assert run.docs_page.is_file() and run.docs_page.is_relative_to(docs.resolve())
    assert all(o.figures["data_docs"] == str(run.docs_index) for o in run.outcomes)
    page = run.docs_page.read_text()
    assert "raw_sequences" in page and "q30_fraction" in page


def test_data_docs_templates_are_compiled_once_per_process(tmp_path, monkeypatch):
    import jinja2

    frame = set_row(raw_sequences(ROWS), 0, q30_fraction=1.2)
    run_suite(frame, "raw_sequences", PARAMETERS["raw_sequences"], docs_dir=tmp_path / "first")
    compiled = []
    original = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    again = run_suite(
        frame, "raw_sequences", PARAMETERS["raw_sequences"], docs_dir=tmp_path / "again"
    )
    assert compiled == [], f"compiled again: {compiled}"
    page = again.docs_page.read_text()
    assert "q30_fraction" in page and "1.2" in page
