from pathlib import Path

import numpy as np
import polars as pl
import pytest

from gdi_pipelines.domain.variants import gates, normalise
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines_tests.domain.variants.variants_oracles import write_fasta

COLUMNS = ("chrom", "pos", "ref")


@pytest.fixture
def genome(tmp_path: Path):
    rng = np.random.default_rng(11)
    sequence = "".join(rng.choice(list("ACGT"), 5000))
    fasta = write_fasta(tmp_path / "r.fa", {"chr1": sequence, "chr2": "ACGTNACGTA"})
    reference = ReferenceGenome(fasta, "GRCh38")
    yield reference, sequence
    reference.close()


def _calls(rows: list[tuple[str, int, str]]) -> pl.LazyFrame:
    frame = pl.DataFrame(rows, schema=list(COLUMNS), orient="row")
    return pl.concat([frame, frame]).lazy()  # sites repeat across samples


def test_ref_matches_sees_each_site_once_whatever_the_order_of_its_calls(genome):
    reference, sequence = genome
    wrong_first = ("chr1", 1, "N")  # the sequence holds no N
    sites = [wrong_first] + [("chr1", p, sequence[p - 1]) for p in range(2, 40)]
    other_contig = ("chr2", 2, sequence[1])  # right after chr1:2, with the same REF
    in_order = [*sites[:2], other_contig, *sites[2:]]
    sample_after_sample = [site for site in in_order for _ in range(3)]
    calls = sample_after_sample + sites[:0:-1] + [("chr1", 7, sequence[6:9])]
    outcome = gates.ref_matches(
        pl.LazyFrame(calls, schema=list(COLUMNS), orient="row"), COLUMNS, reference, "GRCh38"
    )
    assert outcome.figures["sites_checked"] == len(sites) + 2
    assert outcome.figures["mismatches"] == 1 + (sequence[1] != "C")  # chr2 is ACGTNACGTA
    assert outcome.failures[0].startswith("GRCh38 chr1:1 REF N but")


def test_ref_matches_checks_every_site_in_windows_of_the_reference(genome, monkeypatch):
    reference, sequence = genome
    monkeypatch.setattr(normalise, "WINDOW_SPAN", 64)  # many windows, alleles across edges
    good = [("chr1", p, sequence[p - 1 : p - 1 + n]) for p in range(1, 4990, 7) for n in (1, 3)]
    good += [("chr1", 63, sequence[62:68].lower()), ("chr2", 5, "N"), ("1", 1, sequence[0])]
    outcome = gates.ref_matches(_calls(good), COLUMNS, reference, "GRCh38")
    assert outcome.passed and outcome.figures["sites_checked"] == len(set(good))

    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    wrong_snv = ("chr1", 128, other[sequence[127]])  # first base of a window
    wrong_indel = ("chr1", 127, sequence[126] + other[sequence[127]])  # across the edge
    beyond = ("chr2", 10, "AC")  # runs past the contig's end
    outside = ("chr2", 100, "A")  # in a window past the contig's end
    unknown = ("chr9", 3, "A")
    bad = gates.ref_matches(
        _calls([*good, wrong_snv, wrong_indel, beyond, outside, unknown]),
        COLUMNS,
        reference,
        "GRCh38",
    )
    assert not bad.passed and bad.figures["mismatches"] == 5
    assert bad.failures == (
        f"GRCh38 chr1:127 REF {wrong_indel[2]} but the reference has {sequence[126:128]}",
        f"GRCh38 chr1:128 REF {wrong_snv[2]} but the reference has {sequence[127]}",
        "GRCh38 chr2:10 REF AC but the reference has A",
        "GRCh38 chr2:100 REF A but the reference has ",
        "GRCh38 chr9:3: contig not in the reference",
    )


def test_ref_matches_contig_by_contig_finds_what_all_at_once_finds(genome):
    """Given the contigs (a table's chrom partitions), each is read on its own: the sites and
    mismatches are the same, in the same order, whichever contig they are on."""
    reference, sequence = genome
    good = [("chr1", p, sequence[p - 1]) for p in range(1, 30)] + [("chr2", 3, "G")]  # ACGTN..
    wrong = [("chr1", 9, "N"), ("chr2", 4, "N"), ("chr9", 3, "A")]
    calls = _calls([*good, *wrong])
    at_once = gates.ref_matches(calls, COLUMNS, reference, "GRCh38")
    by_contig = gates.ref_matches(calls, COLUMNS, reference, "GRCh38", ["chr1", "chr2", "chr9"])
    assert by_contig.figures == at_once.figures
    assert by_contig.figures["sites_checked"] == len(good) + len(wrong)
    assert by_contig.failures == at_once.failures and len(at_once.failures) == 3
