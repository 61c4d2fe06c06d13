"""The benchmark's inputs: real files shipped with the tests, and synthetic cohorts and reads
generated once into a cache folder keyed by size and seed (a folder counts as done when its
marker JSON, written last, is there)."""

from __future__ import annotations

import gzip
import json
import math
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from gdi_pipelines.synth.cohort import CohortSpec, generate_cohort

TEST_DATA = Path(__file__).resolve().parents[2] / "gdi_pipelines_tests" / "data"
REAL_VCF = TEST_DATA / "variants" / "beagle_1kgp1_chr22_20Mb.vcf.gz"
REAL_FASTA = TEST_DATA / "variants" / "GRCh37_22_1-21000000_Npadded.fa.gz"
REAL_READS = tuple(TEST_DATA / "reads" / f"ERR127302_{r}_subset.fastq.gz" for r in (1, 2))

COUNTRIES = {"SE": "GRCh38", "DK": "GRCh37"}  # SE stays on its build, DK is lifted to GRCh38
TARGET_BUILD = "GRCh38"
SAMPLES_PER_BATCH = 100  # fixed: sizes grow by records, so memory must stay flat
RECORD_YIELD = 0.755  # VCF records per `variants_per_batch` at BP_PER_RECORD (measured)
BP_PER_RECORD = 55  # callable bases per record: ~1000 Genomes SNP density
N_AUTOSOMES = 3
MIN_CONTIG = 200_000
SMOKE_SPEC = dict(samples_per_batch=10, variants_per_batch=300, reads_per_sample=10, n_autosomes=1)
MARKER = "inputs.json"
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_size(text: str) -> int:
    """'1M' -> 1_000_000, '250k' -> 250_000, '5000' -> 5000."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"size {text!r}: expected a number with an optional k/M/G suffix")
    return int(float(match.group(1)) * _SCALE[match.group(2).lower()])


@dataclass(frozen=True)
class VcfInput:
    key: str  # file-name-safe: "10M-SE", "real-beagle"
    label: str  # for people: "synthetic 10M SE GRCh38"
    size: str | None  # the size label of a synthetic cohort, None for real data
    vcf: Path
    source_build: str
    target_build: str
    source_fasta: Path
    catalogue: Path | None  # builds.json folder (synthetic); None: real FASTA, real PARs
    manifest: Path | None
    country: str
    batch: str
    samples: int
    records: int

    @property
    def genotypes(self) -> int:
        return self.samples * self.records

    @property
    def lifted(self) -> bool:
        return self.source_build != self.target_build


@dataclass(frozen=True)
class FastqInput:
    key: str
    label: str
    files: tuple[Path, ...]
    reads: int


def vcf_shape(vcf: Path) -> tuple[int, int]:
    """(samples, records) of an indexed VCF."""
    samples = subprocess.run(
        ["bcftools", "query", "-l", str(vcf)], check=True, capture_output=True, text=True
    ).stdout.split()
    records = subprocess.run(
        ["bcftools", "index", "--nrecords", str(vcf)], check=True, capture_output=True, text=True
    ).stdout
    return len(samples), int(records)


def real_vcf_input() -> VcfInput:
    samples, records = vcf_shape(REAL_VCF)
    return VcfInput(
        key="real-beagle",
        label="1000G chr22 slice GRCh37",
        size=None,
        vcf=REAL_VCF,
        source_build="GRCh37",
        target_build="GRCh37",  # no GRCh38 FASTA for the real slice: harmonise in place
        source_fasta=REAL_FASTA,
        catalogue=None,
        manifest=None,
        country="XX",
        batch="real",
        samples=samples,
        records=records,
    )


def count_fastq_reads(path: Path) -> int:
    with gzip.open(path, "rb") as handle:
        return sum(1 for _ in handle) // 4


def real_fastq_input() -> FastqInput:
    reads = sum(count_fastq_reads(p) for p in REAL_READS)
    return FastqInput("real-ERR127302", "ERR127302 pair (real)", REAL_READS, reads)


def cohort_spec(genotypes: int, seed: int, smoke: bool = False) -> CohortSpec:
    """A one-batch SE + DK cohort of about `genotypes` per country's VCF."""
    countries = tuple(COUNTRIES)
    if smoke:
        return CohortSpec(countries=countries, seed=seed, **SMOKE_SPEC)
    records = genotypes / SAMPLES_PER_BATCH
    return CohortSpec(
        countries=countries,
        samples_per_batch=SAMPLES_PER_BATCH,
        variants_per_batch=max(1, round(records / RECORD_YIELD)),
        reads_per_sample=100,
        contig_length=max(MIN_CONTIG, math.ceil(records * BP_PER_RECORD / N_AUTOSOMES)),
        n_autosomes=N_AUTOSOMES,
        seed=seed,
    )


