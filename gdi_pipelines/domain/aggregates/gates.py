"""Quality gates of the summary tables (node-local and federation), on the staged rows.

What GX expresses (types, ranges, keys) is in the tables' suites; these are the checks that
need the inputs (samples, calls, persons) or the disclosure rules.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from isal import igzip
from pyarrow import json as pa_json

from gdi_pipelines.domain.aggregates.disclosure import TOTAL
from gdi_pipelines.domain.aggregates.exports import countries_of
from gdi_pipelines.domain.aggregates.suppression import Status, pinned
from gdi_pipelines.domain.pseudonym import PSEUDONYM_PATTERN
from gdi_pipelines.domain.quality import CheckOutcome, Severity, outcome
from gdi_pipelines.domain.read_ahead import read_ahead

QC_COMPLETE = "every_genotyped_sample_has_qc"
QC_PASS_FRACTION = "qc_pass_fraction"
SEX_CONCORDANCE = "sex_concordance"
AC_MATCHES_CALLS = "allele_counts_match_calls"
PASSING_SAMPLES = "only_qc_passing_samples_counted"
PERSONS_COUNTED = "every_person_counted"
NO_PERSON_DATA = "no_person_level_data"
COUNTRY_CELLS = "country_cells_protected"
SMALL_CELLS = "small_cells_suppressed"
NOT_RECOVERABLE = "suppressed_cells_not_recoverable"
EXPORTS_MATCH = "exports_match_aggregates"

QC_CHECKS = (
    (QC_COMPLETE, Severity.ERROR, "one QC row per genotyped sample of the batch"),
    (QC_PASS_FRACTION, Severity.ERROR, "at least the configured share of samples passes QC"),
    (SEX_CONCORDANCE, Severity.WARN, "inferred genetic sex agrees with the reported sex"),
)
SUMMARY_CHECKS = (
    (AC_MATCHES_CALLS, Severity.ERROR, "total AC equals the ALT alleles called in passing samples"),
    (PASSING_SAMPLES, Severity.ERROR, "n_samples is the number of QC-passing samples"),
)
NO_PERSON_DATA_CHECK = (NO_PERSON_DATA, Severity.ERROR, "no person-level column or pseudonym")
COHORT_CHECKS = (
    (PERSONS_COUNTED, Severity.ERROR, "every person of the batch is counted in some cell"),
    NO_PERSON_DATA_CHECK,
)
AGGREGATE_CHECKS = (
    NO_PERSON_DATA_CHECK,
    (COUNTRY_CELLS, Severity.ERROR, "no published per-country AC below k, none recoverable"),
)
SUPPRESSION_CHECKS = (
    NO_PERSON_DATA_CHECK,
    (SMALL_CELLS, Severity.ERROR, "no published count of persons below k"),
    (NOT_RECOVERABLE, Severity.ERROR, "no suppressed count follows from the published ones"),
)
EXPORT_CHECKS = (
    (EXPORTS_MATCH, Severity.ERROR, "sites VCF and Beacon documents read back equal the table"),
)
CHECKS = (*QC_CHECKS, *SUMMARY_CHECKS, *COHORT_CHECKS, *AGGREGATE_CHECKS[1:])
CHECKS += (*SUPPRESSION_CHECKS[1:], *EXPORT_CHECKS)
PERSON_COLUMNS = frozenset(
    {"sample", "sample_id", "dosage", "gt", "gq", "dp", "ploidy", "year_of_birth", "age_band"}
    | {"sex_at_birth", "observed_hpo", "diagnoses", "source_file", "source_record"}
)


def _check(name: str, failures: list[str], **figures) -> CheckOutcome:
    return outcome(CHECKS, name, failures, **figures)


def sample_qc_complete(qc: pl.DataFrame, genotyped: list[str]) -> CheckOutcome:
    seen = Counter(qc["sample"].to_list())
    failures = [f"sample {s}: no QC row" for s in sorted(set(genotyped) - set(seen))]
    failures += [
        f"sample {s}: not genotyped in the batch" for s in sorted(set(seen) - set(genotyped))
    ]
    failures += [f"sample {s}: {n} QC rows" for s, n in sorted(seen.items()) if n > 1]
    return _check(QC_COMPLETE, failures, samples=qc.height, genotyped=len(genotyped))


def qc_pass_fraction(qc: pl.DataFrame, minimum: float) -> CheckOutcome:
    n_pass = int(qc["qc_pass"].sum())
    fraction = n_pass / qc.height if qc.height else 0.0
    reasons = Counter(r for row in qc["qc_fail_reasons"].to_list() for r in row)
    failures = []
    if fraction < minimum:
        top = ", ".join(f"{r} ({n})" for r, n in reasons.most_common(5)) or "none"
        failures.append(f"{n_pass}/{qc.height} samples pass QC (< {minimum:.0%}); reasons: {top}")
    figures = {f"failed_{r}": n for r, n in reasons.items()}
    return _check(
        QC_PASS_FRACTION, failures, samples=qc.height, passing=n_pass, fraction=fraction, **figures
    )


def sex_concordance(qc: pl.DataFrame) -> CheckOutcome:
    bad = qc.filter(pl.col("sex_mismatch"))
    failures = [
        f"sample {r['sample']}: reported {r['reported_sex']}, inferred {r['inferred_sex']}"
        for r in bad.iter_rows(named=True)
    ]
    ambiguous = qc.filter(pl.col("inferred_sex") == "ambiguous").height
    return _check(SEX_CONCORDANCE, failures, mismatches=bad.height, ambiguous=ambiguous)


def allele_counts_match(total_ac: int, called_alt_alleles: int) -> CheckOutcome:
    failures = []
    if total_ac != called_alt_alleles:
        failures.append(f"sum of AC {total_ac} != {called_alt_alleles} ALT alleles called")
    return _check(AC_MATCHES_CALLS, failures, total_ac=total_ac, called=called_alt_alleles)


def passing_samples_counted(counted: list[int], variants: int, n_passing: int) -> CheckOutcome:
    """`counted`: the distinct n_samples of a batch's `variants` summaries."""
    failures = [
        f"n_samples {n} != {n_passing} QC-passing samples"
        for n in sorted(counted)
        if n != n_passing
    ]
    return _check(PASSING_SAMPLES, failures, passing=n_passing, variants=variants)


