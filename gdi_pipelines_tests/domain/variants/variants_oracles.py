"""Helpers for the variants tests: bcftools as an oracle, tiny VCF/FASTA/chain writers."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pysam

DATA = Path(__file__).resolve().parents[2] / "data" / "variants"
BEAGLE = DATA / "beagle_1kgp1_chr22_20Mb.vcf.gz"
HAPMAP = DATA / "hapmap_exome_chr22.vcf.gz"
ANNOTATION = DATA / "VariantAnnotation_chr22.vcf.gz"
GRCH37_FASTA = DATA / "GRCh37_22_1-21000000_Npadded.fa.gz"
CHAIN = DATA / "hg19ToHg38.over.chain.gz"
FASTA_REGION = "22:1-21000000"  # what the GRCh37 FASTA slice covers
MASK = "FMT/GQ<20 | FMT/DP<10"
QUERY = "[%CHROM\t%POS\t%REF\t%ALT\t%SAMPLE\t%GT\n]"


def bcftools(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bcftools", *args], input=stdin, capture_output=True, check=True)


def genotype_state(gt: str) -> tuple[int | None, int]:
    """(dosage, ploidy) of a bcftools GT string; dosage None for any missing allele."""
    alleles = re.split(r"[/|]", gt)
    if "." in alleles:
        return None, len(alleles)
    return sum(a == "1" for a in alleles), len(alleles)


def bcftools_norm_calls(
    vcf: Path, fasta: Path, region: str | None = None, with_quality: bool = False
) -> tuple[set[tuple], str]:
    """Non-hom-ref calls of `bcftools norm -c x -m -any -f`; `with_quality`: GQ/DP-masked by
    `+setGT` and GQ, DP, FILTER reported.

    Returns {(chrom, pos, REF, ALT, sample, dosage, ploidy[, gq, dp, filter])} (symbolic, '*'
    and '.' ALTs left out: the harmoniser rejects them) and bcftools norm's summary line.
    """
    norm = ["norm", "-c", "x", "-m", "-any", "-f", str(fasta), "-Ou"]
    norm += ["-r", region, str(vcf)] if region else [str(vcf)]
    normalised = bcftools(*norm)
    stream = normalised.stdout
    query = QUERY
    if with_quality:
        masked = bcftools(
            "+setGT", "-Ou", "-", "--", "-t", "q", "-n", ".", "-i", MASK, stdin=stream
        )
        stream = masked.stdout
        query = QUERY.replace("%GT\n", "%GT\t%GQ\t%DP\t%FILTER\n")
    text = bcftools("query", "-f", query, "-", stdin=stream).stdout.decode()
    calls = set()
    for line in text.splitlines():
        chrom, pos, ref, alt, sample, gt, *quality = line.split("\t")
        if alt[:1] in ("<", "*", "."):
            continue
        dosage, ploidy = genotype_state(gt)
        if dosage != 0:
            row = (chrom, int(pos), ref.upper(), alt.upper(), sample, dosage, ploidy)
            if quality:
                gq, dp, filt = quality
                row += (None if gq == "." else int(gq), None if dp == "." else int(dp), filt)
            calls.add(row)
    summary = [s for s in normalised.stderr.decode().splitlines() if s.startswith("Lines")]
    return calls, summary[0] if summary else ""


def harmonised_calls(calls: pl.DataFrame, with_quality: bool = False) -> set[tuple]:
    """The same tuples from harmonised calls (contig `chr22` written `22`, identity pseudonyms)."""
    columns = ["chrom", "pos", "ref", "alt", "sample", "dosage", "ploidy"]
    frame = calls.with_columns(pl.col("chrom").str.strip_prefix("chr"))
    if with_quality:
        columns += ["gq", "dp", "filter"]
        frame = frame.with_columns(pl.col("filter").fill_null("."))
    return set(frame.select(columns).iter_rows())


def write_fasta(path: Path, contigs: dict[str, str]) -> Path:
    with path.open("w") as handle:
        for name, sequence in contigs.items():
            handle.write(f">{name}\n")
            for i in range(0, len(sequence), 60):
                handle.write(sequence[i : i + 60] + "\n")
    pysam.faidx(str(path))
    return path


def write_vcf(
    path: Path,
    records: Iterable[tuple],
    samples: list[str],
    contigs: dict[str, int],
    formats: str = "GT",
) -> Path:
    """records: (chrom, pos, ref, alt, filter, [sample fields...]); bgzipped and indexed."""
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    lines += ['##FILTER=<ID=LowQual,Description="low">']
    described = {
        "GT": "Number=1,Type=String",
        "GQ": "Number=1,Type=Integer",
        "DP": "Number=1,Type=Integer",
        "AD": "Number=R,Type=Integer",
    }
    lines += [f'##FORMAT=<ID={f},{described[f]},Description="{f}">' for f in formats.split(":")]
    lines.append(
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
        )
    )
    for chrom, pos, ref, alt, filt, fields in records:
        lines.append("\t".join([chrom, str(pos), ".", ref, alt, ".", filt, ".", formats, *fields]))
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def write_chain(path: Path, chains: Iterable[tuple]) -> Path:
    """chains: (t_name, t_size, t_start, q_name, q_size, q_strand, q_start, blocks) with blocks
    a list of (size, t_gap, q_gap), the last gap pair ignored."""
    out = []
    for i, (t_name, t_size, t_start, q_name, q_size, strand, q_start, blocks) in enumerate(chains):
        t_len = sum(b[0] + b[1] for b in blocks[:-1]) + blocks[-1][0]
        q_len = sum(b[0] + b[2] for b in blocks[:-1]) + blocks[-1][0]
        out.append(
            f"chain 1000 {t_name} {t_size} + {t_start} {t_start + t_len} "
            f"{q_name} {q_size} {strand} {q_start} {q_start + q_len} {i + 1}"
        )
        out += [f"{s}\t{t}\t{q}" for s, t, q in blocks[:-1]]
        out += [str(blocks[-1][0]), ""]
    path.write_text("\n".join(out) + "\n")
    return path
