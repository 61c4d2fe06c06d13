"""A FHIR R4 Bundle of Patient, Condition, Observation (and Specimen, Consent) resources.

Resources are validated one entry at a time with the `fhir.resources.R4B` models (R4B is
wire-compatible with R4 for these resources; fhir.resources 8 has no separate R4 package), so
one invalid resource is a reject, not a failed file. Resources are grouped by the Patient their
`subject`/`patient` reference points to.

- sample id: a Specimen's accession id or identifier, else the Patient's first identifier that
  is not a national person id (by system or by form)
- sex at birth: `us-core-birthsex` or `individual-recordedSexOrGender` (typed "sex at birth")
  extensions; administrative gender: `Patient.gender`
- year of birth: the year of `Patient.birthDate`
- country of origin: the `patient-birthPlace` (or RareLink `birth-place`) extension
- diagnoses: Condition codings from ICD-10 (WHO), ORPHA, OMIM and MONDO systems; a Condition
  coded in HPO is a phenotype; refuted Conditions are excluded phenotypes or rejected diseases
- observed/excluded HPO: Observations coded in HPO; excluded when the phenotype status is
  "definitely not present" (SNOMED 410594000), `valueBoolean` is false or interpretation NEG
- disease onset: the first Condition onset, as an age (P1Y2M from birth date and onset date)
- consent codes: DUO codings of active Consents
Other Observations (laboratory, variants, age category) are not part of this model.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from gdi_pipelines.domain.clinical import vocabulary
from gdi_pipelines.domain.clinical.builder import BatchBuilder, PersonDraft, Pseudonymise
from gdi_pipelines.domain.clinical.model import ClinicalBatch, ClinicalFormatError, SourceFormat
from gdi_pipelines.domain.clinical.national_ids import national_identifier_kind
from gdi_pipelines.domain.clinical.sources import SourceData, load_json, read_text

NATIONAL_ID_SYSTEMS = frozenset(
    {
        "http://electronichealth.se/identifier/personnummer",
        "http://electronichealth.se/identifier/samordningsnummer",
        "urn:oid:1.2.752.129.2.1.3.1",  # SE personnummer
        "urn:oid:1.2.752.129.2.1.3.3",  # SE samordningsnummer
        "urn:oid:1.2.208.176.1.2",  # DK CPR
        "urn:oid:2.16.578.1.12.4.1.4.1",  # NO fødselsnummer
        "urn:oid:2.16.578.1.12.4.1.4.2",  # NO D-nummer
        "urn:oid:1.2.246.21",  # FI henkilötunnus
    }
)
_PHENOTYPE_ABSENT = "410594000"  # SNOMED: definitely NOT present
_SEX_AT_BIRTH_TYPES = frozenset({"281053000", "1515311000168102", "76689-9"})
_WITH_SUBJECT = ("Condition", "Observation", "Specimen", "Consent")


def _prefix(system: str | None) -> str | None:
    """The CURIE prefix for a FHIR code system URI, or None when unsupported."""
    s = (system or "").lower()
    if any(k in s for k in ("hp.owl", "hp.obo", "human-phenotype-ontology", "hpo.jax.org")):
        return "HP"
    if s in {"http://hl7.org/fhir/sid/icd-10", "urn:oid:2.16.840.1.113883.6.3"}:
        return "ICD10"
    if "orpha" in s:
        return "ORPHA"
    if "omim.org" in s:
        return "OMIM"
    if "mondo" in s:
        return "MONDO"
    if "duo" in s:
        return "DUO"
    return None


def _curie(coding: Any) -> str | None:
    prefix = _prefix(coding.system)
    code = (coding.code or "").strip()
    if prefix is None or not code:
        return None
    if ":" in code:
        return code  # already a CURIE: the term checks judge it
    return f"{prefix}:{code}"


def _codings(concept: Any) -> list[Any]:
    return list(concept.coding or []) if concept is not None else []


def _extension(resource: Any, url_tail: str) -> list[Any]:
    return [e for e in (resource.extension or []) if (e.url or "").rstrip("/").endswith(url_tail)]


def _sub(extension: Any, url: str) -> Any | None:
    return next((e for e in (extension.extension or []) if e.url == url), None)


def _sex_at_birth(patient: Any) -> str | None:
    for ext in _extension(patient, "us-core-birthsex"):
        return ext.valueCode
    for ext in _extension(patient, "individual-recordedSexOrGender") + _extension(
        patient, "individual-recordedSexOrGender.html"
    ):
        kind = _sub(ext, "type") or _sub(ext, "codeDefinition")
        kinds = {c.code for c in _codings(kind.valueCodeableConcept)} if kind else set()
        value = _sub(ext, "value")
        if kinds & _SEX_AT_BIRTH_TYPES and value and value.valueCodeableConcept:
            return next((c.code for c in _codings(value.valueCodeableConcept)), None)
    return None


def _birth_country(patient: Any) -> str | None:
    for ext in _extension(patient, "patient-birthPlace"):
        return ext.valueAddress.country if ext.valueAddress else None
    for ext in _extension(patient, "birth-place"):
        code = _sub(ext, "countryCode")
        if code and code.valueCodeableConcept:
            return next((c.code for c in _codings(code.valueCodeableConcept)), None)
    return None


def _usable_identifier(identifier: Any) -> str | None:
    value = (identifier.value or "").strip()
    if not value or identifier.system in NATIONAL_ID_SYSTEMS or national_identifier_kind(value):
        return None
    return value


def _full_date(value: object) -> tuple[int, int, int] | None:
    """(year, month, day) of a FHIR date/dateTime, None when partial ("2011", "2011-03")."""
    parts = str(value or "")[:10].split("-")
    if len(parts) < 3:
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _onset(condition: Any, birth: str | None) -> str | None:
    """The age at onset as an ISO 8601 duration; ValueError when it cannot be given."""
    when = condition.onsetDateTime or (condition.onsetPeriod and condition.onsetPeriod.start)
    if when is not None:
        born, onset = _full_date(birth), _full_date(when)
        if born is None or onset is None:
            raise ValueError("onset date and birth date must both be full dates")
        return vocabulary.duration_between(born, onset)
    if condition.onsetAge is not None and condition.onsetAge.value is not None:
        unit = {"a": "Y", "mo": "M", "wk": "W", "d": "D"}.get(condition.onsetAge.code or "a")
        if unit is None:
            raise ValueError(f"onset age unit {condition.onsetAge.code} not supported")
        return f"P{int(condition.onsetAge.value)}{unit}"
    if condition.onsetString:
        return condition.onsetString
    return None


class _Bundle:
    """The bundle's valid resources, indexed by type and by the Patient they belong to."""

    def __init__(self, doc: dict, builder: BatchBuilder) -> None:
        self.patients: dict[str, Any] = {}  # "Patient/id" -> Patient
        self.aliases: dict[str, str] = {}  # fullUrl -> "Patient/id"
        self.by_patient: dict[str, list[Any]] = {}
        self.others: list[tuple[str, Any]] = []
        for index, entry in enumerate(doc.get("entry") or []):
            resource = self._validate(index, entry, builder)
            if resource is None:
                continue
            if resource.get_resource_type() == "Patient":
                key = f"Patient/{resource.id}"
                self.patients[key] = resource
                self.by_patient[key] = []
                if entry.get("fullUrl"):
                    self.aliases[entry["fullUrl"]] = key
            elif resource.get_resource_type() in _WITH_SUBJECT:
                self.others.append((f"{resource.get_resource_type()}/{resource.id}", resource))
        for locator, resource in self.others:
            ref = getattr(resource, "patient", None) or getattr(resource, "subject", None)
            owner = self.owner(ref.reference if ref is not None else None)
            if owner is None:
                reason = "refers to no Patient in the bundle"
                builder.reject(locator, "subject", (ref and ref.reference) or "", reason)
            else:
                self.by_patient[owner].append(resource)

    @staticmethod
    def _validate(index: int, entry: dict, builder: BatchBuilder) -> Any | None:
        raw = entry.get("resource") if isinstance(entry, dict) else None
        kind = raw.get("resourceType") if isinstance(raw, dict) else None
        locator = f"entry {index} ({kind}/{raw.get('id')})" if kind else f"entry {index}"
        try:
            return get_fhir_model_class(kind).model_validate(raw)
        except (ValidationError, KeyError, TypeError, ValueError) as err:
            detail = err.errors()[0] if isinstance(err, ValidationError) else {"msg": str(err)}
            where = ".".join(str(p) for p in detail.get("loc", ()))
            builder.reject(locator, where or "resource", str(kind), f"invalid: {detail['msg']}")
            return None

    def owner(self, reference: str | None) -> str | None:
        if not reference:
            return None
        if reference in self.aliases:
            return self.aliases[reference]
        parts = reference.split("/_history/")[0].rstrip("/").split("/")
        key = "/".join(parts[-2:])
        return key if key in self.patients else None


