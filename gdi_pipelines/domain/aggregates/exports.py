"""Exports of the pooled figures (`federation.pool_country_summaries` output).

- Beacon v2 genomicVariations-style documents, one per variant (JSON Lines): the variant
  (VRS SequenceLocation on the RefSeq accession, 0-based interbase) and
  `frequencyInPopulations: [{source, sourceReference, version, frequencies: [...]}]` with one
  frequency per population: the pooled one, then each country whose cells are published
  (`alleleFrequency`, `alleleCount`, `alleleNumber`, `alleleCountHomozygous` = persons
  homozygous for ALT, `alleleCountHemizygous`). Withheld countries are left out, not zeroed.
- A sites-only VCF 4.2, bgzipped and tabix-indexed: INFO AC/AN/AF/nhomalt/nhemi/faf95, the
  XX/XY split and AC_<country>, AN_<country>, AF_<country>, nhomalt_<country>; a null figure
  is left out of INFO (VCF has no per-key missing otherwise). FILTER PASS when every country
  passed the site, else NotPassAll.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import polars as pl
import pysam

from gdi_pipelines.domain.variants.contigs import CANONICAL_CONTIGS, REFSEQ_ACCESSIONS

MITO_ACCESSION = "NC_012920.1"
_COUNTRY_COLUMN = re.compile(r"^AF_([A-Z]{2})$")
POOLED_INFO = {
    "AC": ("A", "Integer", "Alternate allele count, all countries"),
    "AN": ("1", "Integer", "Total number of alleles in called genotypes, all countries"),
    "AF": ("A", "Float", "Alternate allele frequency, all countries"),
    "nhomalt": ("A", "Integer", "Number of diploid individuals homozygous for ALT"),
    "nhemi": ("A", "Integer", "Number of hemizygous (haploid) ALT calls"),
    "faf95": ("A", "Float", "Filtering allele frequency (95% Poisson bound, gnomAD)"),
    "AC_XX": ("A", "Integer", "Alternate allele count, XX karyotype"),
    "AN_XX": ("1", "Integer", "Total number of alleles, XX karyotype"),
    "AF_XX": ("A", "Float", "Alternate allele frequency, XX karyotype"),
    "AC_XY": ("A", "Integer", "Alternate allele count, XY karyotype"),
    "AN_XY": ("1", "Integer", "Total number of alleles, XY karyotype"),
    "AF_XY": ("A", "Float", "Alternate allele frequency, XY karyotype"),
    "n_countries": ("1", "Integer", "Number of countries that genotyped the variant"),
}
COUNTRY_INFO = {
    "AC": ("A", "Integer", "Alternate allele count in {c}"),
    "AN": ("1", "Integer", "Total number of alleles in called genotypes in {c}"),
    "AF": ("A", "Float", "Alternate allele frequency in {c}"),
    "nhomalt": ("A", "Integer", "Number of individuals homozygous for ALT in {c}"),
}


def countries_of(pooled: pl.DataFrame) -> list[str]:
    found = [m.group(1) for c in pooled.columns if (m := _COUNTRY_COLUMN.match(c))]
    return [c for c in found if c not in ("XX", "XY")]  # AF_XX / AF_XY are the sex split


def refseq_accession(chrom: str, build: str) -> str:
    if chrom == "chrM":
        return MITO_ACCESSION
    accessions = {value: key for key, value in REFSEQ_ACCESSIONS.items()}
    return accessions[(chrom, build)]


def _variant_type(ref: str, alt: str) -> str:
    if len(ref) == len(alt):
        return "SNP" if len(ref) == 1 else "MNP"
    return "INDEL"


def _frequency(population: str, row: Mapping, suffix: str = "") -> dict | None:
    if row[f"AF{suffix}"] is None:
        return None
    entry = {
        "population": population,
        "alleleFrequency": row[f"AF{suffix}"],
        "alleleCount": row[f"AC{suffix}"],
        "alleleNumber": row[f"AN{suffix}"],
        "alleleCountHomozygous": row[f"nhomalt{suffix}"],
    }
    if not suffix:
        entry["alleleCountHemizygous"] = row["nhemi"]
    return entry


def beacon_documents(
    pooled: pl.DataFrame,
    source: str,
    source_reference: str,
    build: str = "GRCh38",
    pooled_population: str = "GDI",
    version: str | None = None,
) -> Iterator[dict]:
    """One Beacon v2 genomicVariation-style document per variant."""
    countries = countries_of(pooled)
    for row in pooled.iter_rows(named=True):
        start = row["pos"] - 1
        frequencies = [_frequency(pooled_population, row)]
        frequencies += [_frequency(c, row, f"_{c}") for c in countries]
        population = {"source": source, "sourceReference": source_reference}
        if version is not None:
            population["version"] = version
        population["frequencies"] = [f for f in frequencies if f is not None]
        location = {
            "type": "SequenceLocation",
            "sequence_id": f"refseq:{refseq_accession(row['chrom'], build)}",
            "interval": {
                "type": "SequenceInterval",
                "start": {"type": "Number", "value": start},
                "end": {"type": "Number", "value": start + len(row["ref"])},
            },
        }
        yield {
            "variantInternalId": row["variant_id"],
            "variation": {
                "variantType": _variant_type(row["ref"], row["alt"]),
                "referenceBases": row["ref"],
                "alternateBases": row["alt"],
                "location": location,
            },
            "frequencyInPopulations": [population] if population["frequencies"] else [],
        }


def write_beacon_jsonl(documents: Iterator[dict], path: str | Path) -> Path:
    """One document per line; gzip-compressed when `path` ends in .gz."""
    path = Path(path)
    with gzip.open(path, "wt") if path.suffix == ".gz" else path.open("w") as handle:
        for document in documents:
            handle.write(json.dumps(document, separators=(",", ":")) + "\n")
    return path


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _header(pooled: pl.DataFrame, build: str, lengths: Mapping[str, int] | None) -> list[str]:
    lines = ["##fileformat=VCFv4.2", "##source=gdi-pipelines federation", f"##reference={build}"]
    lines.append('##FILTER=<ID=PASS,Description="All filters passed in every country">')
    lines.append('##FILTER=<ID=NotPassAll,Description="Failed a filter in some country">')
    present = set(pooled["chrom"].unique())
    for contig in (c for c in CANONICAL_CONTIGS if c in present):
        length = (lengths or {}).get(contig)
        lines.append(f"##contig=<ID={contig}" + (f",length={length}>" if length else ">"))
    for key, (number, kind, text) in POOLED_INFO.items():
        lines.append(f'##INFO=<ID={key},Number={number},Type={kind},Description="{text}">')
    for country in countries_of(pooled):
        for field, (number, kind, text) in COUNTRY_INFO.items():
            description = text.format(c=country)
            lines.append(
                f"##INFO=<ID={field}_{country},Number={number},Type={kind},"
                f'Description="{description}">'
            )
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]))
    return lines


def write_sites_vcf(
    pooled: pl.DataFrame,
    path: str | Path,
    build: str = "GRCh38",
    contig_lengths: Mapping[str, int] | None = None,
) -> Path:
    """Bgzipped sites-only VCF at `path` (…vcf.gz) plus its .tbi; returns `path`."""
    path = Path(path)
    keys = list(POOLED_INFO)
    keys += [f"{f}_{c}" for c in countries_of(pooled) for f in COUNTRY_INFO]
    rank = {c: i for i, c in enumerate(CANONICAL_CONTIGS)}
    ordered = pooled.sort(
        pl.col("chrom").replace_strict(rank, default=len(rank), return_dtype=pl.Int32),
        "pos",
        "ref",
        "alt",
    )
    with pysam.BGZFile(str(path), "wb") as handle:
        handle.write(("\n".join(_header(pooled, build, contig_lengths)) + "\n").encode())
        for row in ordered.iter_rows(named=True):
            info = ";".join(f"{k}={_format(row[k])}" for k in keys if row[k] is not None)
            fields = [row["chrom"], str(row["pos"]), ".", row["ref"], row["alt"], "."]
            fields += ["PASS" if row["filter_pass"] else "NotPassAll", info or "."]
            handle.write(("\t".join(fields) + "\n").encode())
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path
