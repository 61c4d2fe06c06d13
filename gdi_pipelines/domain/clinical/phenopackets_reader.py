"""GA4GH Phenopacket v2 JSON, one file per person, parsed with the `phenopackets` bindings.

- sample id: the first biosample's id, else `subject.id`
- sex at birth: `subject.sex`; administrative gender: `subject.gender` (SNOMED gender identity)
- year of birth: the year of `subject.dateOfBirth`
- diagnoses: `diseases[].term` that are not excluded, and `interpretations[].diagnosis.disease`
- observed/excluded HPO: `phenotypicFeatures[].type` by its `excluded` flag
- disease onset: the first present disease's onset (age, HPO onset class, start of an age
  range, or a timestamp turned into the age at onset)
- affected: true when a diagnosis or an observed phenotype is kept, else unknown (null)
Phenopackets carry no country of origin and no consent codes.
"""

from __future__ import annotations

from google.protobuf import json_format
from phenopackets import Phenopacket, Sex, TimeElement

from gdi_pipelines.domain.clinical import vocabulary
from gdi_pipelines.domain.clinical.builder import BatchBuilder, PersonDraft, Pseudonymise
from gdi_pipelines.domain.clinical.model import ClinicalBatch, ClinicalFormatError, SourceFormat
from gdi_pipelines.domain.clinical.sources import SourceData, load_json, read_text


def parse_phenopacket(text: str, source: str) -> Phenopacket:
    load_json(text, source)  # JSON syntax errors, with their line
    try:
        return json_format.Parse(text, Phenopacket())
    except json_format.ParseError as err:
        first_line = str(err).splitlines()[0]
        raise ClinicalFormatError(f"{source}: not a GA4GH Phenopacket v2: {first_line}") from err


def _onset(element: TimeElement, birth: tuple[int, int, int] | None) -> str:
    kind = element.WhichOneof("element")
    if kind == "age":
        return element.age.iso8601duration
    if kind == "ontology_class":
        return element.ontology_class.id
    if kind == "age_range":
        return element.age_range.start.iso8601duration
    if kind == "timestamp" and birth is not None:
        when = element.timestamp.ToDatetime()
        return vocabulary.duration_between(birth, (when.year, when.month, when.day))
    raise ValueError(f"onset as {kind or 'nothing'} not supported")


def _draft(packet: Phenopacket, builder: BatchBuilder) -> PersonDraft:
    record = f"phenopacket id={packet.id}" if packet.id else "phenopacket"
    subject = packet.subject
    draft = PersonDraft(record=record, derive_affected=True)
    draft.sample_id = packet.biosamples[0].id if packet.biosamples else subject.id
    draft.sex_at_birth = builder.sex(record, "sex_at_birth", Sex.Name(subject.sex))
    if subject.HasField("gender"):
        gender = vocabulary.SNOMED_GENDER.get(subject.gender.id)
        if gender is None:
            builder.reject(record, "administrative_gender", subject.gender.id, "unknown gender")
        draft.administrative_gender = gender or "unknown"
    birth = None
    if subject.HasField("date_of_birth"):
        born = subject.date_of_birth.ToDatetime()
        birth = (born.year, born.month, born.day)
        draft.birth = str(born.year)
    for disease in packet.diseases:
        if disease.excluded:
            reason = "disease marked excluded; only present diagnoses are kept"
            builder.reject(record, "diagnoses", disease.term.id, reason)
            continue
        draft.diseases.append((disease.term.id, disease.term.label))
        if draft.onset is None and disease.HasField("onset"):
            try:
                draft.onset = _onset(disease.onset, birth)
            except ValueError as err:
                value = json_format.MessageToJson(disease.onset, indent=None)
                builder.reject(record, "disease_onset", value, str(err))
    for interpretation in packet.interpretations:
        if interpretation.diagnosis.HasField("disease"):
            disease = interpretation.diagnosis.disease
            draft.diseases.append((disease.id, disease.label))
    for feature in packet.phenotypic_features:
        (draft.excluded_hpo if feature.excluded else draft.observed_hpo).append(feature.type.id)
    return draft


def read_phenopacket(
    data: SourceData, source: str, *, pseudonymise: Pseudonymise, reference_year: int
) -> ClinicalBatch:
    """One person from one Phenopacket file; raises ClinicalFormatError if unreadable."""
    packet = parse_phenopacket(read_text(data, source), source)
    builder = BatchBuilder(source, SourceFormat.PHENOPACKET, pseudonymise, reference_year)
    builder.add(_draft(packet, builder))
    return builder.batch()
