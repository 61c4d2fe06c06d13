"""Per-sample paired FASTQ: counts (dnaio and seqkit), Illumina headers, qualities, errors."""

from __future__ import annotations

import re
import subprocess

import dnaio
import numpy as np
import pysam

from gdi_pipelines.domain.manifest import FileKind
from gdi_pipelines.synth.countries import country_profile

HEADER = re.compile(
    r"(?P<name>[A-Z0-9]+:\d+:[A-Z0-9]{9}:[1-4]:[12][1-6]\d\d:\d+:\d+) "
    r"(?P<read>[12]):N:0:[ACGT]{8}\+[ACGT]{8}"
)
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def fastq_pairs(cohort, country, batch_id):
    entries = cohort.manifest(country, batch_id).files_of(FileKind.SEQUENCING)
    by_sample: dict[str, dict[int, str]] = {}
    for entry in entries:
        by_sample.setdefault(entry.sample_id, {})[entry.read] = entry.path
    batch_dir = cohort.batch_dir(country, batch_id)
    return {s: (batch_dir / r[1], batch_dir / r[2]) for s, r in by_sample.items()}


def test_every_sample_has_paired_reads_with_matching_names(cohort):
    for country, batch_id in cohort.report.batches:
        pairs = fastq_pairs(cohort, country, batch_id)
        assert len(pairs) == cohort.spec.samples_per_batch
        for r1_path, r2_path in pairs.values():
            n = 0
            with dnaio.open(r1_path, file2=r2_path) as reader:
                for r1, r2 in reader:
                    m1, m2 = HEADER.fullmatch(r1.name), HEADER.fullmatch(r2.name)
                    assert m1 and m2 and m1["name"] == m2["name"]
                    assert (m1["read"], m2["read"]) == ("1", "2")
                    assert len(r1.sequence) == len(r2.sequence) == len(r1.qualities) == 100
                    n += 1
            assert n == cohort.spec.reads_per_sample


def test_seqkit_counts_the_same_reads(cohort):
    country, batch_id = cohort.report.batches[0]
    paths = [str(p) for pair in fastq_pairs(cohort, country, batch_id).values() for p in pair]
    out = subprocess.run(["seqkit", "stats", "-T", *paths], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines()[1:]]
    assert len(rows) == len(paths)
    assert {int(r[3]) for r in rows} == {cohort.spec.reads_per_sample}
    assert {float(r[6]) for r in rows} == {100.0}


def test_qualities_decline_along_the_read(cohort):
    country, batch_id = cohort.report.batches[0]
    quals = []
    for r1_path, _ in fastq_pairs(cohort, country, batch_id).values():
        with dnaio.open(r1_path) as reader:
            quals += [np.frombuffer(r.qualities.encode(), np.uint8) - 33 for r in reader]
    matrix = np.array(quals)
    assert matrix.min() >= 2 and matrix.max() <= 41
    assert matrix[:, :10].mean() > matrix[:, -10:].mean() + 5


def test_reads_come_from_the_sample_build_with_a_few_errors(cohort):
    for country in ("SE", "DK"):
        build = country_profile(country).build
        fasta = pysam.FastaFile(str(cohort.fasta(build)))
        genome = "|".join(fasta.fetch(name).upper() for name in fasta.references)
        r1_path, _ = next(iter(fastq_pairs(cohort, country, "b001").values()))
        exact = 0
        with dnaio.open(r1_path) as reader:
            reads = [r.sequence for r in reader]
        for seq in reads:
            exact += seq in genome or seq[::-1].translate(COMPLEMENT) in genome
        assert 0.3 * len(reads) < exact < len(reads), (country, exact)
