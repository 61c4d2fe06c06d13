"""The per-country VCFs: validity (bcftools, cyvcf2), realism quirks and the truth table."""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import numpy as np
import polars as pl
import pytest
from cyvcf2 import VCF
from pyliftover import LiftOver

from gdi_pipelines.synth.countries import country_profile
from gdi_pipelines.synth.reference import synthesize_reference
from gdi_pipelines.synth.sites import SiteCatalogue
from gdi_pipelines.synth.variants import country_allele_frequencies, country_fst

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def all_batches(cohort):
    return list(cohort.report.batches)


def bcftools(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bcftools", *args], capture_output=True, text=True, check=False)


def normalised_records(cohort, country, batch_id) -> list[tuple[str, int, str, str]]:
    """bcftools' own split + left-aligned form of a VCF (upper-cased: bcftools copies the
    soft-masked reference's case into realigned alleles)."""
    fasta = cohort.fasta(country_profile(country).build)
    out = bcftools("norm", "-m", "-any", "-f", str(fasta), str(cohort.vcf(country, batch_id)))
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines() if not line.startswith("#")]
    return [(r[0], int(r[1]), r[3].upper(), r[4].upper()) for r in rows]


@pytest.fixture(scope="module")
def truth(cohort):
    return pl.read_csv(cohort.truth_dir / "sites.tsv.gz", separator="\t")


@pytest.fixture(scope="module")
def parsed(cohort):
    """Per batch: samples, sexes and the records as cyvcf2 gives them (small cohort)."""
    out = {}
    for country, batch_id in all_batches(cohort):
        sexes = {s.sample_id: s.reported_sex for s in cohort.manifest(country, batch_id).samples}
        vcf = VCF(str(cohort.vcf(country, batch_id)))
        records = [
            {
                "chrom": v.CHROM,
                "pos": v.POS,
                "ref": v.REF,
                "alts": v.ALT,
                "filter": v.FILTER or "PASS",
                "gts": v.genotypes,
                "gq": v.format("GQ")[:, 0],
                "dp": v.format("DP")[:, 0],
                "af": v.INFO.get("AF") if len(v.ALT) > 1 else (v.INFO.get("AF"),),
            }
            for v in vcf
        ]
        out[(country, batch_id)] = (vcf.samples, [sexes[s] for s in vcf.samples], records, vcf)
    return out


def test_bcftools_reads_every_vcf_without_warnings(cohort):
    for country, batch_id in all_batches(cohort):
        out = bcftools("view", "-Ou", "-o", "/dev/null", str(cohort.vcf(country, batch_id)))
        assert out.returncode == 0
        assert out.stderr == ""


def test_ref_alleles_match_each_country_build_and_some_indels_are_not_left_aligned(cohort):
    realigned = 0
    for country, batch_id in all_batches(cohort):
        fasta = cohort.fasta(country_profile(country).build)
        vcf = cohort.vcf(country, batch_id)
        out = bcftools("norm", "-c", "e", "-f", str(fasta), "-Ou", "-o", "/dev/null", str(vcf))
        assert out.returncode == 0, out.stderr
        summary = re.fullmatch(
            r"Lines\s+total/split/realigned/skipped:\s+(\d+)/0/(\d+)/0\n", out.stderr
        )
        assert summary, out.stderr
        realigned += int(summary.group(2))
    assert realigned > 20


def test_cyvcf2_reads_without_htslib_warnings(cohort, parsed, capfd):
    for country, batch_id in all_batches(cohort):
        assert sum(1 for _ in VCF(str(cohort.vcf(country, batch_id)))) > 100
    assert "[W::" not in capfd.readouterr().err


