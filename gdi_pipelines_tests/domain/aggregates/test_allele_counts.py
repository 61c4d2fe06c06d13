"""`batch_variant_counts` on hand-counted calls: the compiled tally per sample class, implied
hom-ref ploidies by sex and region, calls of other samples and variants left out."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from gdi_pipelines.domain.aggregates import call_tally
from gdi_pipelines.domain.aggregates.allele_counts import batch_variant_counts
from gdi_pipelines.domain.aggregates.call_tally import MEASURES

PARS = {"GRCh38": {"chrX": [(10_001, 2_781_479)], "chrY": [(10_001, 2_781_479)]}}


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "compiled"])
def test_tally_counts_each_measure_per_site_and_class(compiled: bool):
    tally_calls = call_tally.compiled_tally() if compiled else call_tally.tally_with_numpy
    site = np.array([0, 0, 0, 1, 1, 1], dtype=np.int64)
    sample = np.array([0, 1, 2, 0, 1, 2], dtype=np.int64)
    dosage = np.array([1, 2, -1, 1, 0, 0], dtype=np.int8)
    ploidy = np.array([2, 2, 2, 1, 2, 0], dtype=np.int8)
    tally = np.zeros((2, 2, len(MEASURES)), dtype=np.int64)
    tally_calls(site, sample, dosage, ploidy, np.array([0, 1, 1]), tally)
    got = {name: tally[:, :, i].tolist() for i, name in enumerate(MEASURES)}
    assert got["rows"] == [[1, 2], [1, 2]]
    assert got["ploidy_positive"] == [[1, 2], [1, 1]]
    assert got["no_call"] == [[0, 1], [0, 0]]
    assert got["ac"] == [[1, 2], [1, 0]]
    assert got["called_ploidy"] == [[2, 2], [1, 2]]
    assert (got["het"], got["hom_alt"]) == ([[1, 0], [0, 0]], [[0, 1], [0, 0]])
    assert (got["hom_ref_diploid"], got["hemi"]) == ([[0, 0], [0, 1]], [[0, 0], [1, 0]])


def _samples(rows: list[tuple[str, str | None, bool, str | None]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "country": ["SE"] * len(rows),
            "batch_id": ["b1"] * len(rows),
            "sample": [r[0] for r in rows],
            "sex": [r[1] for r in rows],
            "haploid_x_observed": [r[2] for r in rows],
            "karyotype": [r[3] for r in rows],
        }
    )


def _sites(variants: list[tuple[str, int]]) -> pl.LazyFrame:
    ids = [f"{c}-{p}-A-G" for c, p in variants]
    return pl.LazyFrame(
        {
            "country": ["SE"] * len(ids),
            "batch_id": ["b1"] * len(ids),
            "chrom": [c for c, _ in variants],
            "pos": [p for _, p in variants],
            "ref": ["A"] * len(ids),
            "alt": ["G"] * len(ids),
            "variant_id": ids,
            "filter_pass": [True] * len(ids),
        }
    )


def _calls(rows: list[tuple[str, str, int | None, int]], batch: str = "b1") -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "country": ["SE"] * len(rows),
            "batch_id": [batch] * len(rows),
            "sample": [r[0] for r in rows],
            "variant_id": [r[1] for r in rows],
            "dosage": [r[2] for r in rows],
            "ploidy": [r[3] for r in rows],
        },
        schema_overrides={"dosage": pl.Int8, "ploidy": pl.Int8},
    )


def test_sex_chromosome_counts_apply_each_class_implied_ploidy():
    samples = _samples(
        [
            ("m1", "male", False, "XY"),
            ("m2", "male", False, "XY"),
            ("f1", "female", False, "XX"),
            ("u1", None, True, None),  # unknown sex, haploid chrX calls seen: 1 on chrX
            ("u2", "unknown", False, "XX"),  # unknown sex, karyotype inferred XX: 2 on chrX
        ]
    )
    x, y, auto = "chrX-5000000-A-G", "chrY-5000000-A-G", "chr1-100-A-G"
    sites = _sites([("chrX", 5_000_000), ("chrY", 5_000_000), ("chr1", 100)])
    calls = _calls(
        [
            ("m1", x, 1, 1),  # hemizygous ALT
            ("f1", x, None, 2),  # no-call
            ("u1", x, 1, 1),
            ("m2", y, 1, 1),
            ("f1", auto, 2, 2),
            ("m1", auto, 1, 2),
            ("nobody", auto, 2, 2),  # not a sample of the batch: ignored
            ("m1", "chr2-1-A-G", 2, 2),  # not a site of the batch: ignored
        ]
    )
    calls = pl.concat([calls, _calls([("f1", x, 2, 2)], batch="b2")])  # another batch's
    got = {
        r["variant_id"]: r
        for r in batch_variant_counts(calls, sites, samples, par_regions=PARS).collect().to_dicts()
    }
    # chrX non-PAR: m1 1 (called), m2 1, f1 0 (no-call), u1 1 (called), u2 2
    assert (got[x]["AC"], got[x]["AN"], got[x]["n_hemi"]) == (2, 5, 2)
    assert (got[x]["n_expected"], got[x]["n_no_call"], got[x]["n_called"]) == (5, 1, 4)
    assert (got[x]["AC_XY"], got[x]["AN_XY"], got[x]["AC_XX"], got[x]["AN_XX"]) == (1, 2, 0, 2)
    assert got[x]["n_hom_ref_diploid"] == 1  # u2
    # chrY non-PAR: males 1 each, female 0, unknown sex by chrX haploidy: u1 1, u2 2
    assert (got[y]["AC"], got[y]["AN"], got[y]["n_expected"]) == (1, 5, 4)
    # autosome: everyone diploid
    assert (got[auto]["AC"], got[auto]["AN"], got[auto]["n_het"], got[auto]["n_hom_alt"]) == (
        3,
        10,
        1,
        1,
    )
    assert got[auto]["n_hom_ref_diploid"] == 3 and {r["n_samples"] for r in got.values()} == {5}


def test_a_sample_listed_twice_in_a_batch_is_refused():
    samples = _samples([("s1", "male", False, "XY"), ("s1", "female", False, "XX")])
    sites = _sites([("chr1", 100)])
    with pytest.raises(ValueError, match="samples listed twice in one batch: s1"):
        batch_variant_counts(_calls([("s1", "chr1-100-A-G", 1, 2)]), sites, samples)


def test_numpy_and_compiled_tallies_agree():
    rng = np.random.default_rng(7)
    n, sites, samples, classes = 50_000, 300, 40, 3
    site = rng.integers(0, sites, n)
    sample = rng.integers(0, samples, n)
    dosage = rng.integers(-1, 3, n).astype(np.int8)  # -1: no-call
    ploidy = rng.integers(0, 3, n).astype(np.int8)
    sample_class = rng.integers(0, classes, samples)
    tallies = []
    for tally_calls in (call_tally.tally_with_numpy, call_tally.compiled_tally()):
        tally = np.zeros((sites, classes, len(call_tally.MEASURES)), dtype=np.int64)
        for part in np.array_split(np.arange(n), 3):  # batch after batch, as allele_counts
            tally_calls(site[part], sample[part], dosage[part], ploidy[part], sample_class, tally)
        tallies.append(tally)
    assert np.array_equal(*tallies)
    ac = tallies[0][:, :, call_tally.AC].sum()
    assert ac == dosage[dosage > 0].astype(np.int64).sum() > 0
    assert call_tally.tallier(call_tally.SMALL_GENOTYPES) is call_tally.compiled_tally()
    assert call_tally.tallier(10) is call_tally.compiled_tally()  # loaded: it stays in use
    call_tally.compiled_tally.cache_clear()
    assert call_tally.tallier(10) is call_tally.tally_with_numpy


def test_a_large_job_announced_in_advance_tallies_its_small_pieces_compiled() -> None:
    call_tally.compiled_tally.cache_clear()
    call_tally.expect(call_tally.SMALL_GENOTYPES - 1)  # small in all: numpy stays cheaper
    assert call_tally.tallier(10) is call_tally.tally_with_numpy
    call_tally.expect(call_tally.SMALL_GENOTYPES)
    assert call_tally.tallier(10) is call_tally.compiled_tally()
