"""The contests of tasks 1-3: harmonise a VCF, summarise a country's variants, QC FASTQ."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from gdi_pipelines.bench.contest import Contender, ContestResult, run_contest
from gdi_pipelines.bench.inputs import FastqInput, VcfInput, normalised_bcf
from gdi_pipelines.bench.process_tree import run_measured, shell

GT_QUERY = r"'%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n'"
SUMMARY_TAGS = "AC,AN,AF,AC_Het,AC_Hom,HWE"
SUMMARY_QUERY = r"'%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\t%AF\n'"


def _module(name: str, *args: object) -> list[str]:
    return [sys.executable, "-m", f"gdi_pipelines.bench.{name}", *map(str, args)]


def _shown(argv: list[str]) -> str:
    return shlex.join(["python", *argv[1:]])


def harmonise_argv(vcf: VcfInput, out: Path) -> list[str]:
    argv = _module("ours_harmonise", vcf.vcf, "--out", out, "--source-build", vcf.source_build)
    argv += ["--target-build", vcf.target_build, "--country", vcf.country, "--batch", vcf.batch]
    if vcf.catalogue is not None:
        argv += ["--catalogue", str(vcf.catalogue)]
    else:
        argv += ["--fasta", str(vcf.source_fasta)]
    if vcf.manifest is not None:
        argv += ["--manifest", str(vcf.manifest)]
    return argv


def norm_query_command(vcf: VcfInput) -> str:
    norm = f"bcftools norm -m -any -f {shlex.quote(str(vcf.source_fasta))}"
    return f"{norm} {shlex.quote(str(vcf.vcf))} -Ou | bcftools query -f {GT_QUERY} > /dev/null"


def fill_tags_command(bcf: Path) -> str:
    return (
        f"bcftools +fill-tags {shlex.quote(str(bcf))} -Ou -- -t {SUMMARY_TAGS} "
        f"| bcftools query -f {SUMMARY_QUERY} > /dev/null"
    )


def seqkit_command(files: tuple[Path, ...]) -> str:
    return f"seqkit stats -a {shlex.join(str(f) for f in files)} > /dev/null"


def _emptied(folder: Path):
    def prepare() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    return prepare


def harmonised_folder(vcf: VcfInput, work: Path) -> Path:
    return work / f"harmonised-{vcf.key}"


def harmonise_contest(vcf: VcfInput, work: Path, repetitions: int) -> ContestResult:
    """Ours leaves its last run's tables in `harmonised_folder`: the summaries' input."""
    out = harmonised_folder(vcf, work)
    ours = Contender(harmonise_argv(vcf, out), _shown(harmonise_argv(vcf, out)), _emptied(out))
    command = norm_query_command(vcf)
    reference = Contender(shell(command), command)
    result = run_contest(
        "harmonise", vcf.label, "genotypes", vcf.genotypes, ours, reference, repetitions
    )
    result.notes |= {
        "size": vcf.size,
        "country": vcf.country,
        "ours_lifts": vcf.lifted,
        "reference_lifts": False,  # bcftools 1.16 has no liftover: norm on the source build
    }
    return result


def harmonised_tables(vcf: VcfInput, work: Path) -> Path:
    """Our harmonised Delta tables of `vcf`: task 1's, else made once here, untimed."""
    out = harmonised_folder(vcf, work)
    if not (out / "tables.json").exists():
        shutil.rmtree(out, ignore_errors=True)
        run_measured(harmonise_argv(vcf, out))
    return out


def summaries_contest(vcf: VcfInput, cache: Path, work: Path, repetitions: int) -> ContestResult:
    tables = harmonised_tables(vcf, work)
    argv = _module("ours_summaries", tables, "--build", vcf.target_build)
    if vcf.catalogue is not None:
        argv += ["--catalogue", str(vcf.catalogue)]
    command = fill_tags_command(normalised_bcf(cache, vcf))
    result = run_contest(
        "summaries",
        vcf.label,
        "genotypes",
        vcf.genotypes,
        Contender(argv, _shown(argv)),
        Contender(shell(command), command),
        repetitions,
    )
    result.notes["reference_input"] = "the VCF after bcftools norm -m -any -f, as BCF"
    return result


def fastq_contest(fastq: FastqInput, repetitions: int) -> ContestResult:
    argv = _module("ours_fastq", *fastq.files)
    command = seqkit_command(fastq.files)
    result = run_contest(
        "fastq_qc",
        fastq.label,
        "reads",
        fastq.reads,
        Contender(argv, _shown(argv)),
        Contender(shell(command), command),
        repetitions,
    )
    result.notes["ours_also_hashes"] = "SHA-256 of every file besides the read QC"
    return result