def test_header_uses_the_country_naming_and_declares_filters(cohort, parsed):
    for (country, _), (_, _, _, vcf) in parsed.items():
        profile = country_profile(country)
        expected = [c["name"] for c in cohort.builds[profile.build]["contigs"]]
        assert vcf.seqnames == expected
        header = vcf.raw_header
        assert "##fileformat=VCFv4.2" in header and "##reference=file://" in header
        for tag in ("LowQual", "VQSRTrancheSNP99.90to100.00", "VQSRTrancheINDEL99.00to100.00"):
            assert f"##FILTER=<ID={tag}," in header
        assert "##FORMAT=<ID=AD,Number=R,Type=Integer" in header


def test_records_are_sorted_upper_case_and_unphased(parsed):
    for _, _, records, vcf in parsed.values():
        order = {name: i for i, name in enumerate(vcf.seqnames)}
        keys = [(order[r["chrom"]], r["pos"]) for r in records]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        for r in records:
            assert re.fullmatch(r"[ACGTN]+", r["ref"])
            assert all(re.fullmatch(r"[ACGTN]+", a) for a in r["alts"])
            assert not any(gt[-1] for gt in r["gts"] if len(gt) == 3), "phased genotype"


def test_realistic_quirks_are_all_present(parsed):
    counts: Counter = Counter()
    for _, _, records, _ in parsed.values():
        for r in records:
            counts["records"] += 1
            counts[f"filter:{r['filter']}"] += 1
            counts["multiallelic"] += len(r["alts"]) > 1
            counts["het_alt_alt"] += sum(
                1 for g in r["gts"] if len(g) == 3 and 0 < g[0] != g[1] > 0
            )
            calls = [g for g in r["gts"] if len(g) == 3]
            counts["diploid_calls"] += len(calls)
            counts["missing_diploid"] += sum(1 for g in calls if g[0] == -1)
            called = r["gq"] >= 0
            counts["low_gq"] += int((r["gq"][called] < 20).sum())
            counts["low_dp"] += int((r["dp"][called] < 10).sum())
    assert 0.02 < counts["multiallelic"] / counts["records"] < 0.10
    assert counts["het_alt_alt"] > 0
    assert 0.002 < counts["missing_diploid"] / counts["diploid_calls"] < 0.03
    assert counts["low_gq"] > 0 and counts["low_dp"] > 0
    for tag in ("PASS", "LowQual", "VQSRTrancheSNP99.90to100.00", "VQSRTrancheINDEL99.00to100.00"):
        assert counts[f"filter:{tag}"] > 0, tag
    assert counts["filter:PASS"] > counts["records"] / 2


def _par_test(cohort, country):
    build = country_profile(country).build
    x = country_profile(country).contig_name("chrX")
    intervals = cohort.builds[build]["par"][x]
    return x, lambda pos: any(a <= pos <= b for a, b in intervals)


def test_ploidy_follows_reported_sex_and_contig(cohort, parsed):
    seen: Counter = Counter()
    for (country, _), (_, sexes, records, _) in parsed.items():
        profile = country_profile(country)
        x, in_par = _par_test(cohort, country)
        y, mito = profile.contig_name("chrY"), profile.contig_name("chrM")
        for r in records:
            ploidy = [len(g) - 1 for g in r["gts"]]
            if r["chrom"] == x and not in_par(r["pos"]):
                kind = "x"
                assert all(
                    p == (1 if s == "male" else 2) for p, s in zip(ploidy, sexes, strict=True)
                )
            elif r["chrom"] == x:
                kind = "par"
                assert set(ploidy) == {2}
            elif r["chrom"] == y:
                kind = "y"
                assert set(ploidy) == {1}
                assert all(
                    g[0] == -1 for g, s in zip(r["gts"], sexes, strict=True) if s == "female"
                )
            elif r["chrom"] == mito:
                kind = "mito"
                assert set(ploidy) == {1}
            else:
                kind = "autosome"
                assert set(ploidy) == {2}
            seen[kind] += 1
    assert all(seen[k] > 0 for k in ("x", "par", "y", "mito", "autosome")), seen


