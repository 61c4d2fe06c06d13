"""Country summaries on real files == bcftools +fill-tags on the same samples, and exact
haploid/ploidy handling on constructed sex-chromosome cases."""

from __future__ import annotations

import math

import polars as pl
import pytest

from gdi_pipelines.domain.aggregates.variant_summaries import SUMMARY_SCHEMA
from gdi_pipelines_tests.domain.aggregates.aggregates_oracles import (
    fill_tags,
    merged,
    normalised_batch,
)
from gdi_pipelines_tests.domain.aggregates.conftest import Node


def country_oracle(node: Node, country: str | None) -> pl.DataFrame:
    """bcftools +fill-tags over the QC-passing samples of `country` (None: every country):
    each batch normalised and cut on its own, batches merged (missing where not genotyped)."""
    passing = node.qc.filter(pl.col("qc_pass"))
    files = []
    for batch in node.batches:
        if country not in (None, batch.country):
            continue
        keep = passing.filter(
            (pl.col("country") == batch.country) & (pl.col("batch_id") == batch.batch_id)
        )["sample"].to_list()
        if keep:
            path = node.harmonised.files[(batch.country, batch.batch_id)]
            files.append(normalised_batch(path, node.fasta, keep, node.folder, node.masked))
    return fill_tags(merged(files, node.folder, country or "all"))


def close(ours: float | None, theirs: float | None, rel: float = 2e-5) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-37)  # VCF floats are float32


@pytest.mark.parametrize("node_name", ["beagle_node", "hapmap_node"])
def test_country_summaries_equal_bcftools_fill_tags(node_name: str, request) -> None:
    node: Node = request.getfixturevalue(node_name)
    assert node.summaries.schema == SUMMARY_SCHEMA
    for country in ("AA", "BB", "CC"):
        ours = node.summaries.filter(pl.col("country") == country)
        expected = country_oracle(node, country)
        assert ours.height == ours["variant_id"].n_unique()
        assert set(ours["variant_id"]) == set(expected["variant_id"])
        both = ours.join(expected, on="variant_id", suffix="_bcftools")
        for ours_col, theirs in [("AC", "AC_bcftools"), ("AN", "AN_bcftools")]:
            assert (both[ours_col] == both[theirs]).all(), (country, ours_col)
        assert (both["n_het"] == both["AC_Het"]).all()
        assert (2 * both["n_hom_alt"] == both["AC_Hom"]).all()
        assert (both["n_hemi"] == both["AC_Hemi"]).all()
        af = [close(a, b) for a, b in both.select("AF", "AF_bcftools").iter_rows()]
        # bcftools writes HWE=1 where no genotype is called; we write null there
        genotyped = both.filter(
            pl.col("n_hom_ref_diploid") + pl.col("n_het") + pl.col("n_hom_alt") > 0
        )
        ungenotyped = both.filter(pl.col("AN") == 0)
        assert ungenotyped["hwe_p"].is_null().all() and (ungenotyped["HWE"] == 1).all()
        assert genotyped.height + ungenotyped.height == both.height
        hwe = [close(a, b, rel=1e-4) for a, b in genotyped.select("hwe_p", "HWE").iter_rows()]
        print(
            f"{node_name} {country}: {both.height} variants, AC/AN/het/hom exact, "
            f"AF {sum(af)}/{len(af)}, HWE {sum(hwe)}/{len(hwe)} (+{ungenotyped.height} AN=0); "
            f"AN range {both['AN'].min()}..{both['AN'].max()}, "
            f"no-calls {both['n_no_call'].sum()}, samples failing QC "
            f"{node.qc.filter((pl.col('country') == country) & ~pl.col('qc_pass')).height}"
        )
        assert all(af) and all(hwe)
