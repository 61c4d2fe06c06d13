"""The UI tested for real: `gdi synth` lands a batch, the real `dagster-webserver` and
`dagster-daemon run` serve the local instance, GraphQL shows the asset graph and materialises one
partition (the queued run is dequeued by the daemon), and headless Chromium renders the lineage."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from gdi_pipelines.instance import REPO_INSTANCE_YAML

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
LOCATION = "gdi_pipelines.definitions"  # workspace.yaml loads the module by that name
REPOSITORY = {"repositoryName": "__repository__", "repositoryLocationName": LOCATION}
NODE_GROUPS = {"sequencing", "variants", "clinical"}
ASSET = "clinical_phenotypes"
BATCH, COUNTRY = "b001", "SE"
PARTITION = f"{BATCH}|{COUNTRY}"  # dimensions ordered by name: batch|country
WINDOW = (2400, 1500)  # wide enough that the fitted graph keeps its detailed nodes
STARTUP_SECONDS = 180
RUN_SECONDS = 240
SMALL = ("--samples", "4", "--variants", "150", "--reads", "40")


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} ({self.log}) ---\n" + self.log.read_text(errors="replace")[-chars:]


@dataclass
class Ui:
    port: int
    home: Path
    services: list[Service]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, **variables) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    def logs(self) -> str:
        return "\n".join(s.tail() for s in self.services)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(name: str, args: list[str], env: dict[str, str], logs: Path) -> Service:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        # a session of its own: the code servers and run workers it spawns share its process
        # group, so the finaliser ends them all, orphans included
        process = subprocess.Popen(
            [str(BIN / name), *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, process, log)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(service: Service) -> None:
    pgid = service.process.pid  # the leader of its own session and group
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        service.process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)
    service.process.wait(timeout=30)


def _wait_for_webserver(ui: Ui) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            urllib.request.urlopen(f"{ui.url}/server_info", timeout=5)
            break
        except OSError:
            assert ui.services[0].process.poll() is None, ui.logs()
            assert time.monotonic() < deadline, "webserver did not come up\n" + ui.logs()
            time.sleep(1)
    query = """{ workspaceOrError { ... on Workspace { locationEntries {
        name loadStatus locationOrLoadError {
          __typename ... on PythonError { message } } } } } }"""
    while True:
        entries = ui.graphql(query)["workspaceOrError"]["locationEntries"]
        location = next(e for e in entries if e["name"] == LOCATION)
        loaded = location["locationOrLoadError"]
        if location["loadStatus"] == "LOADED" and loaded:
            assert loaded["__typename"] == "RepositoryLocation", loaded.get("message")
            return
        assert time.monotonic() < deadline, f"code location not loaded: {location}"
        time.sleep(1)


def _quiet_automation(ui: Ui) -> None:
    """Stop what would start runs by itself: the landing-zone sensor (RUNNING by default) would
    ingest the landed batch behind the test's back. State lives in the instance, so the daemon
    started afterwards sees the sensors stopped. Also mark the first-visit dialog as seen."""
    sensors = ui.graphql(
        """query($repo: RepositorySelector!) { sensorsOrError(repositorySelector: $repo) {
             __typename ... on Sensors { results { name sensorState { id status } } } } }""",
        repo=REPOSITORY,
    )["sensorsOrError"]
    assert sensors["__typename"] == "Sensors", sensors
    assert "landing_zone_sensor" in {s["name"] for s in sensors["results"]}
    for sensor in sensors["results"]:
        if sensor["sensorState"]["status"] == "RUNNING":
            stopped = ui.graphql(
                """mutation($id: String!) { stopSensor(id: $id) { __typename
                     ... on StopSensorMutationResult { instigationState { status } } } }""",
                id=sensor["sensorState"]["id"],
            )["stopSensor"]
            assert stopped["instigationState"]["status"] == "STOPPED", stopped
    schedules = ui.graphql(
        """query($repo: RepositorySelector!) { schedulesOrError(repositorySelector: $repo) {
             ... on Schedules { results { scheduleState { id status } } } } }""",
        repo=REPOSITORY,
    )["schedulesOrError"]
    for schedule in schedules.get("results", []):
        if schedule["scheduleState"]["status"] == "RUNNING":
            ui.graphql(
                "mutation($id: String!) { stopRunningSchedule(id: $id) { __typename } }",
                id=schedule["scheduleState"]["id"],
            )
    assert ui.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    root = tmp_path_factory.mktemp("ui")
    home = root / "gdi"
    dagster_home = home / "dagster"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "AWS_", "DAGSTER_"))}
    env = clean | {
        "GDI_HOME": str(home),
        "GDI_COUNTRIES": "SE,DK",
        "GDI_PSEUDONYM_KEY": "ui-test-node-key-0123456789abcdef",
        "DAGSTER_HOME": str(dagster_home),
        "GX_ANALYTICS_ENABLED": "false",
    }
    synth = subprocess.run(
        [sys.executable, "-m", "gdi_pipelines.cli", "synth", "--countries", COUNTRY, *SMALL],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert synth.returncode == 0, synth.stdout + synth.stderr
    assert (home / "landing" / COUNTRY / BATCH / "manifest.json").is_file()
    dagster_home.mkdir(parents=True)
    shutil.copyfile(REPO_INSTANCE_YAML, dagster_home / "dagster.yaml")  # as `gdi` and make ui do

    port = _free_port()
    workspace = ["-w", str(REPO / "workspace.yaml")]
    ui = Ui(port, home, [])
    try:
        ui.services.append(
            _start(
                "dagster-webserver",
                [*workspace, "-h", "127.0.0.1", "-p", str(port)],
                env,
                root,
            )
        )
        _wait_for_webserver(ui)
        _quiet_automation(ui)
        ui.services.append(_start("dagster-daemon", ["run", *workspace], env, root))
        yield ui
    finally:
        for service in reversed(ui.services):
            _stop(service)


def _asset_nodes(ui: Ui) -> list[dict]:
    return ui.graphql(
        """{ assetNodes { assetKey { path } groupName isPartitioned
              assetChecksOrError { __typename ... on AssetChecks {
                checks { name blocking canExecuteIndividually } } } } }"""
    )["assetNodes"]


def test_asset_graph_shows_the_node_groups_and_their_checks(ui: Ui):
    nodes = _asset_nodes(ui)
    groups = {n["groupName"] for n in nodes}
    assert groups >= NODE_GROUPS, groups
    by_name = {n["assetKey"]["path"][-1]: n for n in nodes}
    assert by_name[ASSET]["groupName"] == "clinical" and by_name[ASSET]["isPartitioned"]
    for group in NODE_GROUPS:
        checks = [
            check
            for node in nodes
            if node["groupName"] == group
            for check in node["assetChecksOrError"].get("checks", [])
        ]
        assert any(c["blocking"] for c in checks), f"no blocking check in group {group}"
    names = {c["name"] for c in by_name[ASSET]["assetChecksOrError"]["checks"]}
    assert "pseudonym_on_every_row" in names


@pytest.fixture(scope="module")
def materialised(ui: Ui) -> dict:
    """One partition of one asset launched through GraphQL, run by the daemon; the finished run."""
    added = ui.graphql(
        """mutation($repo: RepositorySelector!, $key: String!) {
             addDynamicPartition(repositorySelector: $repo, partitionsDefName: "batches",
                                 partitionKey: $key) {
               __typename ... on Error { message } } }""",
        repo=REPOSITORY,
        key=BATCH,
    )["addDynamicPartition"]
    assert added["__typename"] == "AddDynamicPartitionSuccess", added
    node = next(n for n in _asset_nodes(ui) if n["assetKey"]["path"] == [ASSET])
    key = {"path": [ASSET]}
    # the checks the asset itself reports; separate check definitions (e.g. against the
    # variants tables, not materialised here) stay out, as in the UI's "Materialize"
    checks = [
        {"assetKey": key, "name": c["name"]}
        for c in node["assetChecksOrError"]["checks"]
        if c["canExecuteIndividually"] == "REQUIRES_MATERIALIZATION"
    ]
    tags = {
        "dagster/partition": PARTITION,
        "dagster/partition/batch": BATCH,
        "dagster/partition/country": COUNTRY,
    }
    params = {
        "selector": {
            **REPOSITORY,
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [key],
            "assetCheckSelection": checks,
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    launched = ui.graphql(
        """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId status } }
             ... on Error { message } ... on PythonError { stack } } }""",
        params=params,
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert launched["run"]["status"] == "QUEUED"  # dagster.yaml: the queued run coordinator
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + RUN_SECONDS
    seen = []
    while True:
        run = ui.graphql(
            """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
                 runId status tags { key value }
                 assetMaterializations { assetKey { path } partition runId } } } }""",
            id=run_id,
        )["runOrError"]
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        assert time.monotonic() < deadline, f"run {run_id} stuck: {seen}\n{ui.logs()}"
        time.sleep(2)
    run["seen"] = seen
    return run


def test_one_partition_materialises_through_the_daemon(ui: Ui, materialised: dict):
    run = materialised
    if run["status"] != "SUCCESS":
        events = ui.graphql(
            """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
                 __typename ... on MessageEvent { message } } } } }""",
            id=run["runId"],
        )["logsForRun"]["events"]
        messages = "\n".join(e.get("message", "") for e in events[-30:])
        pytest.fail(f"run {run['runId']} ended {run['status']}:\n{messages}")
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/partition"] == PARTITION
    assert [(m["assetKey"]["path"], m["partition"]) for m in run["assetMaterializations"]] == [
        ([ASSET], PARTITION)
    ]
    node = ui.graphql(
        """query($key: AssetKeyInput!, $partition: String!) {
             assetNodes(assetKeys: [$key]) {
               assetMaterializations(partitions: [$partition]) { runId partition }
               assetChecksOrError { ... on AssetChecks { checks { name blocking
                 executionForLatestMaterialization { runId status } } } } } }""",
        key={"path": [ASSET]},
        partition=PARTITION,
    )["assetNodes"][0]
    assert [m["runId"] for m in node["assetMaterializations"]] == [run["runId"]]
    blocking = [c for c in node["assetChecksOrError"]["checks"] if c["blocking"]]
    assert blocking
    for check in blocking:
        execution = check["executionForLatestMaterialization"]
        assert execution and execution["runId"] == run["runId"], check
        assert execution["status"] == "SUCCEEDED", check
    table = ui.home / "warehouse" / "nodes" / COUNTRY / ASSET / "_delta_log"
    assert table.is_dir(), "the Delta table was not published"


def _lineage_url(ui: Ui, groups: set[str]) -> str:
    """The global asset lineage with every group expanded (the UI collapses them by default)."""
    expanded = ",".join(f"global@global:{g}" for g in sorted(groups))
    return f"{ui.url}/asset-groups?" + urllib.parse.urlencode({"expanded": expanded})


def _shows(name: str, labels: set[str]) -> bool:
    """A node label is the name, or, zoomed out, the name truncated in the middle."""
    for label in labels:
        head, ellipsis, tail = label.partition("…")
        if label == name or (ellipsis and name.startswith(head) and name.endswith(tail)):
            return True
    return False


def test_lineage_page_renders_in_chromium(
    ui: Ui, materialised: dict, tmp_path_factory: pytest.TempPathFactory, capsys
):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `make test` installs it (scripts/ensure-system-deps.sh)")
    groups = {n["groupName"] for n in _asset_nodes(ui)}
    out = tmp_path_factory.mktemp("screenshots")
    png = out / "asset-lineage.png"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={out / 'profile'}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--virtual-time-budget=20000",
            f"--screenshot={png}",
            "--dump-dom",
            _lineage_url(ui, groups),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    dom = done.stdout
    (out / "asset-lineage.html").write_text(dom)
    with capsys.disabled():
        print(f"\nlineage screenshot: {png}")

    assert "Global asset lineage" in dom, dom[-2000:]
    assert "Join the Dagster community" not in dom  # the first-visit dialog would cover it
    labels = set(re.findall(r">([^<>]+)<", dom))
    assert labels >= NODE_GROUPS, f"groups not rendered: {NODE_GROUPS - labels}"
    for asset in (ASSET, "raw_sequences", "harmonised_variants"):
        assert _shows(asset, labels), f"asset {asset} not rendered"

    assert png.stat().st_size > 20_000
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == WINDOW
        grey = image.convert("L")
        low, high = grey.getextrema()
        assert high - low > 100, "a blank page"
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 64, "too few colours for a rendered graph"
