"""Pooled figures == bcftools on all QC-passing samples together; per-country withholding;
faf95 against the closed form and hail's algorithm; nothing but summaries gets in or out."""

from __future__ import annotations

import inspect
import math

import numpy as np
import polars as pl
import pytest
from scipy.special import gammainccinv
from scipy.stats import poisson

from gdi_pipelines.domain.aggregates.federation import (
    FederationConfig,
    contig_order,
    filtering_allele_frequency,
    pool_country_summaries,
    regions,
)
from gdi_pipelines_tests.domain.aggregates.conftest import Node
from gdi_pipelines_tests.domain.aggregates.test_variant_summaries import close, country_oracle

CONFIG = FederationConfig(min_samples=20, k=5)
FORBIDDEN_COLUMNS = {"sample", "dosage", "ploidy", "gq", "dp", "ad_ref", "ad_alt", "gt"}
FORBIDDEN_COLUMNS |= {"diagnoses", "observed_hpo", "hpo_ancestors", "sex_at_birth", "batch_id"}


def _pooled(node: Node) -> pl.DataFrame:
    by_country = [node.summaries.filter(pl.col("country") == c) for c in ("AA", "BB", "CC")]
    return pool_country_summaries(by_country, CONFIG)


@pytest.mark.parametrize("node_name", ["beagle_node", "hapmap_node"])
def test_pooled_figures_equal_bcftools_on_all_samples_together(node_name, request) -> None:
    node: Node = request.getfixturevalue(node_name)
    pooled = _pooled(node)
    # a variant every sample has as no-call (AN 0 in bcftools too) is not pooled
    expected = country_oracle(node, None).filter(pl.col("AN") > 0)
    both = pooled.join(expected, on="variant_id", suffix="_bcftools")
    assert set(pooled["variant_id"]) == set(expected["variant_id"]) and both.height > 1000
    assert (both["AC"] == both["AC_bcftools"]).all() and (both["AN"] == both["AN_bcftools"]).all()
    assert (2 * both["nhomalt"] == both["AC_Hom"]).all()
    assert (both["nhemi"] == both["AC_Hemi"]).all()
    assert all(close(a, b) for a, b in both.select("AF", "AF_bcftools").iter_rows())
    print(f"{node_name}: pooled AC/AN/nhomalt exact and AF within float32 on {both.height}")


def test_country_columns_are_withheld_by_rule_and_never_single(beagle_node: Node) -> None:
    pooled = _pooled(beagle_node)
    summaries = beagle_node.summaries
    # CC has fewer than min_samples passing samples: pooled figures only
    assert pooled["AC_CC"].is_null().all() and pooled["AN_CC"].is_null().all()
    assert summaries.filter(pl.col("country") == "CC")["n_samples"].max() < CONFIG.min_samples
    n_withheld = 0
    for country in ("AA", "BB"):
        mine = summaries.filter(pl.col("country") == country).select("variant_id", "AC", "AN")
        both = pooled.select("variant_id", f"AC_{country}", f"AN_{country}").join(
            mine, on="variant_id"
        )
        shown = both.filter(pl.col(f"AC_{country}").is_not_null())
        assert (shown[f"AC_{country}"] == shown["AC"]).all()
        assert (shown[f"AN_{country}"] == shown["AN"]).all()
        assert not shown["AC"].is_between(1, CONFIG.k - 1).any()  # small counts never shown
        n_withheld += both.height - shown.height
    # pooled minus the published countries never isolates one country's count
    published = pl.sum_horizontal(
        pl.col(f"AN_{c}").is_not_null().cast(pl.Int32) for c in ("AA", "BB", "CC")
    )
    hidden_contributors = pooled.select(pl.col("n_countries") - published).to_series()
    assert not (hidden_contributors == 1).any()
    print(f"withheld AA/BB cells: {n_withheld} of {2 * pooled.height}")


def _hail_faf(ac: int, an: int, ci: float = 0.95) -> float:
    """hail's calcFilterAlleleFreq: root, rounded, then stepped up by 1e-6 (Scala port)."""
    if ac <= 1 or an == 0:
        return 0.0
    root = gammainccinv(ac, ci) / an  # uniroot of ac - 1 - qpois(ci, an*af)
    max_af = round(root * 1e8) / 1e8
    while poisson.ppf(ci, an * max_af) < ac:
        max_af += 1e-6
    return max_af - 1e-6