def _draft(key: str, patient: Any, resources: list[Any], builder: BatchBuilder) -> PersonDraft:
    draft = PersonDraft(record=key, derive_affected=True)
    specimens = [r for r in resources if r.get_resource_type() == "Specimen"]
    for specimen in specimens:
        ids = [specimen.accessionIdentifier, *(specimen.identifier or [])]
        draft.sample_id = next((v for i in ids if i and (v := _usable_identifier(i))), None)
        if draft.sample_id:
            break
    if not draft.sample_id:
        ids = patient.identifier or []
        draft.sample_id = next((v for i in ids if (v := _usable_identifier(i))), None)
    draft.sex_at_birth = builder.sex(key, "sex_at_birth", _sex_at_birth(patient))
    draft.administrative_gender = builder.sex(key, "administrative_gender", patient.gender)
    draft.birth = str(patient.birthDate) if patient.birthDate else None
    draft.country = _birth_country(patient)
    for resource in resources:
        kind = resource.get_resource_type()
        locator = f"{kind}/{resource.id}"
        if kind == "Condition":
            _condition(resource, locator, draft, builder)
        elif kind == "Observation":
            _observation(resource, locator, draft, builder)
        elif kind == "Consent" and resource.status == "active":
            concepts = [*(resource.category or []), resource.policyRule]
            if resource.provision:
                concepts += list(resource.provision.code or [])
            codings = [c for concept in concepts for c in _codings(concept)]
            if resource.provision:
                codings += list(resource.provision.purpose or [])
            draft.consent_codes += [c for c in map(_curie, codings) if c and c.startswith("DUO")]
    return draft


