"""Quality gates of `clinical_phenotypes`, computed on the staged rows."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from gdi_pipelines.domain.clinical.national_ids import find_national_identifiers
from gdi_pipelines.domain.clinical.ontology import TermError, resolve_disease, resolve_hpo
from gdi_pipelines.domain.clinical.vocabulary import FIRST_YEAR, SEX_VALUES
from gdi_pipelines.domain.pseudonym import PSEUDONYM_PATTERN
from gdi_pipelines.domain.quality import CheckOutcome, Severity, outcome

PSEUDONYMS = "pseudonym_on_every_row"
SEX = "sex_in_vocabulary"
BIRTH_YEAR = "plausible_year_of_birth"
CODES = "only_valid_ontology_codes"
NO_IDENTIFIERS = "no_national_identifiers"
COVERAGE = "manifest_samples_have_clinical_records"
REJECTS = "no_rejected_records"
GENOTYPES = "persons_match_genotyped_samples"

CHECKS = (
    (PSEUDONYMS, Severity.ERROR, "every person is keyed by a node pseudonym"),
    (SEX, Severity.ERROR, "sex at birth and gender use the model's vocabulary"),
    (BIRTH_YEAR, Severity.ERROR, f"year of birth between {FIRST_YEAR} and this year"),
    (CODES, Severity.ERROR, "every HPO and disease code is current and valid"),
    (NO_IDENTIFIERS, Severity.ERROR, "no national identifier or lab sample id in any column"),
    (COVERAGE, Severity.WARN, "every sample of the manifest has a clinical record and vice versa"),
    (REJECTS, Severity.WARN, "source records or values rejected while reading (see rejects table)"),
)


def _outcome(name: str, failures: list[str], **figures) -> CheckOutcome:
    return outcome(CHECKS, name, failures, **figures)


def _where(row: dict) -> str:
    return f"{row['source_file']} {row['source_record']}"


def pseudonyms(staged: pl.DataFrame) -> CheckOutcome:
    bad = [
        f"{_where(r)}: sample {r['sample']!r} is not a pseudonym"
        for r in staged.iter_rows(named=True)
        if r["sample"] is None or not PSEUDONYM_PATTERN.match(r["sample"])
    ]
    dupes = staged.filter(pl.col("sample").is_duplicated())["sample"].unique().to_list()
    bad += [f"pseudonym {p} appears on more than one row" for p in dupes]
    return _outcome(PSEUDONYMS, bad, persons=staged.height)


def sex_vocabulary(staged: pl.DataFrame) -> CheckOutcome:
    bad = [
        f"{_where(r)}: {column} {r[column]!r} is not one of {', '.join(SEX_VALUES)}"
        for r in staged.iter_rows(named=True)
        for column in ("sex_at_birth", "administrative_gender")
        if r[column] not in SEX_VALUES
    ]
    return _outcome(SEX, bad)


def birth_years(staged: pl.DataFrame, this_year: int | None = None) -> CheckOutcome:
    last = this_year or datetime.now(UTC).year
    bad = [
        f"{_where(r)}: year of birth {r['year_of_birth']} outside {FIRST_YEAR}-{last}"
        for r in staged.iter_rows(named=True)
        if r["year_of_birth"] is None or not FIRST_YEAR <= r["year_of_birth"] <= last
    ]
    years = staged["year_of_birth"]
    return _outcome(BIRTH_YEAR, bad, earliest=years.min() or 0, latest=years.max() or 0)


def ontology_codes(staged: pl.DataFrame) -> CheckOutcome:
    bad, checked = [], 0
    for row in staged.iter_rows(named=True):
        for column in ("observed_hpo", "excluded_hpo"):
            for term in row[column] or []:
                checked += 1
                try:
                    resolved = resolve_hpo(term["id"])
                except TermError as exc:
                    bad.append(f"{_where(row)}: {column} {term['id']}: {exc}")
                    continue
                if resolved.term.id != term["id"]:
                    bad.append(f"{_where(row)}: {column} {term['id']} is not current")
        for term in row["diagnoses"] or []:
            checked += 1
            try:
                resolve_disease(term["id"], term["label"])
            except TermError as exc:
                bad.append(f"{_where(row)}: diagnosis {term['id']}: {exc}")
    return _outcome(CODES, bad, codes_checked=checked, invalid_codes=len(bad))


def no_identifiers(staged: pl.DataFrame, lab_sample_ids: list[str]) -> CheckOutcome:
    found = find_national_identifiers(staged)
    text = staged.select(pl.col(pl.String)).write_csv()
    leaked = sum(1 for sample_id in lab_sample_ids if sample_id in text)
    if leaked:
        found.append(f"{leaked} lab sample id(s) of the manifest appear in the staged rows")
    return _outcome(NO_IDENTIFIERS, found, findings=len(found))


def coverage(staged: pl.DataFrame, manifest_pseudonyms: list[str]) -> CheckOutcome:
    persons = set(staged["sample"].to_list())
    expected = set(manifest_pseudonyms)
    failures = [
        f"sample {p}: in the manifest, no clinical record" for p in sorted(expected - persons)
    ]
    failures += [
        f"person {p}: clinical record, not in the manifest" for p in sorted(persons - expected)
    ]
    return _outcome(
        COVERAGE,
        failures,
        samples_without_record=len(expected - persons),
        records_without_sample=len(persons - expected),
    )


def rejects(reject_rows: pl.DataFrame) -> CheckOutcome:
    rejected = reject_rows.filter(pl.col("action") == "rejected")
    failures = [
        f"{r['source_file']} {r['record']}: {r['field']} {r['value']!r}: {r['reason']}"
        for r in rejected.iter_rows(named=True)
    ]
    replaced = reject_rows.height - rejected.height
    return _outcome(REJECTS, failures, rejected=len(failures), replaced=replaced)


GENOTYPES_DESCRIPTION = "every person has genotypes and every genotyped sample a clinical record"


def genotype_coverage(persons: set[str], genotyped: set[str]) -> CheckOutcome:
    """Cross-asset: pseudonyms of clinical_phenotypes vs those of the batch's VCF samples."""
    failures = [f"person {p}: clinical record, no genotypes" for p in sorted(persons - genotyped)]
    failures += [f"sample {p}: genotypes, no clinical record" for p in sorted(genotyped - persons)]
    return CheckOutcome(
        GENOTYPES,
        not failures,
        Severity.WARN,
        GENOTYPES_DESCRIPTION,
        {
            "persons_without_genotypes": len(persons - genotyped),
            "genotyped_without_record": len(genotyped - persons),
        },
        tuple(failures),
    )
