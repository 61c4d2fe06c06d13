"""The bench's two child programs, run as the bench runs them, against bcftools as an oracle.

`ours_harmonise` stages the real 1000 Genomes chr22 slice (191 samples x 1,356 records, GT
only: nothing masked) in many small chunks; the summaries `ours_summaries` computes over those
tables must have the AC and AN of `bcftools norm -m -any -f | bcftools +fill-tags -t AC,AN`
for every variant ours did not reject. A sample table staged once per chunk (every sample
counted ~20 times) fails here on AN.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from gdi_pipelines.bench import ours_summaries
from gdi_pipelines.bench.inputs import REAL_FASTA, REAL_VCF

pytestmark = pytest.mark.skipif(
    not shutil.which("bcftools"), reason="needs bcftools (make system-deps)"
)
SAMPLES = 191
RECORDS = 1356
SMALL_CHUNK = 100  # 14 chunks of the 1,356 records
VARIANT = ["chrom", "pos", "ref", "alt"]
QUERY = r"%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\n"


def _env() -> dict[str, str]:
    """The children's environment without the developer's GDI_*/AWS_* settings (a module
    fixture runs before the per-test isolated environment)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "AWS_"))}


def _run_module(name: str, *args: object) -> str:
    """`python -m gdi_pipelines.bench.NAME ARGS`, as `tasks._module` builds it -> stdout."""
    argv = [sys.executable, "-m", f"gdi_pipelines.bench.{name}", *map(str, args)]
    return subprocess.run(argv, check=True, capture_output=True, text=True, env=_env()).stdout


def _harmonise(out: Path, *extra: object) -> dict:
    stdout = _run_module(
        "ours_harmonise",
        REAL_VCF,
        "--out",
        out,
        "--source-build",
        "GRCh37",
        "--fasta",
        REAL_FASTA,
        *extra,
    )
    return json.loads(stdout.strip().splitlines()[-1])


def _tables(out: Path) -> dict[str, str]:
    return json.loads((out / "tables.json").read_text())


def _unprefixed(frame: pl.DataFrame) -> pl.DataFrame:
    """Ours names the contig 'chr22', the VCF '22': compare without the prefix."""
    return frame.with_columns(pl.col("chrom").str.strip_prefix("chr"))


def _our_summaries(tables: dict[str, str]) -> pl.DataFrame:
    """What `ours_summaries.main` computes (it prints only the count): the same function over
    the same scans, every sample QC-passing, the default PARs (no --catalogue)."""
    samples = pl.scan_delta(tables["variant_samples"]).with_columns(qc_pass=pl.lit(True))
    return ours_summaries.variant_summaries(
        pl.scan_delta(tables["harmonised_variants"]),
        pl.scan_delta(tables["variant_sites"]),
        samples,
        build="GRCh37",
        par_regions=ours_summaries.PAR_REGIONS,
    ).collect(engine="streaming")


def _bcftools_summaries() -> pl.DataFrame:
    norm = subprocess.run(
        ["bcftools", "norm", "-m", "-any", "-f", str(REAL_FASTA), str(REAL_VCF), "-Ou"],
        check=True,
        capture_output=True,
    ).stdout
    tagged = subprocess.run(
        ["bcftools", "+fill-tags", "-Ou", "--", "-t", "AC,AN"],
        input=norm,
        check=True,
        capture_output=True,
    ).stdout
    text = subprocess.run(
        ["bcftools", "query", "-f", QUERY], input=tagged, check=True, capture_output=True
    ).stdout.decode()
    rows = [line.split("\t") for line in text.splitlines()]
    return pl.DataFrame(
        {
            "chrom": [r[0] for r in rows],
            "pos": [int(r[1]) for r in rows],
            "ref": [r[2] for r in rows],
            "alt": [r[3] for r in rows],
            "AC": [int(r[4]) for r in rows],
            "AN": [int(r[5]) for r in rows],
        }
    )


@pytest.fixture(scope="module")
def small_chunks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("oracle") / "harmonised"
    stats = _harmonise(out, "--chunk-size", SMALL_CHUNK)
    return out, stats


def test_summaries_match_bcftools_fill_tags_over_many_chunks(
    small_chunks: tuple[Path, dict],
) -> None:
    out, stats = small_chunks
    assert stats["records"] == RECORDS
    assert stats["masked_calls"] == 0  # GT only: nothing to mask
    tables = _tables(out)

    samples = pl.read_delta(tables["variant_samples"])
    assert samples.height == SAMPLES
    assert samples["sample"].n_unique() == SAMPLES

    printed = json.loads(_run_module("ours_summaries", out, "--build", "GRCh37"))
    ours = _unprefixed(_our_summaries(tables))
    assert printed == {"variants": ours.height}
    assert ours.select(VARIANT).is_duplicated().sum() == 0

    rejects = _unprefixed(pl.read_delta(tables["variant_rejects"])).select(*VARIANT, "reason")
    assert rejects.height == stats["rejected_rows"]
    reference = _bcftools_summaries()
    assert reference.height == RECORDS  # bi-allelic after the split
    rejected = reference.join(rejects, on=VARIANT, how="semi")
    assert rejected.height == rejects.height, f"rejects not in bcftools' rows: {rejects}"
    expected = reference.join(rejects, on=VARIANT, how="anti")

    joined = expected.join(
        ours.select(*VARIANT, "AC", "AN"), on=VARIANT, how="full", suffix="_ours"
    )
    only_bcftools = joined.filter(pl.col("chrom_ours").is_null())
    only_ours = joined.filter(pl.col("chrom").is_null())
    assert only_bcftools.is_empty(), f"missing from ours:\n{only_bcftools.head(10)}"
    assert only_ours.is_empty(), f"not in bcftools:\n{only_ours.head(10)}"
    differing = joined.filter(
        (pl.col("AC") != pl.col("AC_ours")) | (pl.col("AN") != pl.col("AN_ours"))
    )
    assert differing.is_empty(), f"{differing.height} variants differ:\n{differing.head(10)}"
    assert (ours["AN"] == 2 * SAMPLES).all()  # every diploid sample called once


def test_default_chunk_size_commits_every_table(tmp_path: Path) -> None:
    out = tmp_path / "harmonised"
    stats = _harmonise(out)
    assert stats["records"] == RECORDS
    tables = _tables(out)
    assert set(tables) == {
        "harmonised_variants",
        "variant_rejects",
        "variant_samples",
        "variant_sites",
    }
    heights = {name: pl.read_delta(uri).height for name, uri in tables.items()}
    assert heights["variant_samples"] == SAMPLES
    assert heights["harmonised_variants"] == stats["calls"]
    assert heights["variant_rejects"] == stats["rejected_rows"]
    assert heights["variant_sites"] == stats["rows"] - stats["rejected_rows"]
    # the calls are laid out as the asset lays them out: a folder per contig
    from deltalake import DeltaTable

    from gdi_pipelines.domain.variants.harmonise import CALL_PARTITION_BY

    calls = DeltaTable(tables["harmonised_variants"])
    assert tuple(calls.metadata().partition_columns) == CALL_PARTITION_BY == ("batch_id", "chrom")
    assert {f.split("/")[-2] for f in calls.file_uris()} == {"chrom=chr22"}