def _condition(condition: Any, locator: str, draft: PersonDraft, builder: BatchBuilder) -> None:
    status = {c.code for c in _codings(condition.verificationStatus)}
    if "entered-in-error" in status:
        return
    refuted = "refuted" in status
    is_disease = False
    for coding in _codings(condition.code):
        curie = _curie(coding)
        if curie is None or curie.startswith("DUO"):
            value = f"{coding.system}|{coding.code}"
            builder.reject(locator, "diagnoses", value, "unsupported code system")
        elif curie.startswith("HP:"):
            (draft.excluded_hpo if refuted else draft.observed_hpo).append(curie)
        elif refuted:
            builder.reject(locator, "diagnoses", curie, "refuted; only present diagnoses kept")
        else:
            draft.diseases.append((curie, coding.display))
            is_disease = True
    if is_disease and draft.onset is None:
        try:
            draft.onset = _onset(condition, draft.birth)
        except ValueError as err:
            builder.reject(locator, "disease_onset", str(condition.onsetDateTime), str(err))


def _observation(obs: Any, locator: str, draft: PersonDraft, builder: BatchBuilder) -> None:
    hpo = [c for c in map(_curie, _codings(obs.code)) if c and c.startswith("HP:")]
    if not hpo:
        return  # not a phenotypic feature
    if obs.status in {"entered-in-error", "cancelled"}:
        for curie in hpo:
            builder.reject(locator, "observed_hpo", curie, f"observation {obs.status}")
        return
    statuses = {
        c.code
        for e in _extension(obs, "phenotype-status")
        for c in _codings(e.valueCodeableConcept)
    }
    negative = {c.code for i in (obs.interpretation or []) for c in _codings(i)}
    absent = _PHENOTYPE_ABSENT in statuses or obs.valueBoolean is False or "NEG" in negative
    (draft.excluded_hpo if absent else draft.observed_hpo).extend(hpo)


def read_fhir_bundle(
    data: SourceData, source: str, *, pseudonymise: Pseudonymise, reference_year: int
) -> ClinicalBatch:
    """One person per Patient in the bundle; raises ClinicalFormatError if unreadable."""
    doc = load_json(read_text(data, source), source)
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        raise ClinicalFormatError(f"{source}: not a FHIR Bundle (resourceType is not 'Bundle')")
    try:
        Bundle.model_validate({k: v for k, v in doc.items() if k != "entry"})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ClinicalFormatError(
            f"{source}: invalid FHIR Bundle: {where}: {first['msg']}"
        ) from err
    builder = BatchBuilder(source, SourceFormat.FHIR, pseudonymise, reference_year)
    bundle = _Bundle(doc, builder)
    for key, patient in bundle.patients.items():
        builder.add(_draft(key, patient, bundle.by_patient[key], builder))
    return builder.batch()