def persons_counted(cells: pl.DataFrame, persons: pl.DataFrame) -> CheckOutcome:
    """Each person counts in >= 1 cell of their (country, sex) table, so the cells of a
    table add up to at least its persons."""
    sex = pl.col("sex_at_birth").fill_null("unknown").alias("sex")
    expected = persons.group_by("country", sex).len("persons")
    counted = cells.group_by("country", "sex").agg(pl.col("n_persons").sum())
    joined = expected.join(counted, on=["country", "sex"], how="left").fill_null(0)
    failures = [
        f"{r['country']} {r['sex']}: {r['persons']} persons, cells add up to {r['n_persons']}"
        for r in joined.iter_rows(named=True)
        if r["n_persons"] < r["persons"]
    ]
    uncounted = int((joined["persons"] - joined["n_persons"]).clip(lower_bound=0).sum())
    figures = {"persons": persons.height, "cells": cells.height, "uncounted": uncounted}
    return _check(PERSONS_COUNTED, failures, **figures)


def no_person_level_data(
    frame: pl.DataFrame | pl.LazyFrame, known_pseudonyms: set[str] = frozenset()
) -> CheckOutcome:
    """No person-level column, and no string value shaped like (or known as) a pseudonym; a
    LazyFrame is read a column at a time."""
    table = frame.lazy()
    schema = table.collect_schema()
    failures = [f"column {c!r} is person-level" for c in schema if c.lower() in PERSON_COLUMNS]
    for column in [c for c, dtype in schema.items() if dtype == pl.String]:
        values = table.select(pl.col(column).drop_nulls().unique()).collect().to_series()
        hits = [v for v in values.to_list() if PSEUDONYM_PATTERN.match(v) or v in known_pseudonyms]
        failures += [f"column {column!r} holds sample pseudonym {v}" for v in hits[:5]]
    rows = table.select(pl.len()).collect().item()
    return _check(NO_PERSON_DATA, failures, columns=len(schema), rows=rows)


def country_cells_protected(pooled: pl.DataFrame | pl.LazyFrame, k: int) -> CheckOutcome:
    countries = countries_of(pooled)
    figures = [f"{f}_{c}" for c in countries for f in ("AC", "AN")]
    pooled = pooled.lazy().select("variant_id", "n_countries", *figures).collect()
    failures, n_small = [], 0
    for country in countries:
        ac = pl.col(f"AC_{country}")
        small = pooled.filter((ac >= 1) & (ac < k))
        n_small += small.height
        failures += [
            f"{r['variant_id']}: AC_{country} = {r[f'AC_{country}']} published (< {k})"
            for r in small.head(5).iter_rows(named=True)
        ]
    # the attacker's view: with >= 2 contributors, a single hidden one is the pooled AC minus
    # the published ones (a sole contributor withheld is not named by any column)
    published = [(pl.col(f"AN_{c}") > 0).fill_null(False).cast(pl.Int64) for c in countries]
    hidden = pl.col("n_countries") - pl.sum_horizontal(published) if published else pl.lit(0)
    single = pooled.filter((hidden == 1) & (pl.col("n_countries") >= 2))
    failures += [
        f"{r['variant_id']}: one contributing country withheld, recoverable from the pool"
        for r in single.head(5).iter_rows(named=True)
    ]
    figures = {"variants": pooled.height, "k": k, "small": n_small, "single": single.height}
    return _check(COUNTRY_CELLS, failures, **figures)


