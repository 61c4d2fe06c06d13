"""The harmoniser before liftover == `bcftools norm -m -any -f` + GQ/DP masking (real files);
after liftover: schema, provenance columns, rejects, chunking invariance."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import polars as pl
import pysam
import pytest

from gdi_pipelines.domain.pseudonym import is_pseudonym, pseudonymise
from gdi_pipelines.domain.variants.harmonise import (
    CALL_SCHEMA,
    REJECT_SCHEMA,
    SITE_SCHEMA,
    HarmoniseConfig,
    combine_samples,
    harmonise_vcf,
)
from gdi_pipelines.domain.variants.records import read_record_chunks
from gdi_pipelines_tests.domain.variants.variants_oracles import (
    BEAGLE,
    CHAIN,
    FASTA_REGION,
    GRCH37_FASTA,
    HAPMAP,
    bcftools,
    bcftools_norm_calls,
    harmonised_calls,
    write_fasta,
    write_vcf,
)


def _contig_length(vcf: Path, contig: str) -> int:
    return pysam.VariantFile(str(vcf)).header.contigs[contig].length


SOURCE_ONLY = HarmoniseConfig(
    source_build="GRCh37", source_fasta=GRCH37_FASTA, target_build="GRCh37"
)
LIFTED = HarmoniseConfig(source_build="GRCh37", source_fasta=GRCH37_FASTA, chain=CHAIN)


def _identity(sample: str) -> str:
    return sample


def _run(vcf: Path, config: HarmoniseConfig, **kwargs) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    chunks = list(harmonise_vcf(vcf, config, kwargs.pop("pseudonymise", _identity), **kwargs))
    calls = pl.concat([c.calls for c in chunks])
    rejects = pl.concat([c.rejects for c in chunks])
    return calls, rejects, chunks


def test_beagle_equals_bcftools_norm_before_liftover() -> None:
    calls, rejects, _ = _run(BEAGLE, SOURCE_ONLY)
    expected, summary = bcftools_norm_calls(BEAGLE, GRCH37_FASTA)
    ours = harmonised_calls(calls)
    print(f"beagle: {len(ours)} calls vs bcftools {len(expected)}; bcftools {summary}")
    assert ours == expected
    assert calls.height == len(ours)  # no duplicate rows
    assert rejects.select("pos", "alt", "reason").rows() == [(20031110, "<DEL>", "symbolic_allele")]


def test_hapmap_fasta_region_equals_bcftools_with_gq_dp_masking() -> None:
    calls, rejects, chunks = _run(HAPMAP, SOURCE_ONLY, region=FASTA_REGION)
    expected, summary = bcftools_norm_calls(HAPMAP, GRCH37_FASTA, FASTA_REGION, with_quality=True)
    ours = harmonised_calls(calls, with_quality=True)
    masked = sum(c.stats["masked_calls"] for c in chunks)
    print(
        f"hapmap {FASTA_REGION}: {len(ours)} calls vs bcftools {len(expected)}, "
        f"{masked} masked; bcftools {summary}; rejects {rejects['reason'].value_counts().rows()}"
    )
    assert ours == expected
    assert masked > 0 and calls["dosage"].null_count() > 0
    _total, _split, realigned, skipped = map(int, summary.split("\t")[1].split("/"))
    assert rejects.filter(pl.col("reason") == "ref_mismatch").height == skipped
    assert sum(c.stats["realigned_source"] for c in chunks) == realigned


def test_whole_hapmap_file_rejects_what_lies_outside_the_fasta() -> None:
    calls, rejects, _ = _run(HAPMAP, SOURCE_ONLY)
    outside = rejects.filter(pl.col("reason") == "outside_reference")
    assert outside.height > 0 and outside["pos"].min() > 21_000_000
    assert calls["source_pos"].max() <= 21_000_000
    assert rejects["reason"].is_in(["outside_reference", "ref_mismatch"]).all()


def test_lifted_calls_have_the_schema_and_provenance() -> None:
    pseudo = functools.partial(pseudonymise, b"k" * 32, "SE")
    calls, rejects, chunks = _run(BEAGLE, LIFTED, pseudonymise=pseudo)
    assert calls.schema == pl.Schema(CALL_SCHEMA) and rejects.schema == pl.Schema(REJECT_SCHEMA)
    assert calls["sample"].map_elements(is_pseudonym, return_dtype=pl.Boolean).all()
    assert (calls["chrom"] == "chr22").all() and (calls["source_chrom"] == "22").all()
    assert (calls["source_build"] == "GRCh37").all()
    ids = calls.select(pl.format("{}-{}-{}-{}", "chrom", "pos", "ref", "alt"))
    assert (ids.to_series() == calls["variant_id"]).all()
    assert calls["variant_id"].str.contains(r"^chr22-\d+-[ACGTN]+-[ACGTN]+$").all()
    assert calls["dosage"].drop_nulls().is_in([1, 2]).all()
    # liftover moves every position but keeps REF/ALT (all '+' strand here)
    assert (calls["pos"] != calls["source_pos"]).all()
    before, _, _ = _run(BEAGLE, SOURCE_ONLY, pseudonymise=pseudo)
    key = ["sample", "source_pos", "source_ref", "source_alt", "dosage"]
    assert calls.select(key).sort(key).equals(before.select(key).sort(key))
    samples = combine_samples(c.samples for c in chunks)
    assert samples.height == 191 and not samples["haploid_x_observed"].any()


@pytest.mark.parametrize("chunk_size", [1, 7, 500])
def test_chunk_size_does_not_change_the_result(chunk_size: int) -> None:
    whole, whole_rejects, _ = _run(HAPMAP, LIFTED, region=FASTA_REGION)
    config = HarmoniseConfig(**{**LIFTED.__dict__, "chunk_size": chunk_size})
    calls, rejects, chunks = _run(HAPMAP, config, region=FASTA_REGION)
    assert len(chunks) > 1 or chunk_size == 500
    assert calls.sort(calls.columns).equals(whole.sort(whole.columns))
    assert rejects.sort(rejects.columns).equals(whole_rejects.sort(whole_rejects.columns))


def test_filters_are_kept_as_flag_and_raw_string() -> None:
    calls, _, _ = _run(HAPMAP, SOURCE_ONLY, region=FASTA_REGION)
    assert calls["filter"].drop_nulls().str.contains(r"^[A-Za-z0-9.+;_]+$").all()
    failing = calls.filter(~pl.col("filter_pass"))
    assert failing.height > 0 and (failing["filter"] != "PASS").all()
    assert calls.filter(pl.col("filter_pass"))["filter"].is_in(["PASS"]).all()
    assert all(re.match(r"^22$", c) for c in calls["source_chrom"].unique())


def test_whole_hapmap_file_equals_bcftools_on_a_fasta_of_its_own_ref_alleles(tmp_path) -> None:
    """All 1,011 records (40 multi-allelic, 22 samples, GQ/DP/FILTER): a contig of N carrying
    each record's REF at its position stands in for the GRCh37 chr22 we do not ship."""
    length = _contig_length(HAPMAP, "22")
    sequence = bytearray(b"N" * length)
    for chunk in read_record_chunks(HAPMAP):
        for pos, ref in zip(chunk.pos.tolist(), chunk.ref, strict=True):
            sequence[pos - 1 : pos - 1 + len(ref)] = ref.encode()
    fasta = tmp_path / "hapmap_refs.fa"
    fasta.write_bytes(b">22\n" + bytes(sequence) + b"\n")
    pysam.faidx(str(fasta))
    config = HarmoniseConfig(source_build="GRCh37", source_fasta=fasta, target_build="GRCh37")
    calls, rejects, chunks = _run(HAPMAP, config)
    expected, summary = bcftools_norm_calls(HAPMAP, fasta, with_quality=True)
    ours = harmonised_calls(calls, with_quality=True)
    print(
        f"hapmap whole file: {len(ours)} calls vs bcftools {len(expected)}, "
        f"{sum(c.stats['masked_calls'] for c in chunks)} masked; bcftools {summary}; "
        f"rejects {rejects['reason'].value_counts().rows()}"
    )
    assert ours == expected
    total, _split, realigned, skipped = map(int, summary.split("\t")[1].split("/"))
    assert rejects.filter(pl.col("reason") == "ref_mismatch").height == skipped
    assert sum(c.stats["realigned_source"] for c in chunks) == realigned
    assert sum(c.stats["rows"] for c in chunks) == total + sum(
        len(a) - 1 for c in read_record_chunks(HAPMAP) for a in c.alts if len(a) > 1
    )


