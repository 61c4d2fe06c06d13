"""Clinical phenotypes: Phenopackets, FHIR and registry CSV exports -> one row per person."""

from gdi_pipelines.domain.clinical.csv_reader import (
    DANISH_MAPPING,
    DEFAULT_MAPPINGS,
    NORWEGIAN_MAPPING,
    CsvMapping,
    read_registry_csv,
)
from gdi_pipelines.domain.clinical.dispatch import (
    ClinicalFile,
    read_clinical_file,
    read_clinical_files,
)
from gdi_pipelines.domain.clinical.fhir_reader import read_fhir_bundle
from gdi_pipelines.domain.clinical.model import (
    PERSON_SCHEMA,
    REJECT_SCHEMA,
    REPLACEMENT_SCHEMA,
    ClinicalBatch,
    ClinicalFormatError,
    CodedTerm,
    PersonRecord,
    Reject,
    Replacement,
    SourceFormat,
    records_to_frame,
    rejects_to_frame,
    replacements_to_frame,
)
from gdi_pipelines.domain.clinical.national_ids import (
    find_national_identifiers,
    national_identifier_kind,
)
from gdi_pipelines.domain.clinical.phenopackets_reader import read_phenopacket

__all__ = [
    "DANISH_MAPPING",
    "DEFAULT_MAPPINGS",
    "NORWEGIAN_MAPPING",
    "PERSON_SCHEMA",
    "REJECT_SCHEMA",
    "REPLACEMENT_SCHEMA",
    "ClinicalBatch",
    "ClinicalFile",
    "ClinicalFormatError",
    "CodedTerm",
    "CsvMapping",
    "PersonRecord",
    "Reject",
    "Replacement",
    "SourceFormat",
    "find_national_identifiers",
    "national_identifier_kind",
    "read_clinical_file",
    "read_clinical_files",
    "read_fhir_bundle",
    "read_phenopacket",
    "read_registry_csv",
    "records_to_frame",
    "rejects_to_frame",
    "replacements_to_frame",
]
