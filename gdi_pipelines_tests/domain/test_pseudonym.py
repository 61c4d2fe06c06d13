from gdi_pipelines.domain.pseudonym import Redactor, is_pseudonym, pseudonymise


def test_keyed_stable_and_unlinkable():
    a = pseudonymise(b"k" * 32, "SE", "SE-LAB-000001")
    assert a == pseudonymise(b"k" * 32, "SE", "SE-LAB-000001")
    assert is_pseudonym(a) and a.startswith("SE-")
    assert "000001" not in a
    assert a != pseudonymise(b"j" * 32, "SE", "SE-LAB-000001")  # another key, another pseudonym
    assert a != pseudonymise(b"k" * 32, "DK", "SE-LAB-000001")
    assert not is_pseudonym("SE-LAB-000001")


def test_redactor_replaces_every_sample_id_longest_first():
    redact = Redactor({"S1": "SE-aaa", "S10": "SE-bbb"})
    assert redact("reads/S10_R1.fq and S1.bam") == "reads/SE-bbb_R1.fq and SE-aaa.bam"
    assert redact(None) is None
    assert Redactor({})("S1") == "S1"
