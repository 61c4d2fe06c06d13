"""Sample QC counts on real files == bcftools stats per sample; sex inference, outliers and
fail reasons on constructed batches."""

from __future__ import annotations

import polars as pl
import pytest

from gdi_pipelines.domain.aggregates.sample_qc import OUTLIER_METRICS, SampleQcConfig, sample_qc
from gdi_pipelines_tests.domain.aggregates.aggregates_oracles import (
    bcftools_stats_per_sample,
    count_records,
    normalised_batch,
    pass_records,
)
from gdi_pipelines_tests.domain.aggregates.conftest import BUILD, Node

QC = SampleQcConfig(build=BUILD)


@pytest.mark.parametrize("node_name", ["beagle_node", "hapmap_node"])
def test_per_sample_counts_equal_bcftools_stats(node_name: str, request) -> None:
    node: Node = request.getfixturevalue(node_name)
    for batch in node.batches:
        path = node.harmonised.files[(batch.country, batch.batch_id)]
        normalised = normalised_batch(
            path, node.fasta, list(batch.samples), node.folder, node.masked
        )
        stats = bcftools_stats_per_sample(normalised)
        singles = bcftools_stats_per_sample(normalised, singleton_sites=True)
        n_sites = count_records(pass_records(normalised))
        ours = node.qc.filter(
            (pl.col("country") == batch.country) & (pl.col("batch_id") == batch.batch_id)
        )
        both = ours.join(stats, on="sample").join(
            singles.select("sample", single_sites=pl.col("singletons")), on="sample"
        )
        assert both.height == ours.height == len(batch.samples)
        checks = {
            "n_het": pl.col("het_snv") + pl.col("ins_het") + pl.col("del_het"),
            "n_hom_alt": pl.col("hom_alt_snv")
            + pl.col("ins_hom")
            + pl.col("del_hom")
            + pl.col("hap_alt"),
            "n_transitions": pl.col("ts"),
            "n_transversions": pl.col("tv"),
            "n_insertions": pl.col("ins_het") + pl.col("ins_hom"),
            "n_deletions": pl.col("del_het") + pl.col("del_hom"),
            "n_no_call": pl.col("missing"),
            "n_singletons": pl.col("single_sites"),
            "n_callable_sites": pl.lit(n_sites),
        }
        for ours_col, theirs in checks.items():
            agree = both.select((pl.col(ours_col) == theirs).all()).item()
            assert agree, (batch, ours_col)
        assert (both["n_insertions"] + both["n_deletions"] == both["indels"]).all()
        expected_rate = 1 - both["missing"] / n_sites
        assert ((both["call_rate"] - expected_rate).abs() < 1e-12).all()
        print(
            f"{node_name} {batch.country}/{batch.batch_id}: {both.height} samples x {n_sites} "
            f"PASS sites agree with bcftools stats; het {both['n_het'].sum()}, "
            f"ti/tv {both['n_transitions'].sum()}/{both['n_transversions'].sum()}, "
            f"singletons {both['n_singletons'].sum()}, no-calls {both['n_no_call'].sum()}"
        )


def test_outliers_against_the_batch_median_fail_qc(beagle_node: Node) -> None:
    """In BB/b001 (80 samples): one sample loses 5% of its calls to no-calls, another turns
    30% of its hom-ref calls into hets (as a contaminated sample would); each is flagged on
    its metrics, nobody else on those."""
    h = beagle_node.harmonised
    batch = (pl.col("country") == "BB") & (pl.col("batch_id") == "b001")
    low_rate, contaminated = sorted(h.samples.filter(batch)["sample"])[:2]
    sites = h.sites.filter(batch)

    def hom_ref_sites(sample: str, share: float, dosage: int | None) -> pl.DataFrame:
        listed = h.calls.filter(batch & (pl.col("sample") == sample))["variant_id"]
        free = sites.filter(~pl.col("variant_id").is_in(listed.to_list()))
        return free.head(int(sites.height * share)).with_columns(
            sample=pl.lit(sample), dosage=pl.lit(dosage, pl.Int8), ploidy=pl.lit(2, pl.Int8)
        )

    extra = [hom_ref_sites(low_rate, 0.05, None), hom_ref_sites(contaminated, 0.3, 1)]
    calls = pl.concat([h.calls, *extra], how="diagonal_relaxed")
    qc = sample_qc(calls.lazy(), h.sites.lazy(), h.samples.lazy(), config=QC).collect()
    qc = qc.filter(batch)
    flagged = {m: set(qc.filter(pl.col(f"{m}_outlier"))["sample"]) for m in OUTLIER_METRICS}
    assert flagged["call_rate"] == {low_rate}
    assert flagged["n_het"] == flagged["het_hom_ratio"] == {contaminated}
    reasons = dict(qc.select("sample", "qc_fail_reasons").iter_rows())
    assert "call_rate_outlier" in reasons[low_rate] and "n_het_outlier" in reasons[contaminated]
    assert not qc.filter(pl.col("sample").is_in([low_rate, contaminated]))["qc_pass"].any()
