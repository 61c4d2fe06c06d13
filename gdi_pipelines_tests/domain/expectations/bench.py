"""Cost of the harmonised_variants suite: validate vs write to Delta, and peak memory.

    .venv/bin/python -m gdi_pipelines_tests.domain.expectations.bench --rows 1000000 10000000

For each size: generate a harmonised_variants-like table in 1M-row pieces, append them to a
Delta table (timed: the cost of producing it), then validate `scan_delta` of it in a fresh
subprocess (timed, with its peak RSS). A baseline subprocess that only imports GX and builds
the context gives the fixed memory cost.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

PIECE = 1_000_000
MODULE = "gdi_pipelines_tests.domain.expectations.bench"


def write_table(path: Path, rows: int) -> float:
    from gdi_pipelines_tests.domain.expectations.tables import harmonised_variants

    started = time.perf_counter()
    for start in range(0, rows, PIECE):
        piece = harmonised_variants(min(PIECE, rows - start), start=start)
        piece.write_delta(str(path), mode="append")
    return time.perf_counter() - started


def validate_in_process(path: str, chunk_rows: int) -> dict:
    from gdi_pipelines.domain.expectations import run_suite
    from gdi_pipelines.domain.expectations.gx_bridge import _chunk_batches

    _chunk_batches()  # GX import and context: a fixed cost, reported by the baseline
    started = time.perf_counter()
    run = run_suite(
        pl.scan_delta(path), "harmonised_variants", {"expected_samples": 50}, chunk_rows=chunk_rows
    )
    return {
        "seconds": time.perf_counter() - started,
        "rows": run.rows,
        "chunks": run.chunks,
        "failed": [o.name for o in run.outcomes if not o.passed],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def baseline_in_process() -> dict:
    from gdi_pipelines.domain.expectations.gx_bridge import _chunk_batches

    started = time.perf_counter()
    _chunk_batches()
    return {
        "import_and_context_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _subprocess(*args: str) -> dict:
    command = [sys.executable, "-m", MODULE, *args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--validate", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.validate:
        print(json.dumps(validate_in_process(args.validate, args.chunk_rows)))
        return
    if args.baseline:
        print(json.dumps(baseline_in_process()))
        return
    print(f"baseline (GX imported, context built): {_subprocess('--baseline')}")
    with tempfile.TemporaryDirectory(prefix="gdi-gx-bench-") as tmp:
        for rows in args.rows:
            path = Path(tmp) / f"hv_{rows}"
            written = write_table(path, rows)
            result = _subprocess("--validate", str(path), "--chunk-rows", str(args.chunk_rows))
            print(
                f"{rows:>11,} rows: write Delta {written:6.1f} s | validate "
                f"{result['seconds']:6.1f} s ({result['seconds'] / written:.1f}x), "
                f"{result['chunks']} chunks, peak RSS {result['peak_rss_mb']:,.0f} MB, "
                f"failed: {result['failed'] or 'none'}"
            )


if __name__ == "__main__":
    main()