def cohort_suppression(summary: pl.DataFrame, k: int) -> list[CheckOutcome]:
    """Both disclosure checks of the published cohort summary, per (country, sex) table."""
    small = summary.filter(pl.col("n_persons").is_between(1, k - 1))
    small_failures = [
        f"{r['country']} {r['sex']} {r['diagnosis_group']} x {r['phenotype_group']}: "
        f"{r['n_persons']} persons published"
        for r in small.iter_rows(named=True)
    ]
    recoverable = []
    for (country, sex), table in summary.group_by("country", "sex", maintain_order=True):
        rows = [*sorted(set(table["diagnosis_group"]) - {TOTAL}), TOTAL]
        cols = [*sorted(set(table["phenotype_group"]) - {TOTAL}), TOTAL]
        values = np.zeros((len(rows), len(cols)), dtype=np.int64)
        status = np.full(values.shape, Status.PRIMARY, dtype=np.int8)
        for d, p, n in table.select("diagnosis_group", "phenotype_group", "n_persons").iter_rows():
            if n is not None:
                values[rows.index(d), cols.index(p)] = n
                status[rows.index(d), cols.index(p)] = Status.PUBLISHED
        recoverable += [
            f"{country} {sex} {rows[r]} x {cols[c]}: follows from the published counts"
            for r, c in pinned(values, status)
        ]
    hidden = summary["n_persons"].null_count()
    figures = {"cells": summary.height, "suppressed": hidden}
    return [
        _check(SMALL_CELLS, small_failures, **figures, k=k, small=small.height),
        _check(NOT_RECOVERABLE, recoverable, **figures),
    ]


_READ_BLOCK_BYTES = 4 << 20  # Beacon documents (or VCF records) parsed together
MAX_LISTED = 50  # mismatched records named per block
# the fields the read-back compares; Arrow's JSON reader skips the others (2.3x polars' speed)
_BEACON_SCHEMA = pa.schema(
    [
        ("variantInternalId", pa.string()),
        (
            "frequencyInPopulations",
            pa.list_(
                pa.struct([("frequencies", pa.list_(pa.struct([("alleleCount", pa.int64())])))])
            ),
        ),
    ]
)
_BEACON_PARSE = pa_json.ParseOptions(
    explicit_schema=_BEACON_SCHEMA, unexpected_field_behavior="ignore"
)
_ARROW_ROW = re.compile(r" in row (\d+)$")


def _text_blocks(path: Path):
    """(first line number, lines) per block of about _READ_BLOCK_BYTES of a text file (gzip,
    BGZF included, when its name ends in .gz): whole lines as one bytes object, the last
    ending in a newline unless the file does not."""
    opener = igzip.open if path.suffix == ".gz" else open
    first, rest = 1, b""
    with opener(path, "rb") as handle:
        while True:
            data = handle.read(_READ_BLOCK_BYTES)
            block = rest + data
            end = block.rfind(b"\n") + 1 if data else len(block)
            block, rest = block[:end], block[end:]
            if block:
                yield first, block
                first += block.count(b"\n") + (not block.endswith(b"\n"))
            if not data:
                return


def _beacon_pooled_counts(path: Path):
    """(first line number, frame of variant_id and pooled_ac) per block of documents, parsed
    by Arrow's JSON reader; a document that is not JSON (or has a field of another type)
    raises ValueError naming the file and its line."""
    pooled_population = pl.col("frequencyInPopulations").list.first()
    pooled_ac = pooled_population.struct.field("frequencies").list.first()
    for first, block in read_ahead(_text_blocks(path), depth=1, name="gdi-export-reader"):
        try:
            docs = pa_json.read_json(io.BytesIO(block), parse_options=_BEACON_PARSE)
        except pa.ArrowInvalid as error:
            message = str(error)
            row = _ARROW_ROW.search(message)
            where = f"line {first + int(row[1])}" if row else f"lines from {first}"
            raise ValueError(f"{path.name} {where}: {_ARROW_ROW.sub('', message)}") from error
        yield (
            first,
            pl.from_arrow(docs).select(
                variant_id=pl.col("variantInternalId"),
                pooled_ac=pooled_ac.struct.field("alleleCount"),
            ),
        )