def test_bcf_input_gives_the_vcf_result(tmp_path: Path) -> None:
    bcf = tmp_path / "beagle.bcf"
    bcftools("view", "-Ob", "-o", str(bcf), str(BEAGLE))
    bcftools("index", str(bcf))
    from_vcf, _, _ = _run(BEAGLE, LIFTED)
    from_bcf, _, _ = _run(bcf, LIFTED, region="22:20000000-20050000")
    assert from_bcf.height > 0
    expected = from_vcf.filter(pl.col("source_pos") <= 20_050_000)
    assert from_bcf.sort(from_bcf.columns).equals(expected.sort(expected.columns))


def test_unknown_contigs_are_rejected(tmp_path: Path) -> None:
    fasta = write_fasta(tmp_path / "r.fa", {"22": "ACGTACGTAC" * 10})
    records = [
        ("22", 5, "A", "G", "PASS", ["0/1"]),
        ("chrUn_gl000220", 5, "A", "G", "PASS", ["0/1"]),
        ("GL000192.1", 5, "A", "G,T", "PASS", ["1/2"]),
    ]
    contigs = {"22": 100, "chrUn_gl000220": 100, "GL000192.1": 100}
    vcf = write_vcf(tmp_path / "u.vcf.gz", records, ["s"], contigs)
    config = HarmoniseConfig(source_build="GRCh37", source_fasta=fasta, target_build="GRCh37")
    calls, rejects, _ = _run(vcf, config)
    assert calls.select("chrom", "pos", "dosage").rows() == [("chr22", 5, 1)]
    assert rejects.select("record_index", "chrom", "alt", "reason").rows() == [
        (1, "chrUn_gl000220", "G", "unknown_contig"),
        (2, "GL000192.1", "G", "unknown_contig"),
        (2, "GL000192.1", "T", "unknown_contig"),
    ]


