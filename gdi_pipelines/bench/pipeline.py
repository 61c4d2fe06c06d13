"""Task 4: `gdi materialize` of one batch (every asset and check, through Dagster, on a fresh
GDI_HOME holding a copy of the synthetic landing) against the references of tasks 1-3 run one
after the other on the same batch (the sum of their times)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from gdi_pipelines.bench.contest import Contender, ContestResult, run_contest
from gdi_pipelines.bench.inputs import Cohort, normalised_bcf
from gdi_pipelines.bench.process_tree import RunMeasurement, shell
from gdi_pipelines.bench.run_phases import run_phases
from gdi_pipelines.bench.tasks import fill_tags_command, norm_query_command, seqkit_command

COUNTRY = "SE"
BENCH_KEY = "gdi-bench-pseudonym-key-not-secret"


def gdi_argv() -> list[str]:
    script = Path(sys.executable).with_name("gdi")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gdi_pipelines.cli"]
    return [*command, "materialize", "--countries", COUNTRY, "--batch", "b001"]


def gdi_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GDI_", "AWS_")) and k != "DAGSTER_HOME"
    }
    env |= {
        "GDI_HOME": str(home),
        "GDI_COUNTRIES": COUNTRY,
        "GDI_PSEUDONYM_KEY": BENCH_KEY,
        "DAGSTER_HOME": str(home / "dagster"),
        "GX_ANALYTICS_ENABLED": "false",
    }
    return env


def _link_tree(source: Path, target: Path) -> None:
    """Hard links where the file system allows (inputs are never written), else copies."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def fresh_home(cohort: Cohort, home: Path):
    def prepare() -> None:
        shutil.rmtree(home, ignore_errors=True)
        _link_tree(cohort.landing / COUNTRY, home / "landing" / COUNTRY)
        _link_tree(cohort.reference, home / "reference")

    return prepare


def phases_share(home: Path):
    def inspect(measured: RunMeasurement) -> dict:
        phases = run_phases(home / "dagster")
        gate = phases.get("gate_seconds", 0.0)
        phases["gate_share_of_wall"] = round(gate / measured.seconds, 4)
        steps = phases.get("step_seconds") or 1.0
        phases["gate_share_of_steps"] = round(gate / steps, 4)
        phases["suite_share_of_steps"] = round(phases.get("suite_seconds", 0.0) / steps, 4)
        return phases

    return inspect


def pipeline_contest(cohort: Cohort, cache: Path, work: Path, repetitions: int) -> ContestResult:
    vcf = cohort.vcf_input(COUNTRY)
    home = work / "pipeline-home"
    reads = tuple(sorted((cohort.batch_folder(COUNTRY) / "reads").glob("*.fastq.gz")))
    references = [
        norm_query_command(vcf),
        fill_tags_command(normalised_bcf(cache, vcf)),
        seqkit_command(reads),
    ]
    command = "; ".join(references)
    ours = Contender(
        gdi_argv(),
        "gdi materialize --countries SE --batch b001 (fresh GDI_HOME)",
        prepare=fresh_home(cohort, home),
        inspect=phases_share(home),
        env=gdi_env(home),
    )
    reference = Contender(shell(command), " ; ".join(references[:2]) + " ; seqkit stats -a reads")
    result = run_contest(
        "pipeline", f"{vcf.label} batch", "genotypes", vcf.genotypes, ours, reference, repetitions
    )
    for share in ("gate_share_of_wall", "gate_share_of_steps", "suite_share_of_steps"):
        shares = sorted(d[share] for d in result.ours.details)
        result.notes[f"{share}_median"] = shares[len(shares) // 2]
    result.notes["fastq_files"] = len(reads)
    shutil.rmtree(home, ignore_errors=True)
    return result