@dataclass(frozen=True)
class Cohort:
    size: str
    folder: Path
    spec: CohortSpec
    shapes: dict[str, tuple[int, int]]  # country -> (samples, records)

    @property
    def landing(self) -> Path:
        return self.folder / "landing"

    @property
    def reference(self) -> Path:
        return self.folder / "reference"

    def batch_folder(self, country: str) -> Path:
        return self.landing / country / "b001"

    def vcf_input(self, country: str) -> VcfInput:
        build = COUNTRIES[country]
        builds = json.loads((self.reference / "builds.json").read_text())
        samples, records = self.shapes[country]
        return VcfInput(
            key=f"{self.size}-{country}",
            label=f"synthetic {self.size} {country} {build}"
            + (f"->{TARGET_BUILD}" if build != TARGET_BUILD else ""),
            size=self.size,
            vcf=self.batch_folder(country) / "variants" / f"{country}_b001.vcf.gz",
            source_build=build,
            target_build=TARGET_BUILD,
            source_fasta=self.reference / builds[build]["fasta"],
            catalogue=self.reference,
            manifest=self.batch_folder(country) / "manifest.json",
            country=country,
            batch="b001",
            samples=samples,
            records=records,
        )


def _cached(folder: Path) -> dict | None:
    marker = folder / MARKER
    return json.loads(marker.read_text()) if marker.exists() else None


def prepare_cohort(cache: Path, size: str, seed: int, smoke: bool = False) -> Cohort:
    spec = cohort_spec(0 if smoke else parse_size(size), seed, smoke)
    folder = cache / (
        f"cohort-{size}-{spec.samples_per_batch}x{spec.variants_per_batch}"
        f"-c{spec.contig_length}-a{spec.n_autosomes}-seed{seed}"
    )
    done = _cached(folder)
    if done is None:
        shutil.rmtree(folder, ignore_errors=True)
        generate_cohort(spec, folder / "landing", folder / "reference")
        shapes = {
            c: vcf_shape(folder / "landing" / c / "b001" / "variants" / f"{c}_b001.vcf.gz")
            for c in COUNTRIES
        }
        done = {"spec": asdict(spec), "shapes": shapes}
        (folder / MARKER).write_text(json.dumps(done, indent=2))
    shapes = {c: (int(s[0]), int(s[1])) for c, s in done["shapes"].items()}
    return Cohort(size, folder, spec, shapes)


def prepare_reads(cache: Path, pairs: int, seed: int) -> FastqInput:
    """One synthetic pair of gzipped FASTQ with `pairs` reads each (100 bp, Illumina-like)."""
    from gdi_pipelines.synth.reads import (
        GenomeSampler,
        SequencingRun,
        sample_index,
        write_read_pairs,
    )
    from gdi_pipelines.synth.reference import synthesize_reference
    from gdi_pipelines.synth.seeding import rng_for

    folder = cache / f"reads-{pairs}-seed{seed}"
    files = (folder / "R1.fastq.gz", folder / "R2.fastq.gz")
    if _cached(folder) is None:
        shutil.rmtree(folder, ignore_errors=True)
        reference = synthesize_reference(seed, MIN_CONTIG, N_AUTOSOMES)
        sampler = GenomeSampler([(c.name, c.kind, c.seq38) for c in reference.contigs])
        rng = rng_for(seed, "bench", "reads")
        run = SequencingRun.for_batch(seed, "SE", "bench")
        write_read_pairs(files, sampler, rng, pairs, True, run, sample_index(rng))
        (folder / MARKER).write_text(json.dumps({"pairs": pairs, "seed": seed}))
    return FastqInput(f"synthetic-{pairs}-pairs", f"synthetic {pairs:,} pairs", files, 2 * pairs)


def normalised_bcf(cache: Path, vcf_input: VcfInput) -> Path:
    """The input split and left-aligned by bcftools (`norm -m -any -f`), as BCF: what
    `+fill-tags` reads, so that both sides count the same bi-allelic rows."""
    path = cache / "normalised" / f"{vcf_input.key}-{_stamp(vcf_input.vcf)}.bcf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.bcf")
        norm = ["bcftools", "norm", "-m", "-any", "-f", str(vcf_input.source_fasta)]
        subprocess.run(
            [*norm, "-Ob", "-o", str(partial), str(vcf_input.vcf)], check=True, capture_output=True
        )
        partial.replace(path)
    return path


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}-{int(stat.st_mtime)}"
