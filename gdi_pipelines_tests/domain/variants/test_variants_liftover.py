"""Liftover: positions == pyliftover (same UCSC chain) on every record of the real files;
'-' strand indels, rejects and REF/ALT swaps on small synthetic chains."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyliftover import LiftOver

from gdi_pipelines.domain.variants.harmonise import HarmoniseConfig, harmonise_vcf
from gdi_pipelines.domain.variants.liftover import AMBIGUOUS, NO_HIT, ONE_HIT, ChainIndex
from gdi_pipelines.domain.variants.liftover_alleles import lift_rows
from gdi_pipelines.domain.variants.normalise import normalise_rows, realign_pair
from gdi_pipelines.domain.variants.records import read_record_chunks
from gdi_pipelines.domain.variants.reference import ReferenceGenome, reverse_complement
from gdi_pipelines.domain.variants.rows import AlleleRows, object_array
from gdi_pipelines_tests.domain.variants.variants_oracles import (
    ANNOTATION,
    BEAGLE,
    CHAIN,
    GRCH37_FASTA,
    HAPMAP,
    write_chain,
    write_fasta,
    write_vcf,
)

REAL_FILES = [BEAGLE, ANNOTATION, HAPMAP]


@pytest.fixture(scope="module")
def pyliftover() -> LiftOver:
    return LiftOver(str(CHAIN))


def _sites(vcf: Path) -> list[tuple[int, str, str]]:
    sites = []
    for chunk in read_record_chunks(vcf):
        for pos, ref, alts in zip(chunk.pos, chunk.ref, chunk.alts, strict=True):
            sites += [(int(pos), ref, alt) for alt in alts if not alt.startswith("<")]
    return sites


def _record_spans(vcf: Path) -> np.ndarray:
    """0-based first and last REF base of every record (symbolic ones included)."""
    spans = [
        (p - 1, p - 1 + len(r) - 1)
        for chunk in read_record_chunks(vcf)
        for p, r in zip(chunk.pos.tolist(), chunk.ref, strict=True)
    ]
    return np.array(spans, dtype=np.int64).ravel()


def _rows(chrom: str, sites: list[tuple[int, str, str]]) -> AlleleRows:
    return AlleleRows(
        record=np.arange(len(sites)),
        allele=np.ones(len(sites), dtype=np.int16),
        chrom=object_array([chrom] * len(sites)),
        pos=np.array([p for p, _, _ in sites], dtype=np.int64),
        ref=object_array([r for _, r, _ in sites]),
        alt=object_array([a for _, _, a in sites]),
        reason=np.full(len(sites), None, dtype=object),
    )


@pytest.mark.parametrize("vcf", REAL_FILES, ids=lambda p: p.name.split("_")[0])
def test_positions_agree_with_pyliftover_on_every_record(vcf: Path, pyliftover) -> None:
    index = ChainIndex.from_file(CHAIN)
    pos0 = _record_spans(vcf)
    lifted = index.lift("chr22", pos0)
    mismatches = flips = 0
    for i, p in enumerate(pos0):
        hits = pyliftover.convert_coordinate("chr22", int(p))
        expected = {0: NO_HIT, 1: ONE_HIT}.get(len(hits), AMBIGUOUS)
        if lifted.hits[i] != expected:
            mismatches += 1
        elif len(hits) == 1:
            contig, target, strand, _ = hits[0]
            same = (lifted.contig[i], lifted.pos0[i], lifted.reverse[i]) == (
                contig,
                target,
                strand == "-",
            )
            mismatches += not same
            flips += strand == "-"
    print(
        f"{vcf.name}: {len(pos0) // 2} records x (first, last REF base), "
        f"{mismatches} mismatches, {flips} strand-flipped positions"
    )
    assert mismatches == 0


@pytest.mark.parametrize("vcf", REAL_FILES, ids=lambda p: p.name.split("_")[0])
def test_lifted_variants_agree_with_pyliftover(vcf: Path, pyliftover) -> None:
    """Whole REF spans: a row maps iff pyliftover maps its first and last base uniquely onto
    chr22, contiguously; the new POS is the first base's (or, on '-', the last base's)."""
    sites = _sites(vcf)
    rows = _rows("chr22", sites)
    source = ReferenceGenome(GRCH37_FASTA)  # only read for '-' strand anchored indels
    outcome = lift_rows(rows, ChainIndex.from_file(CHAIN), source)
    checked = 0
    for i, (pos, ref, alt) in enumerate(sites):
        first = pyliftover.convert_coordinate("chr22", pos - 1)
        last = pyliftover.convert_coordinate("chr22", pos - 1 + len(ref) - 1)
        if not first or not last:
            assert rows.reason[i] == "unmapped"
        elif len(first) > 1 or len(last) > 1:
            assert rows.reason[i] == "ambiguous_mapping"
        elif first[0][0] != "chr22":
            assert rows.reason[i] == "mapped_to_other_contig"
        elif abs(last[0][1] - first[0][1]) != len(ref) - 1 or first[0][2] != last[0][2]:
            assert rows.reason[i] == "split_by_liftover"
        elif first[0][2] == "+":
            assert (rows.reason[i], rows.pos[i], rows.ref[i], rows.alt[i]) == (
                None,
                first[0][1] + 1,
                ref,
                alt,
            )
            checked += 1
        elif len(ref) == len(alt) or ref[0] != alt[0]:
            assert (rows.reason[i], rows.pos[i], rows.ref[i], rows.alt[i]) == (
                None,
                last[0][1] + 1,
                reverse_complement(ref),
                reverse_complement(alt),
            )
            checked += 1
    print(
        f"{vcf.name}: {checked}/{len(sites)} rows checked, "
        f"{int(outcome.reversed.sum())} strand flips, rejects {set(rows.reason) - {None}}"
    )
    assert checked > 0.95 * len(sites)


def test_reject_reasons_on_a_synthetic_chain(tmp_path: Path) -> None:
    rng = random.Random(7)
    source = "".join(rng.choice("ACGT") for _ in range(400))
    fasta = write_fasta(tmp_path / "src.fa", {"chr1": source})
    chain = write_chain(
        tmp_path / "c.chain",
        [
            # chr1:0-100 -> chr1:1000-1100, gap of 10 source bases, then chr1:110-200 -> 1100-1190
            ("chr1", 400, 0, "chr1", 5000, "+", 1000, [(100, 10, 0), (90, 0, 0)]),
            ("chr1", 400, 150, "chr1", 5000, "+", 3000, [(20, 0, 0)]),  # overlaps 150-170
            ("chr1", 400, 250, "chr2", 5000, "+", 0, [(50, 0, 0)]),  # to another chromosome
        ],
    )
    sites = [
        (10, source[9], "A" if source[9] != "A" else "C"),  # plain SNV
        (99, source[98:112], source[98]),  # deletion over the gap: ends map, not contiguous
        (105, source[104], "N"),  # in the gap
        (160, source[159], "G" if source[159] != "G" else "T"),  # two chains
        (260, source[259], "G" if source[259] != "G" else "T"),  # to chr2
        (350, source[349], "G" if source[349] != "G" else "T"),
    ]  # no chain at all
    rows = _rows("chr1", sites)
    lift_rows(rows, ChainIndex.from_file(chain), ReferenceGenome(fasta))
    assert rows.reason.tolist() == [
        None,
        "split_by_liftover",
        "unmapped",
        "ambiguous_mapping",
        "mapped_to_other_contig",
        "unmapped",
    ]
    assert rows.pos[0] == 1010


@st.composite
def reversed_genome_variants(draw):
    units = draw(
        st.lists(
            st.tuples(st.text("ACGT", min_size=1, max_size=3), st.integers(1, 6)),
            min_size=4,
            max_size=20,
        )
    )
    sequence = "ACGTTGCA" + "".join(u * n for u, n in units) + "TGCAACGT"
    sites = []
    for _ in range(draw(st.integers(1, 8))):
        p = draw(st.integers(2, len(sequence) - 12))
        k = draw(st.integers(1, 4))
        if draw(st.booleans()):
            sites.append((p, sequence[p - 1 : p + k], sequence[p - 1]))
        else:
            sites.append((p, sequence[p - 1], sequence[p - 1] + sequence[p : p + k]))
    return sequence, sites


@settings(max_examples=40, deadline=None)
@given(reversed_genome_variants())
def test_minus_strand_indels_equal_normalising_in_the_target(example) -> None:
    """Target = reverse complement of the source through one '-' chain: a lifted indel must be
    what normalising its reverse complement in the target gives (with and without the target
    FASTA, which exercises the right-anchoring in the source)."""
    sequence, sites = example
    target_sequence = reverse_complement(sequence)
    n = len(sequence)
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        source = ReferenceGenome(write_fasta(work / "s.fa", {"chr1": sequence}))
        target = ReferenceGenome(write_fasta(work / "t.fa", {"chr1": target_sequence}))
        chain = ChainIndex.from_file(
            write_chain(work / "c.chain", [("chr1", n, 0, "chr1", n, "-", 0, [(n, 0, 0)])])
        )
        rows = _rows("chr1", sites)
        normalise_rows(rows, source)
        normalised = list(zip(rows.pos.tolist(), rows.ref.tolist(), rows.alt.tolist(), strict=True))
        expected = []
        for pos, ref, alt in normalised:
            first_in_target = n - (pos + len(ref) - 1)  # 0-based
            fetch = lambda a, b: target.fetch("chr1", a, b)  # noqa: E731
            t0, t_ref, t_alt = realign_pair(
                fetch, first_in_target, reverse_complement(ref), reverse_complement(alt)
            )
            expected.append((t0 + 1, t_ref, t_alt))
        for with_target in (False, True):
            lifted = _rows("chr1", normalised)
            outcome = lift_rows(lifted, chain, source, target if with_target else None)
            assert lifted.reason.tolist() == [None] * len(sites)
            assert outcome.reversed.all() and not outcome.swapped.any()
            got = list(
                zip(lifted.pos.tolist(), lifted.ref.tolist(), lifted.alt.tolist(), strict=True)
            )
            assert got == expected


def test_ref_alt_swap_recodes_genotypes(tmp_path: Path) -> None:
    rng = random.Random(3)
    source = "".join(rng.choice("ACGT") for _ in range(300))
    snv, other = 50, 80  # 1-based; the target carries the ALT at `snv`, a third base at `other`
    alt = "A" if source[snv - 1] != "A" else "C"
    third = next(b for b in "ACGT" if b not in (source[other - 1], "T"))
    target = list(source)
    target[snv - 1], target[other - 1] = alt, third
    source_fa = write_fasta(tmp_path / "s.fa", {"chr1": source})
    target_fa = write_fasta(tmp_path / "t.fa", {"chr1": "".join(target)})
    chain = write_chain(
        tmp_path / "c.chain", [("chr1", 300, 0, "chr1", 300, "+", 0, [(300, 0, 0)])]
    )
    samples = ["hom_ref", "het", "hom_alt", "missing"]
    gts = ["0/0", "0/1", "1/1", "./."]
    other_alt = "T" if source[other - 1] != "T" else "G"
    vcf = write_vcf(
        tmp_path / "v.vcf.gz",
        [
            ("1", snv, source[snv - 1], alt, "PASS", gts),
            ("1", other, source[other - 1], other_alt, "PASS", gts),
        ],
        samples,
        {"1": 300},
    )
    config = HarmoniseConfig(
        source_build="GRCh37", source_fasta=source_fa, target_fasta=target_fa, chain=chain
    )
    (chunk,) = harmonise_vcf(vcf, config, lambda s: s)
    calls = chunk.calls.sort("sample")
    assert calls.select("sample", "pos", "ref", "alt", "dosage").rows() == [
        ("het", snv, alt, source[snv - 1], 1),
        ("hom_ref", snv, alt, source[snv - 1], 2),
        ("missing", snv, alt, source[snv - 1], None),
    ]
    assert calls["source_ref"].to_list() == [source[snv - 1]] * 3
    assert chunk.rejects.select("pos", "reason").rows() == [(other, "target_ref_mismatch")]
    assert chunk.stats["swapped"] == 1
    assert calls.schema["dosage"] == pl.Int8
