"""Batch manifests: complete, checksummed, consistent with the files and written last."""

from __future__ import annotations

import hashlib

from cyvcf2 import VCF

from gdi_pipelines.domain.manifest import MANIFEST_NAME, FileFormat, FileKind
from gdi_pipelines.synth.cohort import batch_created
from gdi_pipelines.synth.countries import country_profile


def test_manifest_lists_every_file_with_true_size_and_checksum(cohort):
    for country, batch_id in cohort.report.batches:
        batch_dir = cohort.batch_dir(country, batch_id)
        manifest = cohort.manifest(country, batch_id)
        on_disk = {
            p.relative_to(batch_dir).as_posix()
            for p in batch_dir.rglob("*")
            if p.is_file() and p.name != MANIFEST_NAME
        }
        assert {f.path for f in manifest.files} == on_disk
        for entry in manifest.files:
            data = (batch_dir / entry.path).read_bytes()
            assert entry.size == len(data)
            assert entry.sha256 == hashlib.sha256(data).hexdigest()
        newest = max((batch_dir / p).stat().st_mtime_ns for p in on_disk)
        assert (batch_dir / MANIFEST_NAME).stat().st_mtime_ns >= newest


def test_manifest_describes_the_batch(cohort):
    for country, batch_id in cohort.report.batches:
        manifest = cohort.manifest(country, batch_id)
        profile = country_profile(country)
        assert (manifest.country, manifest.batch_id) == (country, batch_id)
        assert manifest.reference_build == profile.build
        assert manifest.created == batch_created(cohort.spec.seed, country, int(batch_id[1:]) - 1)
        [vcf] = manifest.files_of(FileKind.VARIANTS)
        assert vcf.format is FileFormat.VCF and vcf.build == profile.build
        [index] = manifest.files_of(FileKind.INDEX)
        assert index.format is FileFormat.TBI and index.path == vcf.path + ".tbi"
        samples = [s.sample_id for s in manifest.samples]
        assert VCF(str(cohort.batch_dir(country, batch_id) / vcf.path)).samples == samples
        reads = manifest.files_of(FileKind.SEQUENCING)
        assert sorted((f.sample_id, f.read) for f in reads) == sorted(
            (s, r) for s in samples for r in (1, 2)
        )
        assert all(f.format is FileFormat.FASTQ for f in reads)
        assert {s.reported_sex for s in manifest.samples} == {"female", "male"}


def test_batches_of_a_country_have_distinct_creation_times(cohort):
    created = [cohort.manifest("SE", b).created for b in ("b001", "b002")]
    assert created[0] < created[1]
