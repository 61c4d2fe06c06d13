"""Concurrent write-audit-publish: writers in separate processes publish partitions of one Delta
table at the same instant, round after round (the first round creates the table), on S3
(moto_server) and on local disk.

No commit may be lost: every publish is exactly one Delta commit, the table's history holds one
commit per publish with versions 0..N-1, each publish reports its own commit's version, the table
at that version holds exactly that publish's rows for its partition, and the final table holds
every partition's last-committed rows exactly once. Writers of the SAME partition conflict: the
losers' CommitFailedError is retried, and a partition is replaced whole, never merged.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from gdi_pipelines.config.locations import Location, S3Credentials
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.publish import PartitionPublisher

SCHEMA = pl.Schema(
    {"country": pl.String, "batch_id": pl.String, "round": pl.Int64, "value": pl.Int64}
)
WRITERS = 4
ROUNDS = 3
ROWS = 50
BARRIER_TIMEOUT = 180


def _batch(writer: int, same_partition: bool) -> str:
    return "b00" if same_partition else f"b{writer:02d}"


def _rows(batch: str, round_no: int, writer: int) -> pl.DataFrame:
    base = (writer * 1000 + round_no) * ROWS
    return pl.DataFrame(
        {
            "country": ["SE"] * ROWS,
            "batch_id": [batch] * ROWS,
            "round": [round_no] * ROWS,
            "value": list(range(base, base + ROWS)),
        },
        schema=SCHEMA,
    )


def _writer(
    writer: int,
    table_uri: str,
    work_uri: str,
    s3_env: dict[str, str] | None,
    same_partition: bool,
    barrier,
    results,
) -> None:
    """One writer process: each round, stage its partition, wait for all, publish at once."""
    try:
        creds = S3Credentials.from_env(s3_env) if s3_env else None
        table, work = Location(table_uri, creds), Location(work_uri, creds)
        batch = _batch(writer, same_partition)
        for round_no in range(ROUNDS):
            publisher = PartitionPublisher(
                table, work, "t", {"batch_id": batch}, f"w{writer}-r{round_no}", SCHEMA
            )
            publisher.stage(_rows(batch, round_no, writer))
            barrier.wait(BARRIER_TIMEOUT)  # every writer publishes at the same moment
            result = publisher.publish()
            outcome = ("ok", writer, round_no, batch, result.version, result.partition_rows)
            results.put(outcome)
    except BaseException:
        barrier.abort()  # release the others instead of leaving them waiting
        results.put(("error", writer, -1, "", traceback.format_exc(), 0))


def _publish_concurrently(
    table: Location, work: Location, s3_env: dict[str, str] | None, same_partition: bool
):
    ctx = multiprocessing.get_context("spawn")  # deltalake's runtime does not survive fork
    barrier = ctx.Barrier(WRITERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_writer,
            args=(w, table.uri, work.uri, s3_env, same_partition, barrier, results),
            daemon=True,
        )
        for w in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    outcomes = []
    try:
        for _ in range(WRITERS * ROUNDS):
            outcome = results.get(timeout=BARRIER_TIMEOUT * 2)
            outcomes.append(outcome)
            if outcome[0] == "error":
                break
        for proc in procs:
            proc.join(timeout=60)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
    errors = [o[4] for o in outcomes if o[0] == "error"]
    assert not errors, "a writer failed:\n" + "\n".join(errors)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    return outcomes


def _assert_no_commit_lost(table: Location, outcomes) -> None:
    publishes = WRITERS * ROUNDS
    assert len(outcomes) == publishes
    # every publish reported the version of its own commit, and no two share one
    versions = sorted(o[4] for o in outcomes)
    assert versions == list(range(publishes))
    assert all(o[5] == ROWS for o in outcomes)

    ref = TableRef(table)
    history = DeltaTable(ref.uri, storage_options=ref.options).history()
    assert sorted(h["version"] for h in history) == list(range(publishes))
    assert ref.version() == publishes - 1

    # the table at each publish's version holds exactly that publish's rows for its partition
    for _, writer, round_no, batch, version, _ in outcomes:
        at = ref.scan(version).filter(pl.col("batch_id") == batch).collect().sort("value")
        assert at.equals(_rows(batch, round_no, writer).select(at.columns))

    # and the final table every partition's last-committed rows, each row once
    last = {}
    for _, writer, round_no, batch, _version, _ in sorted(outcomes, key=lambda o: o[4]):
        last[batch] = (writer, round_no)
    final = ref.read()
    assert final.height == len(last) * ROWS
    assert final["value"].n_unique() == final.height
    for batch, (writer, round_no) in last.items():
        mine = final.filter(pl.col("batch_id") == batch).sort("value")
        assert mine.equals(_rows(batch, round_no, writer).select(mine.columns))


@pytest.mark.slow
@pytest.mark.parametrize("same_partition", [False, True], ids=["own-partitions", "one-partition"])
def test_concurrent_publishes_on_s3_lose_no_commit(s3_env, same_partition: bool):
    bucket = s3_env.new_bucket()
    creds = S3Credentials.from_env(s3_env.env)
    node = Location(f"s3://{bucket}/warehouse/nodes/SE", creds)
    outcomes = _publish_concurrently(node.child("t"), node, s3_env.env, same_partition)
    _assert_no_commit_lost(node.child("t"), outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("same_partition", [False, True], ids=["own-partitions", "one-partition"])
def test_concurrent_publishes_on_local_disk_lose_no_commit(tmp_path: Path, same_partition: bool):
    node = Location(str(tmp_path / "warehouse" / "nodes" / "SE"))
    outcomes = _publish_concurrently(node.child("t"), node, None, same_partition)
    _assert_no_commit_lost(node.child("t"), outcomes)
