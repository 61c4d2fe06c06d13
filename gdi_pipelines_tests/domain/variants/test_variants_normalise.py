"""Normalisation == `bcftools norm -f` (real indels moved off their left-aligned place, and
hypothesis-generated indels in repeats), idempotence, and REF-check rejects."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.variants.liftover_alleles import right_anchor
from gdi_pipelines.domain.variants.normalise import left_align, normalise_rows, realign_pair
from gdi_pipelines.domain.variants.records import read_record_chunks
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines.domain.variants.rows import AlleleRows, object_array
from gdi_pipelines_tests.domain.variants.variants_oracles import (
    BEAGLE,
    GRCH37_FASTA,
    HAPMAP,
    bcftools,
    write_fasta,
)

Site = tuple[str, int, str, str]  # chrom, pos, ref, alt


def normalise_sites(fasta: Path, sites: list[Site]) -> list[tuple[int, str, str] | str]:
    """Our normaliser on bare sites: (pos, ref, alt), or the reject reason."""
    rows = AlleleRows(
        record=np.arange(len(sites)),
        allele=np.ones(len(sites), dtype=np.int16),
        chrom=object_array([f"chr{c}" if not c.startswith("chr") else c for c, *_ in sites]),
        pos=np.array([p for _, p, _, _ in sites], dtype=np.int64),
        ref=object_array([r for _, _, r, _ in sites]),
        alt=object_array([a for *_, a in sites]),
        reason=np.full(len(sites), None, dtype=object),
    )
    reference = ReferenceGenome(fasta)
    normalise_rows(rows, reference)
    reference.close()
    return [
        (int(p), r, a) if reason is None else reason
        for p, r, a, reason in zip(rows.pos, rows.ref, rows.alt, rows.reason, strict=True)
    ]


def bcftools_sites(fasta: Path, sites: list[Site], workdir: Path) -> list[tuple[int, str, str]]:
    """`bcftools norm -f` on the same sites (ID = input index, so order does not matter)."""
    contigs = sorted({c for c, *_ in sites})
    lines = ["##fileformat=VCFv4.2", *[f"##contig=<ID={c}>" for c in contigs]]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    order = sorted(range(len(sites)), key=lambda i: (sites[i][0], sites[i][1]))
    lines += [
        f"{sites[i][0]}\t{sites[i][1]}\t{i}\t{sites[i][2]}\t{sites[i][3]}\t.\t.\t." for i in order
    ]
    vcf = workdir / "sites.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    out = bcftools("norm", "-f", str(fasta), "-c", "x", str(vcf)).stdout
    text = bcftools("query", "-f", "%ID\t%POS\t%REF\t%ALT\n", "-", stdin=out).stdout.decode()
    result: list = [None] * len(sites)
    for line in text.splitlines():
        index, pos, ref, alt = line.split("\t")
        result[int(index)] = (int(pos), ref.upper(), alt.upper())
    return result


def _real_indels(vcf: Path, fasta_end: int) -> list[Site]:
    sites = []
    for chunk in read_record_chunks(vcf):
        for chrom, pos, ref, alts in zip(
            chunk.chrom, chunk.pos, chunk.ref, chunk.alts, strict=True
        ):
            for alt in alts:
                if (
                    len(ref) != len(alt)
                    and alt[0] == ref[0]
                    and pos <= fasta_end
                    and "<" not in alt
                ):
                    sites.append((chrom, int(pos), ref, alt))
    return sites


def test_real_indels_moved_right_come_back_like_bcftools(tmp_path: Path) -> None:
    """Every real anchored indel of the beagle and hapmap files, rewritten at its rightmost
    equivalent place (as an equally valid VCF record), is normalised as bcftools does it."""
    reference = ReferenceGenome(GRCH37_FASTA)
    originals = _real_indels(BEAGLE, 21_000_000) + _real_indels(HAPMAP, 20_999_000)
    originals = [s for s in originals if s[1] > 20_000_000]  # the FASTA's real sequence
    moved = []
    for chrom, pos, ref, alt in originals:
        pos0, new_ref, new_alt = right_anchor(reference, "chr22", pos - 1, ref, alt)
        moved.append((chrom, pos0 + 1, new_ref, new_alt))
    shifted = sum(m[1] != o[1] + 1 for m, o in zip(moved, originals, strict=True))
    ours = normalise_sites(GRCH37_FASTA, moved)
    assert ours == bcftools_sites(GRCH37_FASTA, moved, tmp_path)
    assert ours == [(p, r, a) for _, p, r, a in originals]  # the files were normalised already
    assert len(originals) > 40 and shifted > 10  # indels in repeats really moved


def test_ref_mismatch_and_bad_alleles_are_rejected(tmp_path: Path) -> None:
    fasta = write_fasta(tmp_path / "ref.fa", {"chr1": "ACGTACGTTTTTGGGCCCAAATTT"})
    sites = [
        ("chr1", 2, "C", "T"),  # good SNV
        ("chr1", 2, "G", "T"),  # REF differs from the FASTA
        ("chr1", 9, "TTTT", "T"),  # deletion in a T run: moves left onto G at 7
        ("chr1", 24, "TA", "T"),  # REF runs past the end
        ("chr1", 3, "G", "<DEL>"),
        ("chr1", 3, "G", "*"),
        ("chr1", 3, "G", "R"),
        ("chr1", 3, "G", "G"),
        ("chr2", 3, "G", "A"),  # contig not in the FASTA
    ]
    assert normalise_sites(fasta, sites) == [
        (2, "C", "T"),
        "ref_mismatch",
        (7, "GTTT", "G"),
        "outside_reference",
        "symbolic_allele",
        "spanning_deletion",
        "non_acgtn_allele",
        "duplicate_allele",
        "contig_not_in_reference",
    ]


def test_alleles_are_screened_upper_cased_and_in_order(tmp_path: Path) -> None:
    """Each screen reason, the first that applies; lower case is read as upper case (as
    bcftools does); a non-ASCII letter is no base."""
    fasta = write_fasta(tmp_path / "ref.fa", {"chr1": "ACGTACGTTTTTGGGCCCAAATTT"})
    sites = [
        ("chr1", 2, "c", "t"),  # good, upper-cased
        ("chr1", 9, "tTTt", "t"),  # deletion in lower case: realigned as upper case
        ("chr1", 3, "G", "."),
        ("chr1", 3, "G", ""),
        ("chr1", 3, "G", "G]17:198982]"),
        ("chr1", 3, "G", "[17:198982[G"),
        ("chr1", 3, "G", "<*>"),  # symbolic before spanning
        ("chr1", 3, "G", "*"),
        ("chr1", 3, "G", "GÄ"),
        ("chr1", 3, "GÄ", "G"),
        ("chr1", 3, "G", "g"),  # duplicate once upper-cased
        ("chr1", 3, "N", "A"),  # N is a base, but not the reference's G
    ]
    assert normalise_sites(fasta, sites) == [
        (2, "C", "T"),
        (7, "GTTT", "G"),
        "no_alt_allele",
        "no_alt_allele",
        "symbolic_allele",
        "symbolic_allele",
        "symbolic_allele",
        "spanning_deletion",
        "non_acgtn_allele",
        "non_acgtn_allele",
        "duplicate_allele",
        "ref_mismatch",
    ]


def test_rows_whose_ref_is_not_the_references_are_realigned_as_realign_pair_does(
    tmp_path: Path,
) -> None:
    """`left_align` alone (as the liftover calls it) on rows the REF check never saw: the
    compiled loop reads REF from the reference, so rows whose REF differs go to
    `realign_pair`, which reads their own bases."""
    sequence = "GATTACA" * 30 + "CCCCCCCCGT" + "TTTTTTTTTT" + "GATTACA" * 30
    fasta = write_fasta(tmp_path / "ref.fa", {"chr1": sequence})
    sites = [
        ("chr1", 218, "CG", "G"),  # REF is the reference's: the compiled loop moves it
        ("chr1", 218, "AAT", "AT"),  # REF is not: realigned on its own bases
        ("chr1", 223, "TGT", "T"),  # REF is not, and its padding reads the reference
        ("chr1", 439, "CATT", "CA"),  # REF runs past the contig's end (440 bases)
    ]
    rows = AlleleRows(
        record=np.arange(len(sites)),
        allele=np.ones(len(sites), dtype=np.int16),
        chrom=object_array(["chr1"] * len(sites)),
        pos=np.array([p for _, p, _, _ in sites], dtype=np.int64),
        ref=object_array([r for *_, r, _ in sites]),
        alt=object_array([a for *_, a in sites]),
        reason=np.full(len(sites), None, dtype=object),
    )
    reference = ReferenceGenome(fasta)
    fetch = lambda start0, end0: reference.fetch("chr1", start0, end0)  # noqa: E731
    expected = [realign_pair(fetch, p - 1, r, a) for _, p, r, a in sites]
    assert left_align(rows, reference) == sum(
        e != (p - 1, r, a) for e, (_, p, r, a) in zip(expected, sites, strict=True)
    )
    reference.close()
    ours = [(int(p) - 1, r, a) for p, r, a in zip(rows.pos, rows.ref, rows.alt, strict=True)]
    assert ours == expected
    assert ours[0] == (209, "AC", "A")  # moved before the C run
    assert ours[1] != (217, "AAT", "AT")


@st.composite
def repeat_contig_with_sites(draw) -> tuple[str, list[Site]]:
    units = draw(
        st.lists(
            st.tuples(st.text("ACGT", min_size=1, max_size=4), st.integers(1, 7)),
            min_size=3,
            max_size=25,
        )
    )
    sequence = "".join(unit * count for unit, count in units)
    sequence = draw(st.text("ACGT", min_size=1, max_size=6)) + sequence
    n = len(sequence)
    sites = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["del", "ins_repeat", "ins_random", "complex"]))
        p = draw(st.integers(1, n))  # 1-based anchor
        k = draw(st.integers(1, 6))
        extra = draw(st.integers(0, 3))  # extra shared bases on the right
        if kind == "del":
            if p + k + extra > n:
                continue
            ref = sequence[p - 1 : p + k + extra]
            alt = sequence[p - 1] + sequence[p + k : p + k + extra]
        elif kind.startswith("ins"):
            inserted = (
                sequence[p : p + k]
                if kind == "ins_repeat"
                else draw(st.text("ACGT", min_size=1, max_size=5))
            )
            if not inserted or p + extra > n:
                continue
            ref = sequence[p - 1 : p + extra]
            alt = sequence[p - 1] + inserted + sequence[p : p + extra]
        else:
            if p + k - 1 > n:
                continue
            ref = sequence[p - 1 : p - 1 + k]
            alt = draw(st.text("ACGT", min_size=1, max_size=4))
            if alt == ref:
                continue
        sites.append(("chr1", p, ref, alt))
    return sequence, sites


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(repeat_contig_with_sites())
def test_generated_indels_in_repeats_normalise_like_bcftools(example) -> None:
    sequence, sites = example
    if not sites:
        return
    with tempfile.TemporaryDirectory() as workdir:
        fasta = write_fasta(Path(workdir) / "ref.fa", {"chr1": sequence})
        ours = normalise_sites(fasta, sites)
        assert ours == bcftools_sites(fasta, sites, Path(workdir))
        again = normalise_sites(fasta, [("chr1", p, r, a) for p, r, a in ours])
        assert again == ours  # normalising twice changes nothing


def test_indels_shifting_past_the_decoded_window_normalise_like_bcftools(
    tmp_path: Path, monkeypatch
) -> None:
    """With small FASTA windows, indels in an 8 kb repeat shift left past the window their REF
    check decoded, and sites far apart need windows of their own."""
    import gdi_pipelines.domain.variants.reference as reference

    monkeypatch.setattr(reference, "WINDOW_AHEAD", 2_000)
    monkeypatch.setattr(reference, "WINDOW_BEHIND", 300)
    rng = np.random.default_rng(7)
    random = lambda n: "".join(rng.choice(list("ACGT"), n))  # noqa: E731
    repeat = "CA" * 4_000
    sequence = random(20_000) + repeat + random(30_000)
    end = 20_000 + len(repeat)  # 1-based position of the repeat's last base
    sites = [
        ("chr1", end - 2, sequence[end - 3 : end], sequence[end - 3]),  # deletes the last "CA"
        ("chr1", end, "A", "ACA"),  # inserts "CA" after the repeat
        ("chr1", 1_200, sequence[1_199:1_203], sequence[1_199]),
        ("chr1", end + 20_000, sequence[end + 19_999 : end + 20_001], "G"),
    ]
    ours = normalise_sites(write_fasta(tmp_path / "ref.fa", {"chr1": sequence}), sites)
    assert ours == bcftools_sites(tmp_path / "ref.fa", sites, tmp_path)
    assert ours[0][0] == ours[1][0] == 20_000  # both moved to the base before the repeat
