"""Sites-only VCF accepted by bcftools without a warning, INFO == pooled figures; Beacon
documents carry the pooled and the published country frequencies, nothing person-level."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from gdi_pipelines.domain.aggregates.exports import (
    beacon_lines,
    ordered_blocks,
    write_beacon_jsonl,
    write_sites_vcf,
)
from gdi_pipelines.domain.aggregates.federation import pool_country_summaries
from gdi_pipelines.domain.aggregates.gates import _with_table_counts, exports_match
from gdi_pipelines_tests.domain.aggregates.conftest import BUILD, Node
from gdi_pipelines_tests.domain.aggregates.test_federation import CONFIG
from gdi_pipelines_tests.domain.variants.variants_oracles import bcftools

SOURCE = "GDI national node (test)"
REFERENCE = "https://example.org/gdi/test"


@pytest.fixture(scope="module")
def pooled(beagle_node: Node) -> pl.DataFrame:
    return pool_country_summaries(beagle_node.summaries, CONFIG)


def test_sites_vcf_is_accepted_by_bcftools_and_equals_the_pooled_figures(pooled, tmp_path):
    vcf = write_sites_vcf(pooled, tmp_path / "pooled.vcf.gz", BUILD, {"chr22": 51_304_566})
    viewed = bcftools("view", str(vcf))
    assert viewed.stderr == b"" and viewed.stdout.count(b"\n#CHROM") == 1
    header = bcftools("view", "-h", str(vcf)).stdout.decode()
    assert "##INFO=<ID=AF_AA," in header and "##INFO=<ID=AC_CC," in header
    fields = ["AC", "AN", "AF", "nhomalt", "faf95", "AC_AA", "AN_AA", "AF_AA", "AC_CC"]
    fmt = "%CHROM-%POS-%REF-%ALT\t%FILTER\t" + "\t".join(f"%INFO/{f}" for f in fields) + "\n"
    query = bcftools("query", "-f", fmt, str(vcf))
    assert query.stderr == b""
    rows = [line.split("\t") for line in query.stdout.decode().splitlines()]
    assert [r[0] for r in rows] == pooled["variant_id"].to_list()  # sorted like pooled
    for row, expected in zip(rows, pooled.iter_rows(named=True), strict=True):
        assert row[1] == ("PASS" if expected["filter_pass"] else "NotPassAll")
        for text, field in zip(row[2:], fields, strict=True):
            value = expected[field]
            if value is None:
                assert text == "."
            elif isinstance(value, float):
                assert abs(float(text) - value) <= 1e-5 * max(abs(value), 1e-30)
            else:
                assert int(text) == value
    region = bcftools("view", "-H", "-r", "chr22:20000000-20010000", str(vcf)).stdout
    in_region = pooled.filter(pl.col("pos").is_between(20_000_000, 20_010_000)).height
    assert len(region.splitlines()) == in_region > 0  # the tabix index answers


def test_beacon_documents_carry_pooled_and_published_country_frequencies(pooled, tmp_path):
    lines = beacon_lines(pooled, SOURCE, REFERENCE, build=BUILD)
    documents = [json.loads(line) for line in lines]
    assert len(documents) == pooled.height
    path = write_beacon_jsonl(lines, tmp_path / "beacon.jsonl")
    assert [json.loads(line) for line in path.read_text().splitlines()] == documents
    for document, row in zip(documents, pooled.iter_rows(named=True), strict=True):
        assert document["variantInternalId"] == row["variant_id"]
        location = document["variation"]["location"]
        assert location["sequence_id"] == "refseq:NC_000022.10"  # GRCh37 chr22
        assert location["interval"]["start"]["value"] == row["pos"] - 1
        (population,) = document["frequencyInPopulations"]
        assert population["source"] == SOURCE and population["sourceReference"] == REFERENCE
        by_name = {f["population"]: f for f in population["frequencies"]}
        assert by_name["GDI"]["alleleCount"] == row["AC"]
        assert by_name["GDI"]["alleleNumber"] == row["AN"]
        assert by_name["GDI"]["alleleFrequency"] == row["AF"]
        assert by_name["GDI"]["alleleCountHomozygous"] == row["nhomalt"]
        shown = {c for c in ("AA", "BB", "CC") if row[f"AF_{c}"] is not None}
        assert set(by_name) - {"GDI"} == shown and "CC" not in shown
        for country in shown:
            assert by_name[country]["alleleCount"] == row[f"AC_{country}"]
            assert by_name[country]["alleleNumber"] == row[f"AN_{country}"]


def test_no_person_level_data_in_any_export(beagle_node: Node, pooled, tmp_path) -> None:
    vcf = write_sites_vcf(pooled, tmp_path / "p.vcf.gz", BUILD)
    beacon = write_beacon_jsonl(beacon_lines(pooled, SOURCE, REFERENCE, BUILD), tmp_path / "b")
    texts = [bcftools("view", str(vcf)).stdout.decode(), beacon.read_text()]
    pseudonyms = set(beagle_node.harmonised.samples["sample"])
    for text in texts:
        assert not any(p in text for p in pseudonyms)
        assert (
            "FORMAT" not in text.split("#CHROM", 1)[-1].splitlines()[0]
            if "#CHROM" in text
            else True
        )
    assert '"sample' not in texts[1] and "genotype" not in texts[1].lower()


def _exports(pooled: pl.DataFrame, folder) -> tuple:
    vcf = write_sites_vcf(pooled, folder / "pooled.vcf.gz", BUILD, {"chr22": 51_304_566})
    beacon = folder / "beacon.jsonl.gz"
    write_beacon_jsonl(beacon_lines(pooled, "gdi", "ref", BUILD, "all", "1"), beacon)
    return vcf, beacon


def test_exports_match_reads_the_sites_vcf_back(pooled, tmp_path):
    vcf, beacon = _exports(pooled, tmp_path)
    good = exports_match(pooled, vcf, beacon)
    assert good.passed and good.figures["vcf_records"] == pooled.height

    third = pooled["variant_id"][2]
    wrong_an = pooled.with_columns(
        AN=pl.when(pl.col("variant_id") == third).then(pl.col("AN") + 2).otherwise("AN")
    )
    check = exports_match(wrong_an, vcf, beacon)
    with gzip.open(vcf, "rt") as text:
        header_lines = sum(1 for line in text if line.startswith("#"))
    assert not check.passed
    assert check.failures[0].startswith(f"pooled.vcf.gz line {header_lines + 3}: {third} AC/AN")

    fewer = pooled.filter(pl.col("variant_id") != third)  # the files hold one variant more
    vcf_more, beacon_more = _exports(pooled, tmp_path)
    extra = exports_match(fewer, vcf_more, beacon_more)
    assert not extra.passed
    assert any(f"{third} AC/AN" in f for f in extra.failures)
    assert f"pooled.vcf.gz: {pooled.height} records for {fewer.height} variants" in extra.failures


def test_exports_read_the_table_a_region_at_a_time(pooled, tmp_path):
    blocks = list(ordered_blocks(pooled.sample(fraction=1.0, shuffle=True, seed=5).lazy(), 7))
    assert len(blocks) > 2 and max(b.height for b in blocks) < pooled.height
    assert pl.concat(blocks).equals(pooled)  # in the pooled (VCF) order again
    from_frame = write_sites_vcf(pooled, tmp_path / "frame.vcf.gz", BUILD)
    from_scan = write_sites_vcf(pooled.lazy(), tmp_path / "scan.vcf.gz", BUILD)
    with gzip.open(from_frame, "rb") as frame, gzip.open(from_scan, "rb") as scan:
        assert frame.read() == scan.read()


def test_table_counts_are_found_by_variant_id_or_marked_missing():
    table = pl.DataFrame({"variant_id": ["b", "d", "f"], "AC": [1, 2, 3], "AN": [10, 20, 30]})
    ids = pl.DataFrame({"variant_id": ["d", "a", "g", "b", "c", "f"]})
    found = _with_table_counts(ids, table)
    assert found["in_table"].to_list() == [True, False, False, True, False, True]
    assert found["AC_table"].to_list() == [2, None, None, 1, None, 3]
    assert found["AN_table"].to_list() == [20, None, None, 10, None, 30]
    none = _with_table_counts(ids, table.head(0))
    assert none["in_table"].to_list() == [False] * 6 and none["AC_table"].null_count() == 6


def test_a_beacon_document_that_is_not_json_is_named_by_its_line(pooled, tmp_path):
    vcf, beacon = _exports(pooled, tmp_path)
    with gzip.open(beacon, "rb") as text:
        lines = text.read().splitlines(keepends=True)
    lines[2] = lines[2][: len(lines[2]) // 2] + b"\n"  # cut short: not JSON
    with gzip.open(beacon, "wb") as text:
        text.write(b"".join(lines))
    with pytest.raises(ValueError, match=r"^beacon\.jsonl\.gz line 3: JSON parse error"):
        exports_match(pooled, vcf, beacon)
