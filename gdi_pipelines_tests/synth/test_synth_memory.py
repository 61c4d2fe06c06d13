"""Generation streams: peak memory barely grows when the genotype count grows tenfold."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, tempfile
    from pathlib import Path
    from gdi_pipelines.synth.cohort import CohortSpec, generate_cohort

    samples, variants = int(sys.argv[1]), int(sys.argv[2])
    spec = CohortSpec(countries=("DK",), samples_per_batch=samples, variants_per_batch=variants,
                      reads_per_sample=10)
    with tempfile.TemporaryDirectory() as root:
        report = generate_cohort(spec, Path(root) / "landing", Path(root) / "reference")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"genotypes": report.n_genotypes, "peak_kib": peak_kib}))
    """
)
# Peak RSS of the large run may exceed the small run's by at most this factor (10x the data).
MAX_GROWTH = 1.25


def measure(samples: int, variants: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(samples), str(variants)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.slow
def test_peak_memory_is_nearly_flat_for_ten_times_more_genotypes():
    small = measure(60, 2500)
    large = measure(190, 8000)
    assert large["genotypes"] >= 8 * small["genotypes"]
    assert large["peak_kib"] < MAX_GROWTH * small["peak_kib"], (small, large)
