"""`gdi synth`: a deterministic national cohort — reference, landing zone and truth.

Layout written per batch: `{landing}/{CC}/{batch}/variants/`, `reads/`, `clinical/` and,
last, `manifest.json`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gdi_pipelines.domain.manifest import (
    MANIFEST_NAME,
    FileEntry,
    FileFormat,
    FileKind,
    Manifest,
    SampleEntry,
)
from gdi_pipelines.synth.clinical import MANIFEST_FORMAT, write_clinical
from gdi_pipelines.synth.countries import CountryProfile, country_profile
from gdi_pipelines.synth.persons import batch_persons
from gdi_pipelines.synth.reads import GenomeSampler, SequencingRun, sample_index, write_read_pairs
from gdi_pipelines.synth.reference import Reference, synthesize_reference
from gdi_pipelines.synth.reference_files import write_reference
from gdi_pipelines.synth.samples import BatchSamples, batch_samples
from gdi_pipelines.synth.seeding import rng_for, stream_entropy
from gdi_pipelines.synth.sites import SiteCatalogue
from gdi_pipelines.synth.truth import TruthWriter
from gdi_pipelines.synth.variants import write_batch_vcf

__all__ = ["CohortSpec", "SynthReport", "country_profile", "generate_cohort"]


@dataclass(frozen=True)
class CohortSpec:
    countries: tuple[str, ...] = ("SE", "DK", "FI", "NO")
    batches_per_country: int = 1
    samples_per_batch: int = 24
    variants_per_batch: int = 2000  # records before multi-allelic merging, roughly
    reads_per_sample: int = 200  # read pairs per sample FASTQ
    contig_length: int = 200_000  # autosome length; chrX/Y/M scaled from it
    n_autosomes: int = 3
    seed: int = 42


@dataclass(frozen=True)
class SynthReport:
    reference_dir: Path
    landing_dir: Path
    batches: tuple[tuple[str, str], ...]  # (country, batch_id)
    n_genotypes: int  # samples x variant records over all VCFs


def batch_created(seed: int, country: str, batch_index: int) -> datetime:
    """When the lab 'uploaded' the batch: from the seed, never the clock."""
    entropy = stream_entropy(seed, "created", country)
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=entropy % (300 * 86_400))
    return start + timedelta(days=14 * batch_index)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(batch_dir: Path, path: Path, kind: FileKind, fmt: FileFormat, **extra) -> FileEntry:
    return FileEntry(
        path=path.relative_to(batch_dir).as_posix(),
        kind=kind,
        format=fmt,
        size=path.stat().st_size,
        sha256=_sha256(path),
        **extra,
    )


class _BatchWriter:
    def __init__(self, spec: CohortSpec, reference: Reference, landing_dir: Path) -> None:
        self.spec = spec
        self.reference = reference
        self.landing_dir = landing_dir
        self.catalogue = SiteCatalogue(reference, spec.seed, spec.variants_per_batch)
        self._samplers: dict[str, GenomeSampler] = {}

    def sampler(self, build: str) -> GenomeSampler:
        if build not in self._samplers:
            self._samplers[build] = GenomeSampler(
                [
                    (c.name, c.kind, c.seq38 if build == "GRCh38" else c.seq37)
                    for c in self.reference.contigs
                ]
            )
        return self._samplers[build]

    def write(self, profile: CountryProfile, batch_index: int, truth: TruthWriter | None) -> int:
        """Write one batch, manifest last; returns its number of genotypes."""
        seed, country = self.spec.seed, profile.country
        samples = batch_samples(seed, country, batch_index, self.spec.samples_per_batch)
        batch_dir = self.landing_dir / country / samples.batch_id
        (batch_dir / MANIFEST_NAME).unlink(missing_ok=True)  # the batch is incomplete again
        created = batch_created(seed, country, batch_index)

        vcf = batch_dir / "variants" / f"{country}_{samples.batch_id}.vcf.gz"
        file_date = created.strftime("%Y%m%d")
        n_records = write_batch_vcf(vcf, self.catalogue, profile, samples, seed, file_date, truth)
        files = [
            _entry(batch_dir, vcf, FileKind.VARIANTS, FileFormat.VCF, build=profile.build),
            _entry(batch_dir, Path(f"{vcf}.tbi"), FileKind.INDEX, FileFormat.TBI),
        ]
        files += self._write_reads(batch_dir, samples, profile.build)
        persons = batch_persons(seed, samples, created.year)
        clinical_format = MANIFEST_FORMAT[profile.clinical_format]
        for path in write_clinical(
            batch_dir / "clinical",
            persons,
            profile,
            samples.batch_id,
            created,
            seed,
            vcf.relative_to(batch_dir).as_posix(),
        ):
            files.append(_entry(batch_dir, path, FileKind.CLINICAL, clinical_format))

        manifest = Manifest(
            country=country,
            batch_id=samples.batch_id,
            created=created,
            reference_build=profile.build,
            samples=[
                SampleEntry(sample_id=s, reported_sex=samples.reported_sex(i))
                for i, s in enumerate(samples.sample_ids)
            ],
            files=files,
        )
        partial = batch_dir / f".{MANIFEST_NAME}.partial"
        partial.write_text(manifest.to_json() + "\n")
        partial.replace(batch_dir / MANIFEST_NAME)  # appears atomically, after every file
        return n_records * len(samples.sample_ids)

    def _write_reads(self, batch_dir: Path, samples: BatchSamples, build: str) -> list[FileEntry]:
        run = SequencingRun.for_batch(self.spec.seed, samples.country, samples.batch_id)
        entries = []
        for i, sample_id in enumerate(samples.sample_ids):
            rng = rng_for(self.spec.seed, "reads", samples.country, samples.batch_id, sample_id)
            paths = tuple(batch_dir / "reads" / f"{sample_id}_R{r}.fastq.gz" for r in (1, 2))
            write_read_pairs(
                paths,
                self.sampler(build),
                rng,
                self.spec.reads_per_sample,
                bool(samples.is_male[i]),
                run,
                sample_index(rng),
            )
            for read, path in enumerate(paths, start=1):
                entries.append(
                    _entry(
                        batch_dir,
                        path,
                        FileKind.SEQUENCING,
                        FileFormat.FASTQ,
                        sample_id=sample_id,
                        read=read,
                    )
                )
        return entries


def generate_cohort(
    spec: CohortSpec, landing_dir: Path, reference_dir: Path, truth_dir: Path | None = None
) -> SynthReport:
    """Write the reference, every country's batches and (optionally) the truth table."""
    profiles = [country_profile(c) for c in spec.countries]  # validate before writing
    if len(set(spec.countries)) != len(spec.countries):
        raise ValueError(f"countries listed twice: {spec.countries}")
    if spec.batches_per_country < 1 or spec.samples_per_batch < 1:
        raise ValueError("need at least one batch per country and one sample per batch")
    reference = synthesize_reference(spec.seed, spec.contig_length, spec.n_autosomes)
    write_reference(reference, reference_dir)
    writer = _BatchWriter(spec, reference, landing_dir)
    truth = TruthWriter(truth_dir) if truth_dir is not None else None
    batches: list[tuple[str, str]] = []
    n_genotypes = 0
    try:
        for profile in profiles:
            for batch_index in range(spec.batches_per_country):
                n_genotypes += writer.write(profile, batch_index, truth)
                batches.append((profile.country, f"b{batch_index + 1:03d}"))
    finally:
        if truth is not None:
            truth.close()
    return SynthReport(reference_dir, landing_dir, tuple(batches), n_genotypes)
