"""infra/dagster.yaml against the machine's PostgreSQL: a run goes through the queued run
coordinator and the real daemon, completes, and its events are stored in PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

REPO = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


@pytest.fixture
def database():
    try:
        admin = psycopg2.connect(**PG, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required for this test: {exc}")
    admin.autocommit = True
    name = f"gdi_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    yield name
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(f"DROP DATABASE {name}")
    admin.close()


def test_queued_run_completes_through_the_daemon(database: str, tmp_path: Path):
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(REPO / "infra" / "dagster.yaml", dagster_home / "dagster.yaml")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "DAGSTER_"))}
    env = inherited | {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_USERNAME": PG["user"],
        "DAGSTER_PG_PASSWORD": "trust-auth-ignores-this",
        "DAGSTER_PG_HOST": PG["host"],
        "DAGSTER_PG_DB": database,
        "GDI_HOME": str(tmp_path / "gdi"),
        "GDI_COUNTRIES": "SE",
    }
    synth = [
        sys.executable,
        "-m",
        "gdi_pipelines.cli",
        "synth",
        "--samples",
        "3",
        "--variants",
        "100",
        "--reads",
        "20",
    ]
    subprocess.run(synth, cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    (tmp_path / "gdi" / "secrets").mkdir(parents=True)
    (tmp_path / "gdi" / "secrets" / "pseudonym.key").write_text("k" * 32)
    os.environ["DAGSTER_PG_PASSWORD"] = env["DAGSTER_PG_PASSWORD"]  # for this process's instance
    for name in ("DAGSTER_PG_USERNAME", "DAGSTER_PG_HOST", "DAGSTER_PG_DB"):
        os.environ[name] = env[name]
    try:
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        instance.add_dynamic_partitions("batches", ["b001"])
        tags = {
            "dagster/partition": "b001|SE",
            "dagster/partition/batch": "b001",
            "dagster/partition/country": "SE",
        }
        launch = [
            sys.executable,
            "-m",
            "dagster",
            "job",
            "launch",
            "-w",
            "workspace.yaml",
            "-j",
            "ingest_batch",
            "--tags",
            json.dumps(tags),
        ]
        subprocess.run(launch, cwd=REPO, env=env, check=True, capture_output=True, timeout=180)
        (queued,) = instance.get_runs()
        assert queued.status in (
            dg.DagsterRunStatus.QUEUED,
            dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED,
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dagster._daemon", "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its code server child goes with it
        )
        try:
            deadline = time.monotonic() + 300
            while instance.get_run_by_id(queued.run_id).status not in (
                dg.DagsterRunStatus.SUCCESS,
                dg.DagsterRunStatus.FAILURE,
            ):
                assert time.monotonic() < deadline, "run did not finish within 300 s"
                assert daemon.poll() is None, "the daemon exited"
                time.sleep(2)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            finally:
                with contextlib.suppress(ProcessLookupError):  # the group is already gone
                    os.killpg(daemon.pid, signal.SIGKILL)
        assert instance.get_run_by_id(queued.run_id).status == dg.DagsterRunStatus.SUCCESS
    finally:
        for name in (
            "DAGSTER_PG_PASSWORD",
            "DAGSTER_PG_USERNAME",
            "DAGSTER_PG_HOST",
            "DAGSTER_PG_DB",
        ):
            os.environ.pop(name, None)
    with psycopg2.connect(**{**PG, "dbname": database}) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            (queued.run_id, "ASSET_MATERIALIZATION"),
        )
        # raw_sequences, harmonised_variants, clinical_phenotypes and the three node summaries
        assert cur.fetchone()[0] == 6
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (queued.run_id,))
        assert cur.fetchone()[0] == "SUCCESS"
