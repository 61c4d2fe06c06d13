"""`gdi` end to end on a fresh GDI_HOME: the demo publishes tables, records runs in the local
instance, and the real Dagster webserver shows them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
SMALL = ("--samples", "4", "--variants", "150", "--reads", "40")


def gdi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return python("-m", "gdi_pipelines.cli", *args, env=env)


def python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """This interpreter with `args`, under `env` instead of the caller's GDI_/DAGSTER_ vars."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "DAGSTER_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    home = tmp_path_factory.mktemp("demo") / "gdi"
    env = {"GDI_HOME": str(home), "GDI_COUNTRIES": "SE,DK"}
    done = gdi("demo", *SMALL, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return home, env, done.stdout


def test_bad_setting_is_one_line_naming_it(gdi_home: Path):
    done = gdi("check", env={"GDI_HOME": str(gdi_home), "GDI_WAREHOUSE_URI": "ftp://x/y"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "gdi: configuration error: GDI_WAREHOUSE_URI: 'ftp://x/y' uses scheme 'ftp'; "
        "only local paths and s3:// are supported"
    ]


def test_check_lists_the_nodes(gdi_home: Path):
    done = gdi("check", env={"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE,EE"})
    assert done.returncode == 0, done.stderr
    assert "EE Estonia: landing" in done.stdout


def test_demo_publishes_every_node_table(demo):
    home, _, stdout = demo
    assert "SE/b001: ok" in stdout and "DK/b001: ok" in stdout and "federation: ok" in stdout
    nodes = home / "warehouse" / "nodes"
    for country in ("SE", "DK"):
        reads = pl.read_delta(str(nodes / country / "raw_sequences"))
        assert reads.height == 8 and reads["checksum_ok"].all()  # 4 samples x R1/R2
        persons = pl.read_delta(str(nodes / country / "clinical_phenotypes"))
        assert persons.height == 4
        calls = pl.scan_delta(str(nodes / country / "harmonised_variants"))
        assert calls.select(pl.col("chrom").str.starts_with("chr").all()).collect().item()
        samples = set(pl.read_delta(str(nodes / country / "variant_samples"))["sample"])
        assert samples == set(reads["sample"]) == set(persons["sample"])
        assert f"{country}      harmonised_variants" in stdout
        for table in ("sample_qc", "country_variant_summaries", "country_cohort_counts"):
            assert pl.read_delta(str(nodes / country / table)).height > 0, table
    assert "shared  cohort_summary" in stdout


def test_demo_runs_are_in_the_local_instance(demo):
    home, _, _ = demo
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    runs = instance.get_runs()
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    # one ingest run per partition, then the federation refresh
    assert sorted(r.job_name for r in runs) == [
        "federation_refresh",
        "ingest_batch",
        "ingest_batch",
    ]
    assert instance.get_dynamic_partitions("batches") == ["b001"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def test_webserver_shows_the_demo_runs_and_assets(demo):
    home, env, _ = demo
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "DAGSTER_"))}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=clean | env | {"DAGSTER_HOME": str(home / "dagster")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "webserver did not come up"
                time.sleep(1)
        runs = _graphql(port, "{ runsOrError { ... on Runs { results { runId status } } } }")
        statuses = [r["status"] for r in runs["runsOrError"]["results"]]
        assert statuses == ["SUCCESS"] * 3  # two partitions and the federation refresh
        nodes = _graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
        groups = {n["assetKey"]["path"][-1]: n["groupName"] for n in nodes}
        assert groups["raw_sequences"] == "sequencing"
        assert groups["harmonised_variants"] == "variants"
        assert groups["clinical_phenotypes"] == "clinical"
        assert groups["cross_country_aggregates"] == "federation"
    finally:
        server.terminate()
        server.wait(timeout=30)


MATERIALIZE_UNTIL_THE_RUNS = """
import sys
import gdi_pipelines.orchestrate as orchestrate
from gdi_pipelines.cli import main

def first_run(*args, **kwargs):
    print("loaded:", *[m for m in ("great_expectations", "matplotlib") if m in sys.modules])
    sys.exit(0)

orchestrate.materialise = first_run
main(["materialize", "--countries", "SE"])
"""


def test_materialize_loads_the_step_libraries_before_its_runs(demo):
    """As the forkserver does for deployments' step processes: no step, and so no quality
    gate, pays for importing Great Expectations or matplotlib."""
    _, env, _ = demo
    done = python("-c", MATERIALIZE_UNTIL_THE_RUNS, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["loaded:", "great_expectations", "matplotlib"]


def test_rerunning_the_demo_replaces_its_partitions(demo):
    home, env, _ = demo
    again = gdi("demo", *SMALL, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    table = pl.read_delta(str(home / "warehouse" / "nodes" / "SE" / "raw_sequences"))
    assert table.height == 8


def test_demo_on_s3_landing_and_warehouse(s3_server, tmp_path: Path):
    bucket = s3_server.new_bucket()
    env = {
        **s3_server.env,
        "GDI_HOME": str(tmp_path / "gdi"),
        "GDI_COUNTRIES": "SE,DK",
        "GDI_LANDING_URI": f"s3://{bucket}/landing",
        "GDI_WAREHOUSE_URI": f"s3://{bucket}/warehouse",
    }
    done = gdi("demo", *SMALL, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    options = {
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    for country in ("SE", "DK"):
        for table, rows in (("raw_sequences", 8), ("clinical_phenotypes", 4)):
            uri = f"s3://{bucket}/warehouse/nodes/{country}/{table}"
            assert pl.read_delta(uri, storage_options=options).height == rows
        calls = f"s3://{bucket}/warehouse/nodes/{country}/harmonised_variants"
        assert pl.scan_delta(calls, storage_options=options).select(pl.len()).collect().item() > 0
    assert not (tmp_path / "gdi" / "warehouse").exists(), "nothing was written locally"
