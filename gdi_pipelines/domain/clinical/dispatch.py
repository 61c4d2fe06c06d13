"""Read a set of clinical files of any of the three formats into one batch.

A file that fails as a whole (`ClinicalFormatError`) becomes one file-level reject and the
other files go on. One row per person: a sample id already read from an earlier file is
rejected in the later one (the first file, in the order given, wins).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from gdi_pipelines.domain.clinical.builder import Pseudonymise
from gdi_pipelines.domain.clinical.csv_reader import CsvMapping, read_registry_csv
from gdi_pipelines.domain.clinical.fhir_reader import read_fhir_bundle
from gdi_pipelines.domain.clinical.model import (
    ClinicalBatch,
    ClinicalFormatError,
    Reject,
    SourceFormat,
)
from gdi_pipelines.domain.clinical.phenopackets_reader import read_phenopacket
from gdi_pipelines.domain.clinical.sources import SourceData


@dataclass(frozen=True)
class ClinicalFile:
    data: SourceData
    source: str  # the name used in provenance and in every reject (e.g. its object key)
    format: SourceFormat


def read_clinical_file(
    file: ClinicalFile,
    *,
    pseudonymise: Pseudonymise,
    reference_year: int,
    csv_mapping: CsvMapping | None = None,
) -> ClinicalBatch:
    """Raises ClinicalFormatError when the file as a whole is unusable."""
    options = {"pseudonymise": pseudonymise, "reference_year": reference_year}
    if file.format is SourceFormat.PHENOPACKET:
        return read_phenopacket(file.data, file.source, **options)
    if file.format is SourceFormat.FHIR:
        return read_fhir_bundle(file.data, file.source, **options)
    if csv_mapping is None:
        raise ClinicalFormatError(f"{file.source}: a CSV export needs a column mapping")
    return read_registry_csv(file.data, file.source, csv_mapping, **options)


def _without_duplicates(batch: ClinicalBatch, seen: dict[str, str]) -> ClinicalBatch:
    records, rejects = [], list(batch.rejects)
    for record in batch.records:
        first = seen.get(record.sample_id)
        if first is None:
            seen[record.sample_id] = f"{record.source_file} {record.source_record}"
            records.append(record)
        else:
            reason = f"sample id already read from {first}; person dropped"
            rejects.append(
                Reject(record.source_file, record.source_record, "sample_id", "", reason)
            )
    return replace(batch, records=tuple(records), rejects=tuple(rejects))


def read_clinical_files(
    files: Iterable[ClinicalFile],
    *,
    pseudonymise: Pseudonymise,
    reference_year: int,
    csv_mapping: CsvMapping | None = None,
) -> ClinicalBatch:
    batches: list[ClinicalBatch] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            batch = read_clinical_file(
                file,
                pseudonymise=pseudonymise,
                reference_year=reference_year,
                csv_mapping=csv_mapping,
            )
        except ClinicalFormatError as err:
            batches.append(
                ClinicalBatch(rejects=(Reject(file.source, "file", "file", "", str(err)),))
            )
            continue
        batches.append(_without_duplicates(batch, seen))
    return ClinicalBatch.combine(batches)
