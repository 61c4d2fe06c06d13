"""`python -m gdi_pipelines.bench`: see gdi_pipelines/bench/__init__.py and README.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gdi_pipelines.bench.inputs import parse_size
from gdi_pipelines.bench.runner import HAIL_VENV, PEERS, SMOKE_TASKS, TASKS, BenchOptions, run_bench

DEFAULT_SIZES = "1M,10M"
MIN_REPETITIONS = 3


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_options(argv: list[str] | None = None) -> BenchOptions:
    parser = argparse.ArgumentParser(prog="python -m gdi_pipelines.bench", description=__doc__)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="genotypes per synthetic VCF")
    parser.add_argument("--out", type=Path, default=Path("bench-results/bench.json"))
    parser.add_argument("--cache", type=Path, help="inputs cache (default: OUT's folder/inputs)")
    parser.add_argument("--repetitions", type=int, default=MIN_REPETITIONS)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fastq-pairs", type=int, default=500_000)
    parser.add_argument(
        "--tasks", default=",".join(TASKS), help=f"among {','.join(TASKS)} ('' for none)"
    )
    parser.add_argument("--peers", default="", help=f"among {','.join(PEERS)}: tasks 1+2 vs them")
    parser.add_argument("--hail-venv", type=Path, default=HAIL_VENV, help="install-hail.sh's")
    parser.add_argument("--pipeline-size", help="cohort size of task 4 (default: smallest)")
    parser.add_argument("--keep-work", action="store_true", help="keep OUT's folder/work")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny inputs, one repetition: tests the harness"
    )
    args = parser.parse_args(argv)
    tasks = _list(args.tasks)
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"--tasks: unknown {', '.join(unknown)}")
    peers = _list(args.peers)
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"--peers: unknown {', '.join(unknown)}")
    if args.smoke:
        return BenchOptions(
            sizes=("smoke",),
            out=args.out,
            cache=args.cache or args.out.parent / "inputs",
            repetitions=1,
            seed=args.seed,
            fastq_pairs=0,
            tasks=tuple(t for t in tasks if t in SMOKE_TASKS) if args.tasks else SMOKE_TASKS,
            pipeline_size=None,
            smoke=True,
            keep_work=args.keep_work,
            peers=peers,
            hail_venv=args.hail_venv,
        )
    if args.repetitions < MIN_REPETITIONS:
        parser.error(f"--repetitions: at least {MIN_REPETITIONS} (or --smoke)")
    sizes = _list(args.sizes)
    for size in sizes + ((args.pipeline_size,) if args.pipeline_size else ()):
        try:
            parse_size(size)
        except ValueError as exc:
            parser.error(f"--sizes: {exc}")
    return BenchOptions(
        sizes=tuple(sorted(sizes, key=parse_size)),
        out=args.out,
        cache=args.cache or args.out.parent / "inputs",
        repetitions=args.repetitions,
        seed=args.seed,
        fastq_pairs=args.fastq_pairs,
        tasks=tasks,
        pipeline_size=args.pipeline_size,
        smoke=False,
        keep_work=args.keep_work,
        peers=peers,
        hail_venv=args.hail_venv,
    )


def main(argv: list[str] | None = None) -> int:
    run_bench(parse_options(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