def test_samples_are_lab_ids_unique_across_batches(cohort, parsed):
    by_country: dict[str, list[str]] = {}
    for (country, _), (samples, sexes, _, _) in parsed.items():
        assert all(re.fullmatch(rf"{country}-LAB-\d{{6}}", s) for s in samples)
        assert 0 < sexes.count("male") < len(sexes)
        by_country.setdefault(country, []).extend(samples)
    for samples in by_country.values():
        assert len(samples) == len(set(samples))


def test_reported_genotype_count(cohort, parsed):
    total = sum(len(samples) * len(records) for samples, _, records, _ in parsed.values())
    assert total == cohort.report.n_genotypes


def test_truth_of_grch38_countries_equals_bcftools_normalisation(cohort, truth):
    for country, batch_id in all_batches(cohort):
        if country_profile(country).build != "GRCh38":
            continue
        rows = truth.filter((pl.col("country") == country) & (pl.col("batch_id") == batch_id))
        expected = set(
            rows.select("truth_chrom", "truth_pos", "truth_ref", "truth_alt").iter_rows()
        )
        assert set(normalised_records(cohort, country, batch_id)) == expected
        assert (rows["left_aligned"] == 0).sum() > 0


def test_truth_of_grch37_countries_is_their_lifted_normalised_records(cohort, truth):
    chain = cohort.report.reference_dir / cohort.builds["GRCh37"]["chain_to_GRCh38"]
    liftover = LiftOver(str(chain))
    ucsc = {c["name"]: c["ucsc_name"] for c in cohort.builds["GRCh37"]["contigs"]}
    flipped = 0
    for country, batch_id in all_batches(cohort):
        if country_profile(country).build != "GRCh37":
            continue
        lifted = set()
        for chrom, pos, ref, alt in normalised_records(cohort, country, batch_id):
            [(chrom38, pos38, strand, _)] = liftover.convert_coordinate(ucsc[chrom], pos - 1)
            if strand == "-":
                assert len(ref) == len(alt) == 1, "only SNVs in inverted segments"
                ref, alt, flipped = (
                    ref.translate(COMPLEMENT),
                    alt.translate(COMPLEMENT),
                    flipped + 1,
                )
            lifted.add((chrom38, pos38 + 1, ref, alt))
        rows = truth.filter((pl.col("country") == country) & (pl.col("batch_id") == batch_id))
        assert lifted == set(
            rows.select("truth_chrom", "truth_pos", "truth_ref", "truth_alt").iter_rows()
        )
    assert flipped > 0


def test_country_frequencies_are_differentiated_like_european_populations():
    reference = synthesize_reference(1, 60_000, 1)
    catalogue = SiteCatalogue(reference, 1, 3000)
    contig = reference.contig("chr1")
    freqs = {}
    for country in ("SE", "DK", "FI"):
        freqs[country] = np.concatenate(
            [
                [f[1] for f in country_allele_frequencies(catalogue, 1, country, contig, w)[1]]
                for w in range(catalogue.window_count(contig))
            ]
        )
    for a, b in (("SE", "DK"), ("SE", "FI"), ("DK", "FI")):
        p, q = freqs[a], freqs[b]
        hudson_fst = np.mean((p - q) ** 2) / np.mean(p * (1 - q) + q * (1 - p))
        assert 0.005 < hudson_fst < 0.15, (a, b, hudson_fst)
        assert 0.01 <= country_fst(1, a) <= 0.05


def test_vcf_allele_frequencies_differ_between_countries(parsed):
    def info_af(country):
        records = parsed[(country, "b001")][2]
        return {(r["chrom"], r["pos"], r["ref"], tuple(r["alts"])): r["af"] for r in records}

    se, fi = info_af("SE"), info_af("FI")
    shared = sorted(set(se) & set(fi))
    assert len(shared) > 200
    p = np.array([se[k][0] for k in shared])
    q = np.array([fi[k][0] for k in shared])
    assert not np.allclose(p, q)
    assert np.corrcoef(p, q)[0, 1] > 0.5, "same catalogue, related populations"