def test_configuration_errors_are_raised_before_reading() -> None:
    no_chain = HarmoniseConfig(source_build="GRCh37", source_fasta=GRCH37_FASTA)
    with pytest.raises(ValueError, match="needs a chain file"):
        harmonise_vcf(BEAGLE, no_chain, _identity)
    unknown = HarmoniseConfig(source_build="T2T", source_fasta=GRCH37_FASTA, target_build="T2T")
    with pytest.raises(ValueError, match="no PAR regions"):
        harmonise_vcf(BEAGLE, unknown, _identity)


def _bcftools_norm_sites(vcf: Path, fasta: Path, region: str | None = None) -> set[tuple]:
    """Distinct (chrom, pos, REF, ALT, FILTER is PASS) of `bcftools norm -m -any -f`,
    symbolic/'*' ALTs left out (the harmoniser rejects them)."""
    norm = ["norm", "-c", "x", "-m", "-any", "-f", str(fasta), "-Ou"]
    norm += ["-r", region, str(vcf)] if region else [str(vcf)]
    query = ["query", "-f", r"%CHROM\t%POS\t%REF\t%ALT\t%FILTER\n", "-"]
    text = bcftools(*query, stdin=bcftools(*norm).stdout).stdout.decode()
    sites = set()
    for line in text.splitlines():
        chrom, pos, ref, alt, filt = line.split("\t")
        if alt[:1] not in ("<", "*", "."):
            sites.add((f"chr{chrom}", int(pos), ref.upper(), alt.upper(), filt in ("PASS", ".")))
    return sites


@pytest.mark.parametrize(("vcf", "region"), [(BEAGLE, None), (HAPMAP, FASTA_REGION)])
def test_sites_are_the_distinct_variants_of_bcftools_norm(vcf: Path, region: str | None) -> None:
    _calls, _rejects, chunks = _run(vcf, SOURCE_ONLY, region=region)
    sites = pl.concat([c.sites for c in chunks])
    assert sites.schema == pl.Schema(SITE_SCHEMA)
    ours = set(sites.select("chrom", "pos", "ref", "alt", "filter_pass").iter_rows())
    expected = _bcftools_norm_sites(vcf, GRCH37_FASTA, region)
    print(f"{vcf.name}: {len(ours)} sites vs bcftools {len(expected)}")
    assert ours == expected
    assert sites.height == len(ours)  # no duplicated records in these files
    ids = sites.select(pl.format("{}-{}-{}-{}", "chrom", "pos", "ref", "alt")).to_series()
    assert (ids == sites["variant_id"]).all() and (sites["source_build"] == "GRCh37").all()
    # every call's variant is a site; a site need not have calls (all hom-ref)
    called = set(_calls["variant_id"].unique())
    assert called <= set(sites["variant_id"])


def test_a_site_where_everyone_is_hom_ref_has_no_calls_but_is_a_site(tmp_path: Path) -> None:
    fasta = write_fasta(tmp_path / "r.fa", {"22": "ACGTACGTAC" * 10})
    records = [
        ("22", 5, "A", "G", "PASS", ["0/0", "0/0"]),
        ("22", 9, "A", "C,T", "LowQual", ["0/1", "0/0"]),
        ("22", 13, "A", "<DEL>", "PASS", ["0/1", "0/0"]),
    ]
    vcf = write_vcf(tmp_path / "h.vcf.gz", records, ["s1", "s2"], {"22": 100})
    config = HarmoniseConfig(source_build="GRCh37", source_fasta=fasta, target_build="GRCh37")
    calls, rejects, chunks = _run(vcf, config)
    (chunk,) = chunks
    assert chunk.sites.select("variant_id", "filter_pass").rows() == [
        ("chr22-5-A-G", True),
        ("chr22-9-A-C", False),
        ("chr22-9-A-T", False),
    ]
    assert calls["variant_id"].to_list() == ["chr22-9-A-C"]
    assert rejects["alt"].to_list() == ["<DEL>"]