def test_faf95_is_the_poisson_bound_gnomad_uses() -> None:
    rng = np.random.default_rng(3)
    an = rng.integers(2, 200_000, 400)
    ac = np.minimum(rng.integers(0, 3000, 400), an)
    faf = filtering_allele_frequency(ac, an)
    closed = np.where(ac <= 1, 0.0, gammainccinv(np.maximum(ac, 1), 0.95) / an)
    assert np.allclose(faf, closed, rtol=1e-9, atol=1e-15)
    for a, n, f in zip(ac[:60], an[:60], faf[:60], strict=True):
        assert math.isclose(f, _hail_faf(int(a), int(n)), abs_tol=2e-6)
        if a > 1:  # the definition: Poisson(AN·faf) 95th percentile still below AC
            assert poisson.ppf(0.95, n * f * (1 - 1e-9)) < a <= poisson.ppf(0.95, n * f * 1.001)
    assert math.isnan(filtering_allele_frequency([3], [0])[0])


def test_a_variant_no_country_called_is_not_pooled(beagle_node: Node) -> None:
    """Every call masked in every country (AN = 0): nothing to share; the federation gate
    requires n_countries >= 1 of every pooled variant."""
    summaries = beagle_node.summaries
    silent = summaries["variant_id"][0]
    uncalled = pl.col("variant_id") == silent
    zeroed = summaries.with_columns(
        [pl.when(uncalled).then(0).otherwise(pl.col(c)).alias(c) for c in ("AC", "AN")]
    )
    by_country = [zeroed.filter(pl.col("country") == c) for c in ("AA", "BB", "CC")]
    pooled = pool_country_summaries(by_country, CONFIG)
    assert silent not in set(pooled["variant_id"])
    assert pooled.height == _pooled(beagle_node).height - 1
    assert (pooled["n_countries"] >= 1).all()


def test_pools_of_regions_make_the_whole_pool(beagle_node: Node) -> None:
    """cross_country_aggregates pools a region at a time: the pools, concatenated, are the
    pool of all; a country without variants in a region still has its columns."""
    summaries = beagle_node.summaries
    by_country = [summaries.filter(pl.col("country") == c) for c in ("AA", "BB", "CC")]
    whole = pool_country_summaries(by_country, CONFIG)
    cut = regions([f.lazy() for f in by_country], positions_per_region=40)
    positions = summaries["pos"].n_unique()
    assert len(cut) == math.ceil(positions / 40) > 2
    parts = [
        pool_country_summaries(
            [
                f.filter((pl.col("chrom") == c) & pl.col("pos").is_between(lo, hi, "left"))
                for f in by_country
            ],
            CONFIG,
            ["AA", "BB", "CC"],
        )
        for c, lo, hi in cut
    ]
    assert pl.concat(parts).equals(whole)
    only_aa = pool_country_summaries(by_country[:1], CONFIG, ["AA", "BB", "CC"])
    assert only_aa.columns == whole.columns
    assert only_aa.select(pl.col("AC_BB", "AC_CC").null_count().sum()).row(0) == (
        only_aa.height,
        only_aa.height,
    )


def test_contig_order_puts_canonical_contigs_first() -> None:
    shuffled = ["chrUn_b", "chrX", "chr10", "chrM", "chr2", "chrUn_a", "chr1", "chrY"]
    expected = ["chr1", "chr2", "chr10", "chrX", "chrY", "chrM", "chrUn_a", "chrUn_b"]
    assert contig_order(shuffled) == expected


def test_only_country_summaries_are_accepted(beagle_node: Node) -> None:
    parameters = ["summaries", "config", "countries"]  # countries: codes naming columns
    assert list(inspect.signature(pool_country_summaries).parameters) == parameters
    summaries = beagle_node.summaries
    h = beagle_node.harmonised
    attempts = [
        summaries.with_columns(sample=pl.lit("x")),
        h.calls,
        h.samples,
        beagle_node.qc,
        summaries.drop("AN"),
        summaries.with_columns(country=pl.lit("Sweden")),
        pl.concat([summaries, summaries]),
    ]
    for frame in attempts:
        with pytest.raises(ValueError, match=r"country summary|country codes|one row"):
            pool_country_summaries(frame, CONFIG)
    with pytest.raises(ValueError, match=r"unexpected columns \[.sample.\]"):
        pool_country_summaries([summaries, h.calls.select("country", "sample")], CONFIG)


@pytest.mark.parametrize("node_name", ["beagle_node", "hapmap_node"])
def test_no_person_level_data_in_the_pooled_output(node_name, request) -> None:
    node: Node = request.getfixturevalue(node_name)
    pooled = _pooled(node)
    assert not FORBIDDEN_COLUMNS & {c.lower() for c in pooled.columns}
    pseudonyms = set(node.harmonised.samples["sample"])
    text = pooled.select(pl.col(pl.String)).write_csv()
    assert not any(p in text for p in pseudonyms)
    assert pooled.height == pooled["variant_id"].n_unique()
