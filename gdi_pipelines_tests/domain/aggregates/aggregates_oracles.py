"""Real-data fixtures for the aggregates tests: batches cut from a real VCF with bcftools,
harmonised by `harmonise_vcf`, and bcftools (+fill-tags, stats) as the independent side."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pysam

from gdi_pipelines.domain.variants.harmonise import HarmoniseConfig, harmonise_vcf
from gdi_pipelines.domain.variants.records import read_record_chunks
from gdi_pipelines_tests.domain.variants.variants_oracles import MASK, bcftools

FILL_TAGS = "AC,AN,AF,HWE,AC_Het,AC_Hom,AC_Hemi"
FILL_QUERY = (
    r"%CHROM\t%POS\t%REF\t%ALT\t%INFO/AC\t%INFO/AN\t%INFO/AF\t%INFO/HWE"
    r"\t%INFO/AC_Het\t%INFO/AC_Hom\t%INFO/AC_Hemi\n"
)


@dataclass(frozen=True)
class Batch:
    country: str
    batch_id: str
    samples: tuple[str, ...]
    region: str | None = None  # a batch that genotyped only part of the file


@dataclass
class Harmonised:
    calls: pl.DataFrame
    sites: pl.DataFrame
    samples: pl.DataFrame
    files: dict[tuple[str, str], Path]  # (country, batch_id) -> the batch's own VCF


def vcf_samples(vcf: Path) -> list[str]:
    return bcftools("query", "-l", str(vcf)).stdout.decode().split()


def identity(sample: str) -> str:
    return sample


def cut_batch(vcf: Path, batch: Batch, folder: Path) -> Path:
    out = folder / f"{batch.country}_{batch.batch_id}.vcf.gz"
    region = ["-r", batch.region] if batch.region else []
    bcftools("view", "-s", ",".join(batch.samples), *region, "-Oz", "-o", str(out), str(vcf))
    bcftools("index", "-t", str(out))
    return out


def harmonise_batches(
    vcf: Path, batches: list[Batch], config: HarmoniseConfig, folder: Path
) -> Harmonised:
    calls, sites, samples, files = [], [], [], {}
    for batch in batches:
        path = cut_batch(vcf, batch, folder)
        files[(batch.country, batch.batch_id)] = path
        chunks = list(harmonise_vcf(path, config, identity))
        keys = {"country": pl.lit(batch.country), "batch_id": pl.lit(batch.batch_id)}
        calls.append(pl.concat([c.calls for c in chunks]).with_columns(**keys))
        sites.append(pl.concat([c.sites for c in chunks]).with_columns(**keys))
        samples.append(chunks[0].samples.with_columns(**keys))
    return Harmonised(pl.concat(calls), pl.concat(sites), pl.concat(samples), files)


def normalised_batch(
    path: Path, fasta: Path, samples: list[str], folder: Path, mask: bool = False
) -> Path:
    """`bcftools norm -c x -m -any -f` (+ GQ/DP masking) of one batch file, cut to `samples`."""
    stream = bcftools("norm", "-c", "x", "-m", "-any", "-f", str(fasta), "-Ou", str(path)).stdout
    if mask:
        stream = bcftools(
            "+setGT", "-Ou", "-", "--", "-t", "q", "-n", ".", "-i", MASK, stdin=stream
        ).stdout
    out = folder / f"norm_{path.name.removesuffix('.vcf.gz')}_{len(samples)}.vcf.gz"
    bcftools("view", "-s", ",".join(samples), "-Oz", "-o", str(out), "-", stdin=stream)
    bcftools("index", "-t", str(out))
    return out


def merged(files: list[Path], folder: Path, name: str) -> Path:
    if len(files) == 1:
        return files[0]
    out = folder / f"merged_{name}.vcf.gz"
    bcftools("merge", "-m", "none", "-Oz", "-o", str(out), *map(str, files))
    bcftools("index", "-t", str(out))
    return out


def fill_tags(vcf: Path) -> pl.DataFrame:
    """bcftools +fill-tags AC, AN, AF, HWE, AC_Het, AC_Hom, AC_Hemi per (split) record."""
    filled = bcftools("+fill-tags", str(vcf), "-Ou", "--", "-t", FILL_TAGS).stdout
    text = bcftools("query", "-f", FILL_QUERY, "-", stdin=filled).stdout.decode()
    rows = []
    for line in text.splitlines():
        chrom, pos, ref, alt, ac, an, af, hwe, het, hom, hemi = line.split("\t")
        if alt[:1] in ("<", "*", "."):
            continue
        rows.append(
            (
                f"chr{chrom.removeprefix('chr')}-{pos}-{ref.upper()}-{alt.upper()}",
                int(ac),
                int(an),
                None if af == "." else float(af),
                float(hwe),
                int(het),
                int(hom),
                int(hemi),
            )
        )
    schema = ["variant_id", "AC", "AN", "AF", "HWE", "AC_Het", "AC_Hom", "AC_Hemi"]
    return pl.DataFrame(rows, schema=schema, orient="row")


def pass_records(vcf: Path) -> bytes:
    """PASS (or unfiltered) records, symbolic ALTs dropped, as uncompressed BCF."""
    return bcftools("view", "-f", "PASS,.", "-V", "other", "-Ou", str(vcf)).stdout


def bcftools_stats_per_sample(vcf: Path, singleton_sites: bool = False) -> pl.DataFrame:
    """PSC and PSI lines of `bcftools stats -s -` over PASS records (`singleton_sites`: only
    records whose AC over the file's samples is 1)."""
    records = pass_records(vcf)
    if singleton_sites:
        filled = bcftools("+fill-tags", "-Ou", "-", "--", "-t", "AC", stdin=records).stdout
        records = bcftools("view", "-i", "INFO/AC==1", "-Ou", "-", stdin=filled).stdout
    text = bcftools("stats", "-s", "-", "-", stdin=records).stdout.decode()
    psc, psi = {}, {}
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] == "PSC":
            psc[fields[2]] = [int(fields[i]) for i in (3, 4, 5, 6, 7, 8, 10, 11, 12, 13)]
        elif fields[0] == "PSI":
            psi[fields[2]] = [int(fields[i]) for i in (7, 8, 9, 10)]
    columns = ["hom_ref_snv", "hom_alt_snv", "het_snv", "ts", "tv", "indels", "singletons"]
    columns += ["hap_ref", "hap_alt", "missing", "ins_het", "del_het", "ins_hom", "del_hom"]
    rows = [(s, *psc[s], *psi.get(s, [0, 0, 0, 0])) for s in psc]
    return pl.DataFrame(rows, schema=["sample", *columns], orient="row")


def count_records(stream: bytes) -> int:
    return len(bcftools("view", "-H", "-", stdin=stream).stdout.splitlines())


def own_ref_fasta(vcf: Path, contig: str, folder: Path) -> Path:
    """A contig of N carrying each record's REF at its position (stands in for a reference
    genome we do not ship; see test_variants_harmonise)."""
    length = pysam.VariantFile(str(vcf)).header.contigs[contig].length
    sequence = bytearray(b"N" * length)
    for chunk in read_record_chunks(vcf):
        for pos, ref in zip(chunk.pos.tolist(), chunk.ref, strict=True):
            sequence[pos - 1 : pos - 1 + len(ref)] = ref.encode()
    fasta = folder / "own_refs.fa"
    fasta.write_bytes(f">{contig}\n".encode() + bytes(sequence) + b"\n")
    pysam.faidx(str(fasta))
    return fasta
