"""Transient storage errors are retried with backoff; nothing else is.

The exceptions classified are real: raised by boto3, deltalake and polars against moto_server
and against small misbehaving servers on loopback. The S3 outage runs a node (landing and
warehouse on moto_server) behind a TCP relay: stopping the relay is the S3 endpoint going down
(listener closed: connection refused; open connections cut), starting it again on the same port
is the endpoint coming back. (Restarting moto_server itself would lose its in-memory buckets.)
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import json
import re
import socket
import socketserver
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import dagster as dg
import polars as pl
import pytest
import sqlalchemy.exc
from botocore.config import Config
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import load_settings
from gdi_pipelines.config.errors import ConfigError
from gdi_pipelines.config.locations import Location
from gdi_pipelines.defs.gating import gate_and_publish
from gdi_pipelines.defs.partitions import country_batch_partitions
from gdi_pipelines.defs.retries import (
    MAX_DELAY,
    backoff_seconds,
    describe,
    is_transient,
    retry_settings,
)
from gdi_pipelines.defs.sequencing import build_sequencing_defs
from gdi_pipelines.domain.quality import CheckOutcome, Severity
from gdi_pipelines.domain.sequencing import SequenceFileError, measure_sequencing_file
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.publish import PartitionPublisher
from gdi_pipelines_tests.defs.landing_fixtures import KEY, materialise
from gdi_pipelines_tests.s3_server import CREDENTIALS, S3Server

RETRY = dg.DagsterEventType.STEP_UP_FOR_RETRY
SLOWDOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Relay:
    """A TCP relay on loopback in front of moto_server: the node's S3 endpoint."""

    def __init__(self, target: str):
        self.target = int(target.rsplit(":", 1)[1])
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.trip: re.Pattern[bytes] | None = None  # go down on the request matching this
        self.tripped = threading.Event()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def go_down_on(self, request: bytes) -> None:
        """Stop as soon as a request matching the regex `request` comes through."""
        self.tripped.clear()
        self.trip = re.compile(request)

    def start(self) -> None:
        if self._listener is not None:
            return
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        sock.settimeout(0.05)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            cut, self._open = self._open, set()
        if listener is not None:
            listener.close()
        for conn in cut:
            _cut(conn)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._open |= {client, upstream}
            for src, dst, outgoing in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, outgoing), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, outgoing: bool) -> None:
        try:
            while data := src.recv(65536):
                if outgoing and self.trip is not None and self.trip.search(data):
                    self.trip = None
                    self.stop()
                    self.tripped.set()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _cut(src)
            _cut(dst)


