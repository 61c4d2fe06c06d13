"""National registry CSV exports, one row per person, mapped by a `CsvMapping`.

Columns not in the mapping are dropped, so national person id columns (cpr, fodselsnummer)
never reach the model. A mandatory column missing from the header fails the whole file
(`ClinicalFormatError` naming file and column); a bad value in a row is a reject naming the
line (the header is line 1; quoted cells spanning lines are not supported) and the other
rows go on.

Model fields a column can map to:
- `sample_id`, `year_of_birth` (a year or ISO date), `country_of_origin` (alpha-2 or -3)
- `sex` (one legal sex, used for both sex at birth and administrative gender),
  `sex_at_birth`, `administrative_gender`
- lists, split on `list_separator`: `diagnoses` (CURIEs), `icd10`, `orpha`, `omim` (bare
  codes or CURIEs), `observed_hpo`, `excluded_hpo`, `consent_codes` (DUO CURIEs)
- `affected` (yes/no, ja/nej/nei, 1/0), `disease_onset` (ISO 8601 age, whole years, or an
  HPO onset term)
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from gdi_pipelines.domain.clinical import vocabulary
from gdi_pipelines.domain.clinical.builder import BatchBuilder, PersonDraft, Pseudonymise
from gdi_pipelines.domain.clinical.model import ClinicalBatch, ClinicalFormatError, SourceFormat
from gdi_pipelines.domain.clinical.sources import SourceData, read_text

CSV_FIELDS = frozenset(
    {
        "sample_id",
        "year_of_birth",
        "country_of_origin",
        "sex",
        "sex_at_birth",
        "administrative_gender",
        "diagnoses",
        "icd10",
        "orpha",
        "omim",
        "observed_hpo",
        "excluded_hpo",
        "consent_codes",
        "affected",
        "disease_onset",
    }
)
_CODE_PREFIX = {"icd10": "ICD10", "orpha": "ORPHA", "omim": "OMIM"}
_WHOLE_YEARS = re.compile(r"^\d{1,3}$")


@dataclass(frozen=True)
class CsvMapping:
    name: str
    columns: Mapping[str, str]  # national column -> model field (CSV_FIELDS)
    mandatory: frozenset[str] = frozenset({"sample_id", "year_of_birth", "sex"})  # model fields
    sex_codes: Mapping[str, str] = field(default_factory=dict)  # lower-case value -> SEX_VALUES
    list_separator: str = ";"
    delimiter: str = ","
    dropped_columns: frozenset[str] = frozenset()  # known national-id columns, never read

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns.values()) - CSV_FIELDS)
        if unknown:
            raise ValueError(f"CsvMapping {self.name}: unknown model fields {unknown}")
        unmapped = sorted(self.mandatory - set(self.columns.values()))
        if unmapped:
            raise ValueError(f"CsvMapping {self.name}: mandatory fields without column {unmapped}")
        leaked = sorted(self.dropped_columns & set(self.columns))
        if leaked:
            raise ValueError(f"CsvMapping {self.name}: national id columns mapped {leaked}")


# Aligned with the synthetic registry exports (gdi_pipelines/synth/countries.py).
DANISH_MAPPING = CsvMapping(
    name="DK",
    columns={
        "proeve_id": "sample_id",
        "koen": "sex",
        "foedselsaar": "year_of_birth",
        "diagnose_icd10": "icd10",
        "orpha": "orpha",
        "omim": "omim",
        "hpo_observeret": "observed_hpo",
        "hpo_udelukket": "excluded_hpo",
        "syg": "affected",
        "debut_alder": "disease_onset",
        "oprindelsesland": "country_of_origin",
    },
    sex_codes=vocabulary.NATIONAL_SEX_CODES["DK"],
    dropped_columns=frozenset({"cpr"}),
)
NORWEGIAN_MAPPING = CsvMapping(
    name="NO",
    columns={
        "prove_id": "sample_id",
        "kjønn": "sex",
        "fodselsar": "year_of_birth",
        "diagnose_icd10": "icd10",
        "orphakode": "orpha",
        "omim": "omim",
        "hpo_observert": "observed_hpo",
        "hpo_utelukket": "excluded_hpo",
        "syk": "affected",
        "debutalder": "disease_onset",
        "opprinnelsesland": "country_of_origin",
    },
    sex_codes=vocabulary.NATIONAL_SEX_CODES["NO"],
    dropped_columns=frozenset({"fodselsnummer"}),
)
DEFAULT_MAPPINGS: dict[str, CsvMapping] = {"DK": DANISH_MAPPING, "NO": NORWEGIAN_MAPPING}


def _read_frame(text: str, source: str, mapping: CsvMapping) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            io.StringIO(text), separator=mapping.delimiter, infer_schema=False, raise_if_empty=True
        )
    except (pl.exceptions.PolarsError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0]
        raise ClinicalFormatError(f"{source}: not a readable CSV: {first_line}") from err
    header = {c.strip() for c in frame.columns}
    for column, model_field in mapping.columns.items():
        if model_field in mapping.mandatory and column not in header:
            raise ClinicalFormatError(
                f"{source}: mandatory column {column!r} ({model_field}) is missing "
                f"from the header (mapping {mapping.name})"
            )
    return frame.rename({c: c.strip() for c in frame.columns})


def _items(value: str | None, separator: str) -> list[str]:
    return [v.strip() for v in (value or "").split(separator) if v.strip()]


def _code(model_field: str, item: str) -> str:
    prefix = _CODE_PREFIX.get(model_field)
    return item if prefix is None or ":" in item else f"{prefix}:{item}"


def _onset(value: str) -> str:
    return f"P{int(value)}Y" if _WHOLE_YEARS.match(value) else value


def _draft(
    line: int, row: dict[str, str | None], mapping: CsvMapping, builder: BatchBuilder
) -> PersonDraft:
    record = f"line {line}"
    draft = PersonDraft(record=record)
    for column, model_field in mapping.columns.items():
        value = (row.get(column) or "").strip()
        if model_field == "sample_id":
            draft.sample_id = value
        elif model_field in {"sex", "sex_at_birth", "administrative_gender"}:
            sex = builder.sex(record, model_field, value, dict(mapping.sex_codes))
            if model_field in {"sex", "sex_at_birth"}:
                draft.sex_at_birth = sex
            if model_field in {"sex", "administrative_gender"}:
                draft.administrative_gender = sex
        elif model_field == "year_of_birth":
            draft.birth = value or None
        elif model_field == "country_of_origin":
            draft.country = value or None
        elif model_field in {"diagnoses", "icd10", "orpha", "omim"}:
            items = _items(value, mapping.list_separator)
            draft.diseases += [(_code(model_field, item), None) for item in items]
        elif model_field == "observed_hpo":
            draft.observed_hpo += _items(value, mapping.list_separator)
        elif model_field == "excluded_hpo":
            draft.excluded_hpo += _items(value, mapping.list_separator)
        elif model_field == "consent_codes":
            draft.consent_codes += _items(value, mapping.list_separator)
        elif model_field == "affected":
            try:
                draft.affected = vocabulary.parse_flag(value)
            except ValueError as err:
                builder.reject(record, model_field, value, f"{err} (column {column})")
        elif model_field == "disease_onset":
            draft.onset = _onset(value) if value else None
    return draft


def read_registry_csv(
    data: SourceData,
    source: str,
    mapping: CsvMapping,
    *,
    pseudonymise: Pseudonymise,
    reference_year: int,
) -> ClinicalBatch:
    """One person per row; raises ClinicalFormatError if the file or its header is unusable."""
    frame = _read_frame(read_text(data, source), source, mapping)
    builder = BatchBuilder(source, SourceFormat.CSV, pseudonymise, reference_year)
    for index, row in enumerate(frame.iter_rows(named=True)):
        builder.add(_draft(index + 2, row, mapping, builder))
    return builder.batch()
