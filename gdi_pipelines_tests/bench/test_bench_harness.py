"""The benchmark harness end to end on tiny inputs, one run per contender (`--smoke`): the JSON
it writes has the documented shape and positive figures. No timing is asserted."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from gdi_pipelines.bench.__main__ import main, parse_options
from gdi_pipelines.bench.inputs import parse_size
from gdi_pipelines.bench.process_tree import run_measured, shell

pytestmark = pytest.mark.skipif(
    not (shutil.which("bcftools") and shutil.which("seqkit")),
    reason="needs bcftools and seqkit (make system-deps)",
)
SIDE_KEYS = {"command", "median_seconds", "median_cpu_seconds", "throughput_per_second"}
SIDE_KEYS |= {"peak_rss_mib", "runs"}


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def test_smoke_run_writes_positive_medians_and_ratios(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["--smoke", "--out", str(out)]) == 0
    document = json.loads(out.read_text())

    assert document["meta"]["smoke"] is True
    assert document["meta"]["repetitions"] == 1
    tasks = {r["task"] for r in document["results"]}
    assert tasks == {"harmonise", "summaries", "fastq_qc"}
    for result in document["results"]:
        assert _positive(result["work"]), result["input"]
        assert _positive(result["time_ratio_ours_over_reference"]), result["input"]
        assert _positive(result["cpu_ratio_ours_over_reference"]), result["input"]
        assert _positive(result["peak_rss_ratio_ours_over_reference"]), result["input"]
        for side in ("ours", "reference"):
            figures = result[side]
            assert set(figures) >= SIDE_KEYS
            assert len(figures["runs"]) == 1
            for key in ("median_seconds", "throughput_per_second", "peak_rss_mib"):
                assert _positive(figures[key]), (result["input"], side, key)
    scaling = document["memory_scaling"]
    assert [row["size"] for row in scaling] == ["smoke"]
    assert _positive(scaling[0]["peak_rss_mib"])
    printed = capsys.readouterr().out
    assert "ours/ref" in printed and "memory scaling" in printed
    assert not (tmp_path / "work").exists()  # work folders are removed
    assert (tmp_path / "inputs").is_dir()  # the inputs cache stays


def test_process_tree_memory_counts_every_process_of_a_pipeline() -> None:
    python = shlex.quote(sys.executable)
    two_pythons = f"{python} -S -c 'x = bytearray(60 << 20); import time; time.sleep(0.4)'"
    measured = run_measured(shell(f"{two_pythons} & {two_pythons} & wait"))
    assert measured.peak_rss_bytes > 100 << 20  # both 60 MiB children, sampled together
    assert measured.seconds > 0.4 and measured.rss_samples > 5


def test_process_tree_memory_counts_a_vforked_child_once() -> None:
    """Python's subprocess vforks: until the exec, the child runs in its parent's memory, which
    /proc shows under both. A 200 MiB process starting 300 commands stays about 200 MiB."""
    spawning = (
        "import subprocess; x = bytearray(200 << 20); "
        "[subprocess.run(['true']) for _ in range(300)]"
    )
    measured = run_measured([sys.executable, "-S", "-c", spawning])
    assert 200 << 20 < measured.peak_rss_bytes < 300 << 20
    assert measured.rss_samples > 20


def test_options_sort_sizes_and_refuse_fewer_than_three_repetitions() -> None:
    options = parse_options(["--sizes", "10M,1M", "--out", "x/bench.json"])
    assert options.sizes == ("1M", "10M") and options.repetitions == 3
    assert options.cache == Path("x/inputs")
    assert [parse_size(s) for s in ("1M", "250k", "100M")] == [10**6, 250_000, 10**8]
    with pytest.raises(SystemExit):
        parse_options(["--repetitions", "2"])