def _cut(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


class _Misbehaving(socketserver.BaseRequestHandler):
    """Per server mode: `close` without answering, `hang`, `short` body, `slowdown` (503)."""

    def handle(self) -> None:
        self.request.recv(65536)
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "hang":
            time.sleep(3)
        elif mode == "short":
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"
            self.request.sendall(head + b"x" * 10)
        elif mode == "slowdown":
            head = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
            self.request.sendall(head + b"Content-Length: %d\r\n\r\n" % len(SLOWDOWN) + SLOWDOWN)


def _raised(call) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("expected an exception")


@pytest.fixture(scope="module")
def real_errors(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory):
    """name -> (exception raised for real, transient?)"""
    servers, running = {}, []
    for mode in ("close", "hang", "short", "slowdown"):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Misbehaving)
        server.daemon_threads = True
        server.mode = mode  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[mode] = f"http://127.0.0.1:{server.server_address[1]}"
        running.append(server)
    down_port = _free_port()
    down = f"http://127.0.0.1:{down_port}"
    quick = Config(retries={"max_attempts": 1}, connect_timeout=0.5, read_timeout=0.5)

    def s3(endpoint: str):
        return boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", config=quick, **_keys()
        )

    def delta_options(endpoint: str) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true"} | {
            "max_retries": "0",
            "timeout": "1s",
        }

    bucket = s3_server.new_bucket()
    relay = Relay(s3_server.endpoint)
    relay.start()
    table = f"s3://{bucket}/t"
    frame = pl.DataFrame({"batch_id": ["b1", "b2"], "v": [1, 2]})
    frame.write_delta(table, storage_options=delta_options(relay.endpoint))
    opened = DeltaTable(table, storage_options=delta_options(relay.endpoint))
    relay.go_down_on(rb"GET /\S+\.parquet")  # the log reads fine, the data does not
    polars_options = delta_options(relay.endpoint) | {"max_retries": 0}  # polars wants an int
    polars_refused = _raised(lambda: pl.read_delta(table, storage_options=polars_options))
    relay.stop()
    delta_write = _raised(lambda: write_deltalake(opened, frame.to_arrow(), mode="append"))

    local = str(tmp_path_factory.mktemp("local-delta") / "t")
    write_deltalake(local, frame.to_arrow(), partition_by=["batch_id"])
    stale = DeltaTable(local)
    only_b1 = frame.filter(pl.col("batch_id") == "b1").to_arrow()
    write_deltalake(local, only_b1, mode="overwrite", predicate="batch_id = 'b1'")
    gate = CheckOutcome("files_present_and_intact", False, Severity.ERROR, "x", {}, ("bad",))
    publisher = PartitionPublisher(
        Location(local + "-pub"),
        Location(local + "-work"),
        "t",
        {"batch_id": "b1"},
        "run",
        pl.Schema({"batch_id": pl.String}),
    )
    context = SimpleNamespace(run_id="r")
    moto = s3(s3_server.endpoint)
    yield {
        "boto: endpoint down": (_raised(lambda: s3(down).head_object(Bucket="b", Key="k")), True),
        "boto: closed before answering": (
            _raised(lambda: s3(servers["close"]).put_object(Bucket="b", Key="k", Body=b"1")),
            True,
        ),
        "boto: read timeout": (
            _raised(lambda: s3(servers["hang"]).head_object(Bucket="b", Key="k")),
            True,
        ),
        "boto: body cut mid-read": (
            _raised(lambda: s3(servers["short"]).get_object(Bucket="b", Key="k")["Body"].read()),
            True,
        ),
        "boto: 503 SlowDown": (
            _raised(lambda: s3(servers["slowdown"]).head_object(Bucket="b", Key="k")),
            True,
        ),
        "socket: connection refused": (
            _raised(lambda: socket.create_connection(("127.0.0.1", down_port))),
            True,
        ),
        "deltalake open: endpoint down": (
            _raised(lambda: DeltaTable(table, storage_options=delta_options(down))),
            True,
        ),
        "deltalake open: 503 SlowDown": (
            _raised(lambda: DeltaTable(table, storage_options=delta_options(servers["slowdown"]))),
            True,
        ),
        "deltalake open: connection closed": (
            _raised(lambda: DeltaTable(table, storage_options=delta_options(servers["close"]))),
            True,
        ),
        "deltalake write: endpoint went down": (delta_write, True),
        "polars read: endpoint went down": (polars_refused, True),
        "polars write: endpoint down": (
            _raised(lambda: frame.write_delta(table, storage_options=delta_options(down))),
            True,
        ),
        "boto: NoSuchKey": (_raised(lambda: moto.get_object(Bucket=bucket, Key="nope")), False),
        "boto: 404 head": (_raised(lambda: moto.head_object(Bucket=bucket, Key="no")), False),
        "boto: NoSuchBucket": (_raised(lambda: moto.head_bucket(Bucket="gdi-none")), False),
        "deltalake: NoSuchBucket (404)": (
            _raised(
                lambda: DeltaTable(
                    "s3://gdi-none/t", storage_options=delta_options(s3_server.endpoint)
                )
            ),
            False,
        ),
        "deltalake: table not found": (_raised(lambda: DeltaTable(local + "-none")), False),
        "deltalake: commit conflict": (
            _raised(
                lambda: write_deltalake(
                    stale, only_b1, mode="overwrite", predicate="batch_id = 'b1'"
                )
            ),
            False,
        ),
        "deltalake: rows outside the predicate": (
            _raised(
                lambda: write_deltalake(
                    local, frame.to_arrow(), mode="overwrite", predicate="batch_id = 'b1'"
                )
            ),
            False,
        ),
        "gate failed (dagster.Failure)": (
            _raised(lambda: list(gate_and_publish(context, publisher, [gate]))),
            False,
        ),
        "corrupt input (truncated gzip)": (
            _raised(lambda: measure_sequencing_file(_gzip_head(), "x.fastq.gz", "FASTQ")),
            False,
        ),
        "ValueError": (_raised(lambda: int("x")), False),
        "ConfigError": (_raised(lambda: retry_settings({"GDI_STORAGE_RETRIES": "-1"})), False),
        "FileNotFoundError": (_raised(lambda: Path("/nonexistent/x").read_bytes()), False),
        "disk full": (OSError(errno.ENOSPC, "No space left on device"), False),
    }
    for server in running:
        server.shutdown()
        server.server_close()


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _gzip_head():
    import gzip
    import io

    data = gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 2000)
    return io.BytesIO(data[: len(data) // 2])


def test_real_errors_are_classified(real_errors: dict) -> None:
    expected = {
        "boto: endpoint down": "EndpointConnectionError",
        "boto: closed before answering": "ConnectionClosedError",
        "boto: read timeout": "ReadTimeoutError",
        "boto: body cut mid-read": "ResponseStreamingError",
        "boto: 503 SlowDown": "ClientError",
        "deltalake write: endpoint went down": "DeltaError",
        "deltalake: commit conflict": "CommitFailedError",
        "gate failed (dagster.Failure)": "Failure",
        "corrupt input (truncated gzip)": "SequenceFileError",
    }
    for name, cls in expected.items():
        assert type(real_errors[name][0]).__name__ == cls, (name, real_errors[name][0])
    assert isinstance(real_errors["deltalake: table not found"][0], TableNotFoundError)
    # refused or reset, depending on whether polars' request was under way when the relay stopped
    assert isinstance(real_errors["polars read: endpoint went down"][0], ConnectionError)
    assert isinstance(real_errors["corrupt input (truncated gzip)"][0], SequenceFileError)
    assert isinstance(real_errors["deltalake: commit conflict"][0], CommitFailedError)
    generic = [e for e, _ in real_errors.values() if type(e) in (OSError, DeltaError)]
    assert len(generic) >= 5  # what delta-rs raises is classified by its message
    wrong = {
        name: describe(exc)
        for name, (exc, transient) in real_errors.items()
        if is_transient(exc) != transient
    }
    assert not wrong


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    lows = [backoff_seconds(n, 2.0, lambda: 0.0) for n in range(8)]
    highs = [backoff_seconds(n, 2.0, lambda: 1.0) for n in range(8)]
    assert highs[:5] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert lows[:3] == [1.0, 2.0, 4.0]
    assert highs[5:] == [MAX_DELAY] * 3 and lows[7] == MAX_DELAY / 2
    assert backoff_seconds(1000, 2.0) <= MAX_DELAY
    assert all(1.0 <= backoff_seconds(0, 2.0) <= 2.0 for _ in range(50))


def test_settings_are_read_when_asked_and_validated() -> None:
    assert retry_settings({}) == (3, 2.0)
    assert retry_settings({"GDI_STORAGE_RETRIES": "0", "GDI_STORAGE_RETRY_DELAY": "0.5"}) == (
        0,
        0.5,
    )
    bad = [("GDI_STORAGE_RETRIES", "many"), ("GDI_STORAGE_RETRIES", "1.5")]
    bad += [("GDI_STORAGE_RETRY_DELAY", "-2"), ("GDI_STORAGE_RETRY_DELAY", "nan")]
    for name, value in bad:
        with pytest.raises(ConfigError, match=name):
            retry_settings({name: value})


def test_the_reason_logged_names_no_object_and_no_signature() -> None:
    exc = OSError(
        "Kernel error -> Generic S3 error\n   \x1b[31m↳\x1b[0m Error performing GET "
        "https://s3.example.org/landing/SE/b001/reads/SE-LAB-000001_R1.fastq.gz"
        "?X-Amz-Signature=abc&X-Amz-Credential=AKIA in 2.4s - HTTP error: error sending request"
    )
    reason = describe(exc)
    assert reason.startswith("OSError: Kernel error -> Generic S3 error Error performing GET")
    assert "https://s3.example.org/…" in reason
    assert not any(s in reason for s in ("SE-LAB", "Signature", "AKIA", "landing", "\x1b"))


def test_dagster_still_sees_config_resources_and_generator() -> None:
    (asset,) = build_sequencing_defs(country_batch_partitions(("SE",))).assets
    assert asset.op.required_resource_keys == {"platform"}
    fields = asset.op.config_schema.as_field().config_type.fields
    assert set(fields) == {"min_q30_fraction", "min_mean_base_quality"}
    assert inspect.isgeneratorfunction(asset.op.compute_fn.decorated_fn)
    assert list(inspect.signature(asset.op.compute_fn.decorated_fn).parameters) == [
        "context",
        "config",
        "platform",
    ]


def test_a_retried_attempt_never_publishes_the_rows_staged_before(tmp_path: Path) -> None:
    schema = pl.Schema({"batch_id": pl.String, "v": pl.Int64})
    root = Location(str(tmp_path))

    def publisher() -> PartitionPublisher:  # each attempt builds its own; the run_id is the same
        return PartitionPublisher(root.child("t"), root, "t", {"batch_id": "b1"}, "run-1", schema)

    failed = publisher()
    failed.stage(pl.DataFrame({"batch_id": ["b1", "b1"], "v": [1, 2]}))
    failed.staged()  # its rows written, as its gates read them
    leftover = list(Path(failed.staging.uri).rglob("*.parquet"))
    assert leftover  # the failed attempt died before publishing
    retried = publisher()
    retried.stage(pl.DataFrame({"batch_id": ["b1", "b1"], "v": [1, 2]}))
    assert not any(p.exists() for p in leftover)
    assert retried.publish().partition_rows == 2
    assert sorted(TableRef(root.child("t")).read()["v"]) == [1, 2]
    quarantined = publisher()
    quarantined.stage(pl.DataFrame({"batch_id": ["b1"], "v": [3]}))
    where = Path(quarantined.quarantine({"attempt": 1}))
    again = publisher()
    again.stage(pl.DataFrame({"batch_id": ["b1"], "v": [4]}))
    assert Path(again.quarantine({"attempt": 2})) == where
    assert pl.read_delta(str(where / "data"))["v"].to_list() == [4]
    assert json.loads((where / "report.json").read_text()) == {"attempt": 2}


# --- a node on S3 whose endpoint goes down during a run -------------------------------------

SE_B001 = "b001|SE"


@pytest.fixture(scope="module")
def s3_node(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory):
    relay = Relay(s3_server.endpoint)
    relay.start()
    bucket = s3_server.new_bucket()
    home = tmp_path_factory.mktemp("s3-node")
    env = {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": relay.endpoint,
        "GDI_HOME": str(home),
        "GDI_COUNTRIES": "SE",
        "GDI_PSEUDONYM_KEY": KEY,
        "GDI_LANDING_URI": f"s3://{bucket}/landing",
        "GDI_WAREHOUSE_URI": f"s3://{bucket}/warehouse",
        "GDI_REFERENCE_URI": str(home / "reference"),
        "GDI_STORAGE_RETRIES": "3",
        "GDI_STORAGE_RETRY_DELAY": "0.2",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        synth = ["synth", "--countries", "SE", "--samples", "4", "--variants", "50"]
        assert gdi([*synth, "--reads", "20"]) == 0
        defs = build_sequencing_defs(country_batch_partitions(("SE",)))
        baseline = materialise(dg.DagsterInstance.ephemeral(), defs, "SE", "b001")
        assert baseline.success
        table = TableRef(load_settings().node("SE").warehouse.child("raw_sequences"))
        yield {"env": env, "relay": relay, "defs": defs, "table": table, "rows": _rows(table)}
    relay.stop()


@pytest.fixture
def node(s3_node: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    for name, value in s3_node["env"].items():
        monkeypatch.setenv(name, value)
    s3_node["relay"].trip = None
    s3_node["relay"].start()
    return s3_node


def _rows(table: TableRef) -> pl.DataFrame:
    return table.read().drop("ingested_at").sort("file_name")


def _events(result, event_type: dg.DagsterEventType) -> list:
    return [e for e in result.all_events if e.event_type == event_type]


def _restart_after_first_retry(instance: dg.DagsterInstance, relay: Relay) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                runs = instance.get_runs(limit=1)
                retried = runs and instance.all_logs(runs[0].run_id, of_type=RETRY)
            except sqlalchemy.exc.OperationalError:  # SQLite locked by the run's own writes
                retried = False
            if retried:
                relay.start()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_endpoint_down_mid_step_then_back_the_run_succeeds_after_a_retry(node: dict) -> None:
    relay, table = node["relay"], node["table"]
    before = table.version()
    # down right after the rows were staged, while the step uploads its Data Docs
    relay.go_down_on(rb"PUT /\S+/_docs/gx/raw_sequences/")
    instance = dg.DagsterInstance.ephemeral()
    watcher = _restart_after_first_retry(instance, relay)
    result = materialise(instance, node["defs"], "SE", "b001")
    watcher.join(timeout=1)
    assert relay.tripped.is_set()
    assert result.success
    retries = _events(result, RETRY)
    assert len(retries) >= 1
    logs = [r.user_message for r in instance.all_logs(result.run_id) if not r.is_dagster_event]
    warnings = [m for m in logs if m.startswith("transient storage error")]
    assert len(warnings) == len(retries)
    assert all("/warehouse/" not in m and "testing" not in m for m in warnings)
    assert table.version() == before + 1
    published = _rows(table)
    assert published.equals(node["rows"])  # as the run without the outage: no row twice
    assert published["file_name"].n_unique() == published.height


def test_endpoint_down_for_good_fails_cleanly_without_a_new_version(node: dict) -> None:
    relay, table = node["relay"], node["table"]
    before = table.version()
    relay.go_down_on(rb"/raw_sequences(/|%2F)_delta_log")  # down as it publishes
    result = materialise(dg.DagsterInstance.ephemeral(), node["defs"], "SE", "b001")
    assert relay.tripped.is_set()
    assert not result.success
    assert len(_events(result, RETRY)) == 3
    (failure,) = _events(result, dg.DagsterEventType.STEP_FAILURE)
    error = failure.step_failure_data.error
    raised = error.cause  # Dagster wraps what the step raised
    assert raised.cls_name == "TransientStorageError" and raised.cause is None
    assert "3 retries spent: EndpointConnectionError" in raised.message
    assert "raw_sequences" not in raised.message  # object keys are cut from the reason
    assert not _events(result, dg.DagsterEventType.ASSET_MATERIALIZATION)
    relay.start()
    assert table.version() == before
    assert _rows(table).equals(node["rows"])


def test_a_corrupt_file_fails_its_gate_once_and_is_not_retried(node: dict, s3_server) -> None:
    table, settings = node["table"], load_settings()
    bucket, _, prefix = settings.node("SE").landing.uri.removeprefix("s3://").partition("/")
    client = s3_server.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    fastq = next(k for k in keys if k.endswith(".fastq.gz"))
    original = client.get_object(Bucket=bucket, Key=fastq)["Body"].read()
    before = table.version()
    client.put_object(Bucket=bucket, Key=fastq, Body=original[:-100] + bytes(100))
    try:
        result = materialise(dg.DagsterInstance.ephemeral(), node["defs"], "SE", "b001")
    finally:
        client.put_object(Bucket=bucket, Key=fastq, Body=original)
    assert not result.success
    assert not _events(result, RETRY)
    assert len(_events(result, dg.DagsterEventType.STEP_FAILURE)) == 1
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["files_present_and_intact"] is False
    assert table.version() == before
