"""Left-alignment, right-shifting and record merging of the synthetic variants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gdi_pipelines.synth.normalise import (
    Allele,
    left_align,
    max_right_shift,
    merge_alleles,
    right_shift,
    split_record,
)

SEQ = b"GATTACAGGCACACACACTTTTTTTGCA"  # (CA)4C repeat at 9-17 after G at 8; T run at 18-24


def test_deletion_in_homopolymer_left_aligns_to_the_base_before_the_run():
    shifted = Allele(22, "TT", "T")  # deletes seq[23]
    assert left_align(SEQ, shifted) == Allele(17, "CT", "C")
    assert max_right_shift(SEQ, Allele(17, "CT", "C")) == 6
    assert right_shift(SEQ, Allele(17, "CT", "C")) == Allele(23, "TT", "T")


def test_dinucleotide_insertion_moves_by_whole_bases_and_keeps_ref_matching():
    left = left_align(SEQ, Allele(16, "A", "ACA"))
    assert left == Allele(8, "G", "GCA")
    moved = right_shift(SEQ, left, 3)
    assert moved.ref == chr(SEQ[moved.pos])
    assert left_align(SEQ, moved) == left


def test_merge_and_split_round_trip():
    alleles = [Allele(8, "GCA", "G"), Allele(8, "G", "GCA"), Allele(8, "G", "T")]
    pos, ref, alts = merge_alleles(alleles)
    assert (pos, ref) == (8, "GCA")
    assert alts == ("G", "GCACA", "TCA")
    assert [left_align(SEQ, a) for a in split_record(pos, ref, alts)] == alleles


sequences = st.text(alphabet="ACGT", min_size=30, max_size=80).map(str.encode)


@settings(max_examples=200, deadline=None)
@given(seq=sequences, data=st.data())
def test_right_shift_then_left_align_is_identity(seq, data):
    pos = data.draw(st.integers(1, len(seq) - 10))
    size = data.draw(st.integers(1, 4))
    if data.draw(st.booleans()):
        allele = Allele(pos, seq[pos : pos + 1 + size].decode(), chr(seq[pos]))
    else:
        inserted = data.draw(st.text(alphabet="ACGT", min_size=size, max_size=size))
        allele = Allele(pos, chr(seq[pos]), chr(seq[pos]) + inserted)
    left = left_align(seq, allele)
    assert seq[left.pos : left.end].decode() == left.ref
    for steps in range(max_right_shift(seq, left) + 1):
        moved = right_shift(seq, left, steps)
        assert seq[moved.pos : moved.end].decode() == moved.ref
        assert left_align(seq, moved) == left
