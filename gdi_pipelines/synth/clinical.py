"""Clinical exports of a batch in the country's format: Phenopackets, registry CSV or FHIR."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from gdi_pipelines.domain.manifest import FileFormat
from gdi_pipelines.synth.clinical_fhir import write_fhir_bundle
from gdi_pipelines.synth.clinical_phenopackets import write_phenopackets
from gdi_pipelines.synth.countries import CSV_WORDS, ClinicalFormat, CountryProfile
from gdi_pipelines.synth.persons import Person

CSV_FILE = "registry_export.csv"
MANIFEST_FORMAT = {
    ClinicalFormat.PHENOPACKETS: FileFormat.PHENOPACKET,
    ClinicalFormat.CSV: FileFormat.CSV,
    ClinicalFormat.FHIR: FileFormat.FHIR,
}


def _csv_row(person: Person, words: dict[str, str]) -> dict[str, str]:
    d = person.disease
    return {
        "national_id": person.national_id,
        "sample_id": person.sample_id,
        "sex": words[person.sex],
        "birth_year": str(person.birth_year),
        "icd10": d.icd10 if d else "",
        "orpha": d.orpha if d and not person.coded_with_omim else "",
        "omim": d.omim if d else "",
        "hpo_observed": ";".join(t.id for t in person.observed),
        "hpo_excluded": ";".join(t.id for t in person.excluded),
        "affected": words["yes"] if person.affected else words["no"],
        "onset_age": "" if person.onset_age is None else str(person.onset_age),
        "origin_country": person.origin_country,
    }


def write_registry_csv(folder: Path, persons: list[Person], profile: CountryProfile) -> Path:
    """UTF-8 CSV with the country's column names and words (K/M, ja/nej)."""
    columns = profile.csv_columns
    if columns is None or profile.csv_language is None:
        raise ValueError(f"{profile.country}: profile has no CSV columns")
    words = CSV_WORDS[profile.csv_language]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns.values())
    for person in persons:
        row = _csv_row(person, words)
        writer.writerow(row[field] for field in columns)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CSV_FILE
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def write_clinical(
    folder: Path,
    persons: list[Person],
    profile: CountryProfile,
    batch_id: str,
    created: datetime,
    seed: int,
    vcf_path: str,
) -> list[Path]:
    """Write `{batch}/clinical/...`; returns the files written."""
    if profile.clinical_format is ClinicalFormat.PHENOPACKETS:
        return write_phenopackets(
            folder / "phenopackets", persons, profile.country, created, vcf_path, profile.build
        )
    if profile.clinical_format is ClinicalFormat.CSV:
        return [write_registry_csv(folder, persons, profile)]
    return [write_fhir_bundle(folder, persons, profile.country, batch_id, created, seed)]
