"""Shared validation for all readers: a reader extracts raw values per person into a
`PersonDraft`, and `BatchBuilder` checks them, records rejects and replacements, and emits
`PersonRecord`s. A rejected value longer than `MAX_REJECTED_VALUE` characters is kept
shortened, with its length.

What happens to a bad value:

| problem                                       | the value               | the person |
|-----------------------------------------------|-------------------------|------------|
| missing sample id                             | reject                  | dropped    |
| year of birth missing, unreadable, future,    | reject                  | dropped    |
| before 1900 (the `plausible_year_of_birth`    |                         |            |
| gate blocks a batch with such a person)       |                         |            |
| unknown sex/gender value                      | reject, set `unknown`   | kept       |
| unknown country code                          | reject, set null        | kept       |
| unknown or malformed HPO id                   | reject, term dropped    | kept       |
| obsolete HPO id with replaced_by, alt_id      | replacement recorded    | kept       |
| obsolete HPO id without replaced_by           | reject, term dropped    | kept       |
| unknown ICD-10, malformed ORPHA/OMIM/MONDO    | reject, code dropped    | kept       |
| term both observed and excluded               | reject the exclusion    | kept       |
| malformed onset, DUO code, affected flag      | reject, set null/drop   | kept       |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gdi_pipelines.domain.clinical import ontology, vocabulary
from gdi_pipelines.domain.clinical.model import (
    ClinicalBatch,
    CodedTerm,
    PersonRecord,
    Reject,
    Replacement,
    SourceFormat,
)
from gdi_pipelines.domain.clinical.national_ids import redact

Pseudonymise = Callable[[str], str]
MAX_REJECTED_VALUE = 200


def _shortened(value: str) -> str:
    if len(value) <= MAX_REJECTED_VALUE:
        return value
    return f"{value[: MAX_REJECTED_VALUE // 2]}... ({len(value):,} characters)"


@dataclass
class PersonDraft:
    """Raw values of one person as a reader found them (codes still unchecked)."""

    record: str  # locator in the source file
    sample_id: str | None = None
    sex_at_birth: str = "unknown"  # already normalised by the reader (it knows the coding)
    administrative_gender: str = "unknown"
    birth: str | None = None  # a year or an ISO date; only the year is kept
    country: str | None = None
    diseases: list[tuple[str, str | None]] = field(default_factory=list)  # (CURIE, label)
    observed_hpo: list[str] = field(default_factory=list)
    excluded_hpo: list[str] = field(default_factory=list)
    affected: bool | None = None
    derive_affected: bool = False  # no explicit flag: affected when a diagnosis/phenotype is kept
    onset: str | None = None  # an HPO CURIE or an ISO 8601 duration
    consent_codes: list[str] = field(default_factory=list)


class BatchBuilder:
    def __init__(
        self,
        source_file: str,
        source_format: SourceFormat,
        pseudonymise: Pseudonymise,
        reference_year: int,
    ) -> None:
        self.source_file = source_file
        self.source_format = source_format
        self.pseudonymise = pseudonymise
        self.reference_year = reference_year
        self.records: list[PersonRecord] = []
        self.rejects: list[Reject] = []
        self.replacements: list[Replacement] = []

    def reject(self, record: str, field_name: str, value: str, reason: str) -> None:
        value = redact(_shortened(value))
        reject = Reject(self.source_file, redact(record), field_name, value, reason)
        self.rejects.append(reject)

    def sex(
        self, record: str, field_name: str, value: str | None, extra: dict[str, str] | None = None
    ) -> str:
        normalised = vocabulary.normalise_sex(value, extra)
        if normalised is None:
            self.reject(record, field_name, value or "", "unknown sex/gender value")
            return "unknown"
        return normalised

    def _hpo(self, record: str, field_name: str, curie: str) -> CodedTerm | None:
        try:
            resolved = ontology.resolve_hpo(curie)
        except ontology.TermError as err:
            self.reject(record, field_name, curie, str(err))
            return None
        if resolved.replaced:
            self.replacements.append(
                Replacement(
                    self.source_file,
                    record,
                    field_name,
                    resolved.replaced,
                    resolved.term.id,
                    resolved.reason or "",
                )
            )
        return resolved.term

    def _hpo_list(self, record: str, field_name: str, ids: list[str]) -> list[CodedTerm]:
        terms: dict[str, CodedTerm] = {}
        for curie in ids:
            term = self._hpo(record, field_name, curie)
            if term is not None:
                terms.setdefault(term.id, term)
        return list(terms.values())

    def _diseases(self, record: str, codes: list[tuple[str, str | None]]) -> list[CodedTerm]:
        terms: dict[str, CodedTerm] = {}
        for curie, label in codes:
            try:
                term = ontology.resolve_disease(curie, label)
            except ontology.TermError as err:
                self.reject(record, "diagnoses", curie, str(err))
                continue
            terms.setdefault(term.id, term)
        return list(terms.values())

    def _onset(self, record: str, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith("HP:"):
            term = self._hpo(record, "disease_onset", value)
            return term.id if term else None
        try:
            return vocabulary.check_duration(value)
        except ValueError as err:
            self.reject(record, "disease_onset", value, str(err))
            return None

    def _country(self, record: str, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        try:
            return vocabulary.country_alpha2(value)
        except ValueError as err:
            self.reject(record, "country_of_origin", value, str(err))
            return None

    def _consents(self, record: str, codes: list[str]) -> list[str]:
        kept: list[str] = []
        for code in codes:
            try:
                checked = vocabulary.check_duo(code)
            except ValueError as err:
                self.reject(record, "consent_codes", code, str(err))
                continue
            if checked not in kept:
                kept.append(checked)
        return kept

    def _year(self, draft: PersonDraft) -> tuple[bool, int | None]:
        """(usable, year): the person is dropped when the year is missing or not usable."""
        if not draft.birth or not draft.birth.strip():
            reason = "year of birth missing; person dropped"
            self.reject(draft.record, "year_of_birth", "", reason)
            return False, None
        try:
            year = vocabulary.year_from(draft.birth)
            vocabulary.check_year_of_birth(year, self.reference_year)
        except ValueError as err:
            self.reject(draft.record, "year_of_birth", draft.birth, f"{err}; person dropped")
            return False, None
        return True, year

    def add(self, draft: PersonDraft) -> PersonRecord | None:
        """Check one person; returns the record, or None when the person is rejected."""
        observed = self._hpo_list(draft.record, "observed_hpo", draft.observed_hpo)
        excluded = []
        for term in self._hpo_list(draft.record, "excluded_hpo", draft.excluded_hpo):
            if any(term.id == o.id for o in observed):
                self.reject(draft.record, "excluded_hpo", term.id, "term also observed")
            else:
                excluded.append(term)
        diagnoses = self._diseases(draft.record, draft.diseases)
        onset = self._onset(draft.record, draft.onset)
        country = self._country(draft.record, draft.country)
        consents = self._consents(draft.record, draft.consent_codes)
        usable, year = self._year(draft)
        affected = draft.affected
        if affected is None and draft.derive_affected and (diagnoses or observed):
            affected = True
        sample_id = (draft.sample_id or "").strip()
        if not sample_id:
            self.reject(draft.record, "sample_id", "", "missing sample id; person dropped")
            return None
        if not usable:
            return None
        record = PersonRecord(
            sample_id=self.pseudonymise(sample_id),
            sex_at_birth=draft.sex_at_birth,
            administrative_gender=draft.administrative_gender,
            year_of_birth=year,
            age_band=None if year is None else vocabulary.age_band(year, self.reference_year),
            country_of_origin=country,
            diagnoses=tuple(diagnoses),
            observed_hpo=tuple(observed),
            excluded_hpo=tuple(excluded),
            hpo_ancestors=ontology.hpo_ancestors(t.id for t in observed),
            affected=affected,
            disease_onset=onset,
            consent_codes=tuple(consents),
            source_format=self.source_format.value,
            source_file=self.source_file,
            source_record=redact(draft.record),
        )
        self.records.append(record)
        return record

    def batch(self) -> ClinicalBatch:
        return ClinicalBatch(tuple(self.records), tuple(self.rejects), tuple(self.replacements))
