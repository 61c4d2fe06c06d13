"""cohort_summary on a constructed cohort with small cells: published counts are true,
every 1..k-1 count is hidden, and no hidden count follows from the published ones."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from gdi_pipelines.domain.aggregates.disclosure import (
    COHORT_SCHEMA,
    TOTAL,
    cohort_summary,
    protect_country_cells,
)
from gdi_pipelines.domain.clinical.ontology import (
    PHENOTYPIC_ABNORMALITY,
    hpo_ancestors,
    hpo_index,
)
from gdi_pipelines_tests.domain.aggregates.suppression_audit import (
    derivable_by_subtraction,
    feasible_ranges,
)

K = 5
CHAPTERS = {  # the truth for the fixture's codes (WHO ICD-10 2019 chapters)
    "ICD10:Q87.4": "ICD10:XVII",
    "ICD10:Q90.9": "ICD10:XVII",
    "ICD10:E84.0": "ICD10:IV",
    "ICD10:G71.0": "ICD10:VI",
    "ORPHA:558": "ORPHA:558",
    "ORPHA:773": "ORPHA:773",
    "OMIM:154700": "OMIM",
}
TERMS = ["HP:0001250", "HP:0001263", "HP:0000252", "HP:0001631", "HP:0002650"]
TERMS += ["HP:0000486", "HP:0000365", "HP:0001508"]
TERM = pl.Struct({"id": pl.String, "label": pl.String})


def _cohort(seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for country, n in (("SE", 160), ("DK", 35)):
        for i in range(n):
            sex = rng.choice(["female", "male", "other", "unknown"], p=[0.48, 0.48, 0.02, 0.02])
            codes = list(rng.choice(list(CHAPTERS), size=rng.integers(0, 3), replace=False))
            observed = list(rng.choice(TERMS, size=rng.integers(0, 4), replace=False))
            rows.append(
                {
                    "country": country,
                    "batch_id": "b001",
                    "sample": f"{country}-PSEUDO-{i:04d}",
                    "sex_at_birth": str(sex),
                    "diagnoses": [{"id": c, "label": None} for c in codes],
                    "hpo_ancestors": list(hpo_ancestors(observed)),
                }
            )
    schema = {"country": pl.String, "batch_id": pl.String, "sample": pl.String}
    schema |= {"sex_at_birth": pl.String, "diagnoses": pl.List(TERM)}
    schema |= {"hpo_ancestors": pl.List(pl.String)}
    return pl.DataFrame(rows, schema=schema)


def _true_counts(cohort: pl.DataFrame) -> Counter:
    """Persons per (country, sex, diagnosis group, phenotype group), person by person."""
    terms = hpo_index().terms
    top = {t for t, e in terms.items() if PHENOTYPIC_ABNORMALITY in e.parents}
    counts: Counter = Counter()
    for person in cohort.iter_rows(named=True):
        diagnoses = {CHAPTERS[d["id"]] for d in person["diagnoses"]} or {"none"}
        branches = set(person["hpo_ancestors"]) & top or {"none"}
        for d in diagnoses:
            for p in branches:
                counts[(person["country"], person["sex_at_birth"], d, p)] += 1
    return counts


@pytest.fixture(scope="module")
def cohort() -> pl.DataFrame:
    return _cohort()


@pytest.fixture(scope="module")
def summary(cohort: pl.DataFrame) -> pl.DataFrame:
    return cohort_summary(cohort, k=K)


def _tables(summary: pl.DataFrame):
    for (country, sex), table in summary.group_by("country", "sex"):
        rows = [*sorted(set(table["diagnosis_group"]) - {TOTAL}), TOTAL]
        cols = [*sorted(set(table["phenotype_group"]) - {TOTAL}), TOTAL]
        published = np.full((len(rows), len(cols)), np.nan)
        for d, p, n in table.select("diagnosis_group", "phenotype_group", "n_persons").iter_rows():
            if n is not None:
                published[rows.index(d), cols.index(p)] = n
        yield country, sex, rows, cols, published


def test_published_counts_are_true_and_small_ones_hidden(cohort, summary) -> None:
    assert summary.schema == COHORT_SCHEMA
    truth = _true_counts(cohort)
    cells = summary.filter(
        (pl.col("diagnosis_group") != TOTAL) & (pl.col("phenotype_group") != TOTAL)
    )
    seen = set()
    for country, sex, d, p, n, why in cells.iter_rows():
        true = truth.get((country, sex, d, p), 0)
        seen.add((country, sex, d, p))
        if n is None:
            assert why in ("primary", "complementary")
            assert (why == "primary") == (1 <= true < K)
        else:
            assert n == true and not 1 <= true < K
    assert {key for key, n in truth.items() if n > 0} <= seen
    small = sum(1 for n in truth.values() if 1 <= n < K)
    hidden = summary["n_persons"].null_count()
    print(f"cohort: {len(truth)} non-empty cells, {small} small; {hidden} numbers hidden")
    assert small > 10  # the fixture does exercise suppression


def test_totals_are_the_sums_of_their_cells(cohort, summary) -> None:
    truth = _true_counts(cohort)
    for country, sex, rows, cols, published in _tables(summary):
        for i, d in enumerate(rows[:-1]):
            expected = sum(truth.get((country, sex, d, p), 0) for p in cols[:-1])
            assert np.isnan(published[i, -1]) or published[i, -1] == expected


def test_no_hidden_count_follows_from_the_published_ones(summary) -> None:
    n_tables = 0
    for country, sex, _rows, _cols, published in _tables(summary):
        assert derivable_by_subtraction(published) == set(), (country, sex)
        for entry, (low, high) in feasible_ranges(published).items():
            assert high - low >= 1, (country, sex, entry)
        n_tables += 1
    assert n_tables >= 6


def test_no_person_level_data_in_the_summary(cohort, summary) -> None:
    assert "sample" not in summary.columns
    text = summary.write_csv()
    assert not any(s in text for s in cohort["sample"])


def test_country_allele_counts_are_withheld_when_small_or_single() -> None:
    rows = pl.DataFrame(
        {
            "country": ["SE", "DK", "FI", "SE", "DK", "FI", "SE", "DK"],
            "variant_id": ["v1", "v1", "v1", "v2", "v2", "v2", "v3", "v3"],
            "AC": [12, 3, 40, 0, 0, 9, 7, 6],
            "AN": [900, 500, 800, 900, 500, 800, 900, 20],
            "n_samples": [450, 250, 400, 450, 250, 400, 450, 10],
        }
    )
    out = protect_country_cells(rows, k=K, min_samples=20)
    why = {(c, v): w for c, v, w in out.select("country", "variant_id", "withheld").iter_rows()}
    assert why[("DK", "v1")] == "small_ac"
    assert why[("SE", "v1")] == "complementary"  # smallest published AC > 0 in v1 (12 < 40)
    assert why[("FI", "v1")] is None
    assert all(why[(c, "v2")] is None for c in ("SE", "DK", "FI"))  # AC 0 is shown
    assert why[("DK", "v3")] == "min_samples" and why[("SE", "v3")] == "complementary"
    for _variant, group in out.group_by("variant_id"):
        contributing = group.filter(pl.col("AN") > 0)
        assert (~contributing["published"]).sum() != 1
