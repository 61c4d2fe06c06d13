"""Prepare the inputs, run the selected contests, print the tables and write the JSON."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gdi_pipelines.bench import inputs, report
from gdi_pipelines.bench.contest import ContestResult
from gdi_pipelines.bench.peers import HAIL_VENV, PEERS, hail_contest, hail_versions, peer_summary
from gdi_pipelines.bench.pipeline import pipeline_contest
from gdi_pipelines.bench.tasks import fastq_contest, harmonise_contest, summaries_contest

TASKS = ("harmonise", "summaries", "fastq", "pipeline")
SMOKE_TASKS = ("harmonise", "summaries", "fastq")
TOOLS = ("bcftools", "seqkit")


@dataclass(frozen=True)
class BenchOptions:
    sizes: tuple[str, ...]
    out: Path
    cache: Path
    repetitions: int
    seed: int
    fastq_pairs: int
    tasks: tuple[str, ...]
    pipeline_size: str | None
    smoke: bool
    keep_work: bool
    peers: tuple[str, ...] = ()  # among PEERS: other stacks doing tasks 1+2, run when asked
    hail_venv: Path = HAIL_VENV


def _tool_version(tool: str) -> str:
    flag = "version" if tool == "seqkit" else "--version"
    done = subprocess.run([tool, flag], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[0].strip()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _contests(options: BenchOptions, work: Path) -> list[ContestResult]:
    reps, cache = options.repetitions, options.cache
    cohorts = {}
    for size in options.sizes:
        _log(f"inputs: synthetic cohort {size} (cached in {cache})")
        cohorts[size] = inputs.prepare_cohort(cache, size, options.seed, options.smoke)
    real_vcf = None if options.smoke else inputs.real_vcf_input()
    results: list[ContestResult] = []
    if "harmonise" in options.tasks:
        vcfs = [real_vcf] if real_vcf else []
        countries = ("SE",) if options.smoke else tuple(inputs.COUNTRIES)
        vcfs += [c.vcf_input(country) for c in cohorts.values() for country in countries]
        results += [harmonise_contest(v, work, reps) for v in vcfs]
    if "summaries" in options.tasks:
        vcfs = [real_vcf] if real_vcf else []
        vcfs += [c.vcf_input("SE") for c in cohorts.values()]
        results += [summaries_contest(v, cache, work, reps) for v in vcfs]
    if "fastq" in options.tasks:
        fastqs = [inputs.real_fastq_input()]
        if options.fastq_pairs > 0:
            _log(f"inputs: synthetic FASTQ pair, {options.fastq_pairs:,} pairs")
            fastqs.append(inputs.prepare_reads(cache, options.fastq_pairs, options.seed))
        results += [fastq_contest(f, reps) for f in fastqs]
    if "pipeline" in options.tasks:
        size = options.pipeline_size or options.sizes[0]
        cohort = cohorts.get(size) or inputs.prepare_cohort(cache, size, options.seed)
        results.append(pipeline_contest(cohort, cache, work, reps))
    if "hail" in options.peers:
        vcfs = [real_vcf] if real_vcf else []
        vcfs += [c.vcf_input("SE") for c in cohorts.values()]
        results += [hail_contest(v, cache, work, reps, options.hail_venv) for v in vcfs]
    return results


def run_bench(options: BenchOptions) -> dict:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"bench: {', '.join(missing)} not found (make system-deps installs them)")
    peer_tools = hail_versions(options.hail_venv) if "hail" in options.peers else {}
    started, clock = datetime.now(UTC), time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    work = options.out.parent / "work"
    shutil.rmtree(work, ignore_errors=True)
    try:
        results = _contests(options, work)
    finally:
        if not options.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    scaling = report.memory_scaling(results)
    document = {
        "meta": {
            "started": started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - clock, 1),
            "sizes": list(options.sizes),
            "repetitions": options.repetitions,
            "seed": options.seed,
            "smoke": options.smoke,
            "cpus": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
            "python": platform.python_version(),
            "tools": {t: _tool_version(t) for t in TOOLS} | peer_tools,
            "peers": list(options.peers),
            "order": "alternating: ours, reference, ours, reference, ...",
            "peak_rss": "max over runs of the summed RSS of the process tree, sampled every 20 ms",
        },
        "results": [r.to_json() for r in results],
        "memory_scaling": scaling,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(document, indent=2) + "\n")
    print(report.contest_table(results))
    if scaling:
        print("\nmemory scaling, harmonise (ours):")
        print(report.scaling_table(scaling))
    for result in results:
        if result.task == "pipeline":
            print("\n" + report.pipeline_summary(result))
        if result.task in PEERS:
            print("\n" + peer_summary(result))
    print(f"\nwritten {options.out} ({document['meta']['seconds']} s)")
    return document
