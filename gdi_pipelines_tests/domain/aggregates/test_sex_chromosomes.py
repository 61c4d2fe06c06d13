"""Sex inference and ploidy-exact AN on a constructed batch with both sexes on chrX/chrY."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gdi_pipelines.domain.aggregates import sample_qc as sample_qc_module
from gdi_pipelines.domain.aggregates.sample_qc import SampleQcConfig, sample_qc
from gdi_pipelines.domain.aggregates.variant_summaries import variant_summaries
from gdi_pipelines_tests.domain.aggregates.sex_batch import (
    PARS,
    PEOPLE,
    harmonise_sex_batch,
    write_sex_batch,
)
from gdi_pipelines_tests.domain.variants.variants_oracles import bcftools

QC = SampleQcConfig(par_regions=PARS)
TRUE_KARYOTYPE = {p.name: "XY" if p.true_sex == "male" else "XX" for p in PEOPLE}


@pytest.fixture(scope="module")
def sex_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sex")
    vcf, fasta = write_sex_batch(folder)
    calls, sites, samples = harmonise_sex_batch(vcf, fasta)
    qc = sample_qc(calls.lazy(), sites.lazy(), samples.lazy(), config=QC).collect()
    return folder, vcf, calls, sites, qc, samples


def test_inferred_sex_finds_both_swaps(sex_batch) -> None:
    _, _, _, _, qc, _ = sex_batch
    inferred = dict(qc.select("sample", "inferred_sex").iter_rows())
    print(qc.select("sample", "reported_sex", "chrx_f", "chry_call_rate", "inferred_sex"))
    assert inferred == TRUE_KARYOTYPE
    swapped = {p.name for p in PEOPLE if p.reported not in ("unknown", p.true_sex)}
    assert set(qc.filter(pl.col("sex_mismatch"))["sample"]) == swapped
    failing = qc.filter(~pl.col("qc_pass"))
    assert set(failing["sample"]) == swapped
    assert all("sex_mismatch" in r for r in failing["qc_fail_reasons"])
    unknown = qc.filter(pl.col("sample") == "U_M").row(0, named=True)
    assert unknown["karyotype"] == "XY" and not unknown["sex_mismatch"]
    # a woman's chrY non-PAR sites are not callable for her; a man's are
    callable_sites = dict(qc.select("sample", "n_callable_sites").iter_rows())
    n_y = qc["n_y_sites"][0]
    assert callable_sites["M00"] - callable_sites["F00"] == n_y > 0


def _fill_tags_by_karyotype(folder, vcf, samples: list[str], karyotypes: dict) -> pl.DataFrame:
    groups = folder / "groups.txt"
    groups.write_text("".join(f"{s}\t{karyotypes[s]}\n" for s in samples))
    cut = bcftools("view", "-s", ",".join(samples), "-Ou", str(vcf)).stdout
    tags = ["-t", "AC,AN,AC_Hemi", "-S", str(groups)]
    filled = bcftools("+fill-tags", "-Ou", "-", "--", "-t", "AC,AN,AC_Hemi", stdin=cut).stdout
    grouped = bcftools("+fill-tags", "-Ou", "-", "--", *tags, stdin=filled).stdout
    fmt = r"%CHROM-%POS-%REF-%ALT\t%AC\t%AN\t%AC_Hemi\t%AC_XX\t%AN_XX\t%AC_XY\t%AN_XY\n"
    text = bcftools("query", "-f", fmt, "-", stdin=grouped).stdout.decode()
    rows = [(v, *map(int, rest)) for v, *rest in (line.split("\t") for line in text.splitlines())]
    names = ["variant_id", "AC", "AN", "AC_Hemi", "AC_XX", "AN_XX", "AC_XY", "AN_XY"]
    return pl.DataFrame(rows, schema=names, orient="row")


def test_ploidy_exact_an_on_sex_chromosomes_equals_bcftools(sex_batch) -> None:
    folder, vcf, calls, sites, qc, _ = sex_batch
    summaries = variant_summaries(calls.lazy(), sites.lazy(), qc.lazy(), par_regions=PARS).collect(
        engine="streaming"
    )
    passing = qc.filter(pl.col("qc_pass"))["sample"].to_list()
    expected = _fill_tags_by_karyotype(folder, vcf, passing, TRUE_KARYOTYPE)
    both = summaries.join(expected, on="variant_id", suffix="_bcftools")
    assert both.height == summaries.height == expected.height
    for column in ["AC", "AN", "AC_XX", "AN_XX", "AC_XY", "AN_XY"]:
        assert (both[column] == both[f"{column}_bcftools"]).all(), column
    assert (both["n_hemi"] == both["AC_Hemi"]).all()
    # sites nobody carries have no call rows, yet their AN counts 1 per man on X/Y non-PAR
    called = set(calls.filter(pl.col("dosage").is_not_null())["variant_id"])
    silent = both.filter(~pl.col("variant_id").is_in(list(called)))
    assert set(silent["chrom"]) >= {"chrX", "chrY"}
    x_nonpar = both.filter((pl.col("chrom") == "chrX") & (pl.col("pos") > 1000))
    men = qc.filter(pl.col("qc_pass") & (pl.col("sex") == "male")).height
    assert (x_nonpar["AN_XY"] <= men + 2).all()  # haploid men (+ U_M coded diploid)
    print(
        f"sex batch: {both.height} sites ({silent.height} without call rows) agree with "
        f"bcftools +fill-tags -S XX/XY over {len(passing)} passing samples"
    )


def test_clinical_sex_at_birth_is_the_reported_sex_when_known(sex_batch) -> None:
    _, _, calls, sites, _, _ = sex_batch
    clinical = pl.DataFrame(
        {
            "country": "SE",
            "sample": [p.name for p in PEOPLE],
            "sex_at_birth": [
                {"M00": "female", "F00": "other"}.get(p.name, p.true_sex) for p in PEOPLE
            ],
        }
    )
    samples = calls.select("country", "batch_id", "sample").unique()  # every person has calls
    harmonised_sex = {p.name: p.reported for p in PEOPLE}
    samples = samples.with_columns(
        sex=pl.col("sample").replace_strict(harmonised_sex),
        haploid_x_observed=pl.col("sample").is_in(
            [p.name for p in PEOPLE if p.x_coding == "haploid"]
        ),
    )
    qc = sample_qc(calls.lazy(), sites.lazy(), samples.lazy(), clinical.lazy(), QC).collect()
    row = {r["sample"]: r for r in qc.iter_rows(named=True)}
    assert row["M00"]["reported_sex"] == "female" and row["M00"]["sex_mismatch"]
    assert row["F00"]["reported_sex"] == "female" and not row["F00"]["sex_mismatch"]
    # the clinical record corrects the sequencing manifest of the woman reported male
    assert row["SWAP_F"]["reported_sex"] == "female"
    assert row["SWAP_F"]["sex_mismatch"]  # the manifest and clinical sexes still disagree


def test_chrx_counted_window_by_window_equals_all_at_once(sex_batch, monkeypatch) -> None:
    """chrX is counted X_REGION_POSITIONS positions at a time; regions of 7 (several, the last
    shorter) give what one region over all of them gives, F and its parts included."""
    _, _, calls, sites, qc, samples = sex_batch
    x_sites = qc["n_x_sites"][0]
    assert x_sites > 7 and x_sites % 7  # several windows, a partial last one
    monkeypatch.setattr(sample_qc_module, "X_REGION_POSITIONS", 7)
    windowed = sample_qc(calls.lazy(), sites.lazy(), samples.lazy(), config=QC).collect()
    columns = ["sample", "chrx_f", "n_x_sites", "inferred_sex", "call_rate", "n_singletons"]
    # F's sums may add in another order: equal to the last few bits
    assert_frame_equal(
        windowed.select(columns).sort("sample"), qc.select(columns).sort("sample"), rel_tol=1e-12
    )
