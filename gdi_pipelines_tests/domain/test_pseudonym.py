from gdi_pipelines.domain.pseudonym import is_pseudonym, pseudonymise


def test_keyed_stable_and_unlinkable():
    a = pseudonymise(b"k" * 32, "SE", "SE-LAB-000001")
    assert a == pseudonymise(b"k" * 32, "SE", "SE-LAB-000001")
    assert is_pseudonym(a) and a.startswith("SE-")
    assert "000001" not in a
    assert a != pseudonymise(b"j" * 32, "SE", "SE-LAB-000001")  # another key, another pseudonym
    assert a != pseudonymise(b"k" * 32, "DK", "SE-LAB-000001")
    assert not is_pseudonym("SE-LAB-000001")
