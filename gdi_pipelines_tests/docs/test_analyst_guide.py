"""docs/analysts.md: every example runs, in order, against a warehouse the pipeline built."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def test_every_example_of_the_guide_runs_on_a_built_warehouse(federated) -> None:
    blocks = examples()
    assert len(blocks) >= 6
    script = "\n".join(blocks)
    env = {**os.environ, "GDI_WAREHOUSE_URI": federated.settings.warehouse.uri}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    aggregates = federated.federation_table("cross_country_aggregates")
    common = aggregates.filter(pl.col("AF") >= 0.05, pl.col("n_countries") >= 2)
    assert f"{common.height} variants with AF >= 5% in at least two countries" in done.stdout
    top = common.sort("AF", descending=True)["variant_id"][0]
    assert top in done.stdout
    for country in ("SE", "DK", "FI"):
        assert f"mean_abs_diff_{country}" in done.stdout
    assert f"latest: {aggregates.height}" in done.stdout
