"""One row per person: the national clinical exports mapped onto the 1+MG minimal dataset.

Every reader returns a `ClinicalBatch`: the persons it could map, the values it refused
(`Reject`) and the ontology ids it rewrote (`Replacement`), so that each source value is
accounted for. A file that cannot be read at all raises `ClinicalFormatError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum

import polars as pl


class ClinicalFormatError(ValueError):
    """A whole file is unreadable; the message names the file (and the line where known)."""


class SourceFormat(StrEnum):
    PHENOPACKET = "phenopacket"
    CSV = "csv"
    FHIR = "fhir"


@dataclass(frozen=True)
class CodedTerm:
    id: str  # a CURIE: HP:0000707, ICD10:Q87.4, ORPHA:558, OMIM:154700, MONDO:0007843
    label: str | None = None


@dataclass(frozen=True)
class PersonRecord:
    sample_id: str  # the keyed pseudonym of the lab sample id, never the sample id itself
    sex_at_birth: str  # see vocabulary.SEX_VALUES
    administrative_gender: str
    year_of_birth: int | None
    age_band: str | None  # "0-9", "10-19", ..., "90+" against the reference year
    country_of_origin: str | None  # ISO 3166-1 alpha-2
    diagnoses: tuple[CodedTerm, ...]
    observed_hpo: tuple[CodedTerm, ...]
    excluded_hpo: tuple[CodedTerm, ...]
    hpo_ancestors: tuple[str, ...]  # observed terms and all their ancestors, sorted
    affected: bool | None
    disease_onset: str | None  # HPO onset CURIE or ISO 8601 duration (age at onset)
    consent_codes: tuple[str, ...]  # DUO CURIEs
    source_format: str
    source_file: str
    source_record: str  # where in the file: "line 7", "Patient/abc", "phenopacket id=1"


@dataclass(frozen=True)
class Reject:
    source_file: str
    record: str  # line/record locator, or "file" when the whole file failed
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class Replacement:
    source_file: str
    record: str
    field: str
    old_id: str
    new_id: str
    reason: str  # "obsolete, replaced_by" or "alt_id of"


@dataclass(frozen=True)
class ClinicalBatch:
    records: tuple[PersonRecord, ...] = ()
    rejects: tuple[Reject, ...] = ()
    replacements: tuple[Replacement, ...] = ()

    @staticmethod
    def combine(batches: Iterable[ClinicalBatch]) -> ClinicalBatch:
        batches = list(batches)
        return ClinicalBatch(
            records=tuple(r for b in batches for r in b.records),
            rejects=tuple(r for b in batches for r in b.rejects),
            replacements=tuple(r for b in batches for r in b.replacements),
        )


_TERM = pl.Struct({"id": pl.String, "label": pl.String})

PERSON_SCHEMA = pl.Schema(
    {
        "sample_id": pl.String,
        "sex_at_birth": pl.String,
        "administrative_gender": pl.String,
        "year_of_birth": pl.Int32,
        "age_band": pl.String,
        "country_of_origin": pl.String,
        "diagnoses": pl.List(_TERM),
        "observed_hpo": pl.List(_TERM),
        "excluded_hpo": pl.List(_TERM),
        "hpo_ancestors": pl.List(pl.String),
        "affected": pl.Boolean,
        "disease_onset": pl.String,
        "consent_codes": pl.List(pl.String),
        "source_format": pl.String,
        "source_file": pl.String,
        "source_record": pl.String,
    }
)

REJECT_SCHEMA = pl.Schema({f.name: pl.String for f in fields(Reject)})
REPLACEMENT_SCHEMA = pl.Schema({f.name: pl.String for f in fields(Replacement)})


def _column_value(value: object) -> object:
    if isinstance(value, tuple):
        return [_column_value(v) for v in value]
    if isinstance(value, CodedTerm):
        return {"id": value.id, "label": value.label}
    return value


def records_to_frame(records: Iterable[PersonRecord]) -> pl.DataFrame:
    records = list(records)
    columns = {name: [_column_value(getattr(r, name)) for r in records] for name in PERSON_SCHEMA}
    return pl.DataFrame(columns, schema=PERSON_SCHEMA)


def rejects_to_frame(rejects: Iterable[Reject]) -> pl.DataFrame:
    rows = [[getattr(r, name) for name in REJECT_SCHEMA] for r in rejects]
    return pl.DataFrame(rows, schema=REJECT_SCHEMA, orient="row")


def replacements_to_frame(replacements: Iterable[Replacement]) -> pl.DataFrame:
    rows = [[getattr(r, name) for name in REPLACEMENT_SCHEMA] for r in replacements]
    return pl.DataFrame(rows, schema=REPLACEMENT_SCHEMA, orient="row")