def _vcf_counts(path: Path):
    """Frames of line_no, variant_id, AC, AN per block of the sites VCF's records, parsed by
    polars (htslib has read every record when it indexed the file)."""
    fields = pl.col("line").str.split_exact("\t", 7)
    info = fields.struct.field("field_7")
    for first, block in read_ahead(_text_blocks(path), depth=1, name="gdi-export-reader"):
        text = pl.Series("line", [block.removesuffix(b"\n")], dtype=pl.Binary)
        lines = text.cast(pl.String).str.split("\n").explode()  # the cast checks UTF-8
        records = lines.to_frame().with_row_index("line_no", offset=first)
        records = records.filter(~pl.col("line").str.starts_with("#"))
        if records.height:
            yield records.select(
                "line_no",
                variant_id=pl.concat_str(
                    [fields.struct.field(f"field_{i}") for i in (0, 1, 3, 4)], separator="-"
                ),
                AC=info.str.extract(r"(?:^|;)AC=(\d+)(?:;|$)").cast(pl.Int64, strict=False),
                AN=info.str.extract(r"(?:^|;)AN=(\d+)(?:;|$)").cast(pl.Int64, strict=False),
            )


def _with_table_counts(block: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """`block` plus AC_table, AN_table and in_table of its variant_id, found by binary search
    in `table` (variant_id, AC, AN sorted by variant_id): a join per block would hash the
    whole table for each block."""
    ids = block["variant_id"]
    if table.height == 0:
        empty = pl.Series([None] * len(ids), dtype=pl.Int64)
        found = pl.DataFrame({"AC_table": empty, "AN_table": empty, "in_table": [False] * len(ids)})
        return pl.concat([block, found], how="horizontal")
    at = table["variant_id"].search_sorted(ids).clip(0, table.height - 1)
    rows = table.select(AC_table="AC", AN_table="AN")[at]
    found = rows.with_columns(in_table=table["variant_id"].gather(at) == ids).with_columns(
        pl.when("in_table").then(pl.col("AC_table", "AN_table"))
    )
    return pl.concat([block, found], how="horizontal")


def exports_match(
    pooled: pl.DataFrame | pl.LazyFrame, sites_vcf: Path, beacon_jsonl: Path
) -> CheckOutcome:
    """Read both exports back (polars and Arrow, a block at a time) and compare them with the
    pooled rows (of which only variant_id, AC and AN are held)."""
    table = pooled.lazy().select("variant_id", "AC", "AN").sort("variant_id").collect()
    failures, n_vcf = _vcf_mismatches(table, sites_vcf)
    beacon_failures, n_docs = _beacon_mismatches(table, beacon_jsonl)
    failures += beacon_failures
    for name, count in ((sites_vcf.name, n_vcf), (beacon_jsonl.name, n_docs)):
        if count != table.height:
            failures.append(f"{name}: {count} records for {table.height} variants")
    return _check(EXPORTS_MATCH, failures, variants=table.height, vcf_records=n_vcf, docs=n_docs)


def _vcf_mismatches(table: pl.DataFrame, sites_vcf: Path) -> tuple[list[str], int]:
    failures, records = [], 0
    for block in _vcf_counts(sites_vcf):
        found = _with_table_counts(block, table)
        wrong = found.filter(
            ~pl.col("in_table")
            | pl.col("AC").ne_missing(pl.col("AC_table"))
            | pl.col("AN").ne_missing(pl.col("AN_table"))
        )
        failures += [
            f"{sites_vcf.name} line {r['line_no']}: {r['variant_id']} AC/AN "
            f"({r['AC']}, {r['AN']}) differ from the table"
            for r in wrong.head(MAX_LISTED).iter_rows(named=True)
        ]
        records += block.height
    return failures, records


def _beacon_mismatches(table: pl.DataFrame, beacon_jsonl: Path) -> tuple[list[str], int]:
    failures, docs_read = [], 0
    for first_line, docs in _beacon_pooled_counts(beacon_jsonl):
        found = _with_table_counts(docs.with_row_index("line", offset=first_line), table)
        wrong = found.filter(
            ~pl.col("in_table") | pl.col("AC_table").ne_missing(pl.col("pooled_ac"))
        )
        failures += [
            f"{beacon_jsonl.name} line {r['line']}: AC {r['pooled_ac']} differs"
            for r in wrong.iter_rows(named=True)
        ]
        docs_read += docs.height
    return failures, docs_read
