"""Crashes mid-publish, for real: `gdi materialize` of a published batch runs in its own process
group and is SIGKILLed at a point found by polling the file system (no hooks in the code):

- while staging: harmonised_variants has staged rows, nothing of it is published yet;
- around the commit, twice on the same node: first as soon as the publish writes its first
  file into the table (a data file, milliseconds before the commit), then, in another run, as
  soon as the commit is in the log (just before or after the commits of its sibling tables).

After each kill every Delta table of the node and the federation opens and reads at its latest
version, which is the previous version or the next one, never a mix; the previous version still
reads; the Delta log holds only whole commits. The killed run re-materialises a batch published
from the same landed files, so whichever side of a commit the kill lands, every table must equal
the snapshot taken before, row for row (load timestamps aside), each row once. A rerun then
succeeds, publishes every table exactly once (one commit each) with the same rows, and leaves what
the killed runs staged unpublished. Re-materialising a partition is idempotent.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pytest
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import load_settings
from gdi_pipelines.config.locations import Location
from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs.partitions import CountryBatch
from gdi_pipelines.instance import local_instance
from gdi_pipelines.orchestrate import materialise
from gdi_pipelines.storage.maintenance import find_tables
from gdi_pipelines_tests.defs.landing_fixtures import KEY

REPO = Path(__file__).resolve().parents[2]
COUNTRY, BATCH = "SE", "b001"
SYNTH = ("--countries", COUNTRY, "--samples", "24", "--variants", "2000", "--reads", "10")
VARIANTS = f"nodes/{COUNTRY}/harmonised_variants"
KILL_TIMEOUT = 300  # seconds until the kill point must have been reached (a loaded CI machine)
VERSION_FILE = re.compile(r"^(\d{20})\.json$")
HOME_PATH = re.compile(r"(/[^/\"\s]+)*/gdi-home/")

pytestmark = pytest.mark.slow


def _environment(home: Path) -> dict[str, str]:
    return {
        "GDI_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "GDI_COUNTRIES": COUNTRY,
        "GDI_EXECUTOR": "in_process",
        "GDI_PSEUDONYM_KEY": KEY,
        "GX_ANALYTICS_ENABLED": "false",
    }


def _use(patch: pytest.MonkeyPatch, home: Path) -> None:
    for name, value in _environment(home).items():
        patch.setenv(name, value)


# ---------------------------------------------------------------------------------------------
# what the tables hold


@dataclass(frozen=True, eq=False)
class TableState:
    version: int
    rows_per_batch: dict[str, int]
    # the rows, load timestamps left out: `_row` the JSON of the exact columns, then the floats
    rows: pl.DataFrame


def _tables(home: Path) -> dict[str, Path]:
    """Every Delta table of the node and of the federation zone (staging, quarantine excluded),
    by path relative to the warehouse."""
    warehouse = home / "warehouse"
    found = {}
    for zone in (warehouse / "nodes" / COUNTRY, warehouse / "federation"):
        for table in find_tables(Location(str(zone))):
            found[str(Path(table.uri).relative_to(warehouse))] = Path(table.uri)
    return found


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Comparable rows: Datetime (load time) columns out, every other column but the floats
    as one JSON line `_row` (any GDI_HOME in it a placeholder: source URIs name the landing
    zone, and each test works on a copy of the published home), then the floats, sorted.
    Floats are compared with a tolerance: sums over Delta files are not ordered the same way
    on every run."""
    kept = sorted(n for n, t in frame.schema.items() if not isinstance(t, pl.Datetime))
    floats = [n for n in kept if frame.schema[n].is_float()]
    exact = frame.select(n for n in kept if n not in floats)  # never empty: batch_id, country
    lines = HOME_PATH.sub("{GDI_HOME}/", exact.write_ndjson()).splitlines()
    rows = pl.DataFrame([pl.Series("_row", lines, pl.String), *(frame[n] for n in floats)])
    return rows.sort("_row", *floats)


def _state(home: Path, name: str, version: int | None = None) -> TableState:
    """Open a table (at its latest or a given version), read it whole and check it on the way:
    no row twice, and in harmonised_variants one call per sample and variant in each batch."""
    table = home / "warehouse" / name
    current = DeltaTable(str(table), version=version).version()
    frame = pl.read_delta(str(table), version=current)
    rows = _rows(frame)
    assert not rows.is_duplicated().any(), f"{name} v{current}: a row is in the table twice"
    if table.name == "harmonised_variants":
        keys = frame.select("batch_id", "sample", "variant_id")
        assert not keys.is_duplicated().any(), f"v{current}: a call is in the table twice"
    counts = frame.group_by("batch_id").len() if "batch_id" in frame.columns else None
    per_batch = {} if counts is None else dict(counts.iter_rows())
    return TableState(current, per_batch, rows)


def _assert_same_rows(name: str, now: TableState, then: TableState) -> None:
    assert now.rows_per_batch == then.rows_per_batch, f"{name} v{now.version}: rows per batch"
    try:
        assert_frame_equal(now.rows, then.rows, rel_tol=1e-9, abs_tol=1e-12)
    except AssertionError as exc:
        pytest.fail(f"{name}: v{now.version} differs from v{then.version}: {exc}")


def _snapshot(home: Path) -> dict[str, TableState]:
    return {name: _state(home, name) for name in _tables(home)}


def _log_versions(table: Path) -> list[int]:
    """The commit versions in `_delta_log`, each parsed whole: a partial commit fails here."""
    versions = []
    for entry in (table / "_delta_log").iterdir():
        match = VERSION_FILE.match(entry.name)
        if match is None:
            # checkpoints, or a temporary commit file a kill left (never read as a version)
            continue
        actions = [json.loads(line) for line in entry.read_text().splitlines() if line.strip()]
        assert actions, f"{entry}: empty commit"
        assert any("commitInfo" in a for a in actions), f"{entry}: commit without commitInfo"
        versions.append(int(match[1]))
    return sorted(versions)


def _uncommitted(table: Path) -> set[str]:
    """Files in the table's folder that no commit of its log ever added (data files, or the
    temporary file of one being written), commits aside."""
    added = set()
    for version in _log_versions(table):
        commit = (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
        for action in map(json.loads, filter(str.strip, commit)):
            if "add" in action:
                added.add(unquote(action["add"]["path"]))
    found = {str(Path(f).relative_to(table)) for f in _files(table)}
    commits = {f"_delta_log/{version:020d}.json" for version in _log_versions(table)}
    return found - added - commits


def _files(root: Path) -> set[str]:
    found = set()
    for folder, _, names in os.walk(root):
        found.update(os.path.join(folder, name) for name in names)
    return found


def _assert_old_or_new(home: Path, before: dict[str, TableState]) -> dict[str, int]:
    """Every table opens at its latest version, which is the version before the kill or the one
    after it (one commit per table and run), and holds exactly the snapshot's rows; the version
    before the kill still reads. Returns the versions now."""
    tables = _tables(home)
    assert set(tables) == set(before)
    versions = {}
    for name, path in tables.items():
        old = before[name]
        now = _state(home, name)
        assert now.version in (old.version, old.version + 1), name
        assert _log_versions(path) == list(range(now.version + 1)), name
        _assert_same_rows(name, now, old)
        previous = _state(home, name, old.version)  # still reads, unchanged
        _assert_same_rows(name, previous, old)
        versions[name] = now.version
    return versions


# ---------------------------------------------------------------------------------------------
# a published node, and `gdi materialize` killed at a point


@dataclass(frozen=True)
class Published:
    home: Path
    tables: dict[str, TableState]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """SE with one batch, synthesised and materialised once by `gdi` (federation included)."""
    home = tmp_path_factory.mktemp("crash-recovery") / "gdi-home"
    with pytest.MonkeyPatch.context() as patch:
        _use(patch, home)
        assert gdi(["synth", *SYNTH]) == 0
        assert gdi(["materialize", "--batch", BATCH]) == 0
    tables = _snapshot(home)
    assert tables[VARIANTS].rows_per_batch[BATCH] > 10_000, "too small to take a moment"
    return Published(home, tables)


def _copy(published: Published, tmp_path: Path) -> Path:
    home = tmp_path / "gdi-home"
    shutil.copytree(published.home, home)
    return home


@contextlib.contextmanager
def _gdi_materialize(home: Path, log: Path) -> Iterator[subprocess.Popen]:
    """`gdi materialize` of the batch in its own process group; killed, whatever happens."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GDI_", "DAGSTER_", "AWS_"))}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gdi_pipelines.cli", "materialize", "--batch", BATCH],
            cwd=REPO,
            env=clean | _environment(home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


Poll = tuple[Callable[[], bool], float]  # a condition on the file system, seconds between looks


def _kill_when(proc: subprocess.Popen, polls: list[Poll], log: Path) -> None:
    """Poll the file system until each condition in turn holds, then SIGKILL the run's whole
    process group. (Tight polling only in the last step: the run needs the CPU meanwhile.)"""
    deadline = time.monotonic() + KILL_TIMEOUT
    for reached, interval in polls:
        while not reached():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"kill point not reached (exit {proc.returncode}):\n{tail}")
            time.sleep(interval)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before the kill"
    deadline = time.monotonic() + 10
    while True:  # nothing of the group outlives it
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a process of the killed run is still alive"
        time.sleep(0.05)


def _staged(home: Path) -> Callable[[], bool]:
    """A new run has staged rows of harmonised_variants (in a staging folder of its own)."""
    staging = home / "warehouse" / "nodes" / COUNTRY / "_staging" / "harmonised_variants"
    staging = staging / f"batch_id-{BATCH}"  # then one folder per run
    earlier = set(os.listdir(staging)) if staging.is_dir() else set()

    def reached() -> bool:
        runs = set(os.listdir(staging)) - earlier if staging.is_dir() else set()
        return any(any((staging / run).rglob("*.parquet")) for run in runs)

    return reached


def _publishing(home: Path) -> Callable[[], bool]:
    """The first file of the publish appears in harmonised_variants: a data file (or its
    temporary file) some milliseconds before the commit, or the commit. Watched through the
    folders' mtimes: cheap enough to poll tightly without starving the run."""
    table = home / "warehouse" / VARIANTS
    folders = [table, *(p for p in table.rglob("*") if p.is_dir())]
    stamps = {folder: folder.stat().st_mtime_ns for folder in folders}
    return lambda: any(folder.stat().st_mtime_ns != t for folder, t in stamps.items())


def _committed(home: Path) -> Callable[[], bool]:
    """The publish's commit of harmonised_variants is in its log: the kill lands after it, and
    just before or after the commits of variant_rejects, variant_samples and variant_sites."""
    table = home / "warehouse" / VARIANTS
    commit = table / "_delta_log" / f"{DeltaTable(str(table)).version() + 1:020d}.json"
    return commit.exists


def _polls(point: str, home: Path) -> list[Poll]:
    staged = (_staged(home), 0.005)
    if point == "staging":
        return [staged]
    return [staged, ((_publishing if point == "data-files" else _committed)(home), 0.0002)]


# each kill is followed by the checks; the rerun comes after the last kill
KILLS = {"while-staging": ["staging"], "around-commit": ["data-files", "commit"]}
VARIANT_TABLES = {
    f"nodes/{COUNTRY}/{t}"
    for t in ("harmonised_variants", "variant_rejects", "variant_samples", "variant_sites")
}


@pytest.mark.parametrize("kills", list(KILLS))
def test_sigkill_mid_publish_then_rerun_publishes_once(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kills: str
):
    home = _copy(published, tmp_path)
    staging = home / "warehouse" / "nodes" / COUNTRY / "_staging"
    table = home / "warehouse" / VARIANTS
    before = published.tables
    for number, point in enumerate(KILLS[kills]):
        log = tmp_path / f"killed-{number}.log"
        polls, orphans_before = _polls(point, home), _uncommitted(table)
        with _gdi_materialize(home, log) as proc:
            _kill_when(proc, polls, log)

        versions = _assert_old_or_new(home, before)
        advanced = sorted(n for n, v in versions.items() if v > before[n].version)
        landed = "after" if VARIANTS in advanced else "before"
        orphans = sorted(_uncommitted(table) - orphans_before)
        print(
            f"kill at {point}: {landed} the harmonised_variants commit; uncommitted files in "
            f"it: {orphans}; tables advanced: {advanced}"
        )
        if point == "staging":  # the assets before harmonised_variants may have published
            assert not VARIANT_TABLES & set(advanced), "killed while staging, yet it published"
        if point == "data-files" and landed == "before":
            assert orphans, "the publish had begun writing data files (readers ignore them)"
        if point == "commit":
            assert landed == "after"
        before = {name: replace(state, version=versions[name]) for name, state in before.items()}
    leftovers = _files(staging)
    assert any(f.endswith(".parquet") for f in leftovers), "the killed runs left staged rows"

    _use(monkeypatch, home)
    assert gdi(["materialize", "--batch", BATCH]) == 0
    for name, path in _tables(home).items():
        now = _state(home, name)
        assert now.version == before[name].version + 1, f"{name}: not published exactly once"
        assert _log_versions(path) == list(range(now.version + 1)), name
        _assert_same_rows(name, now, published.tables[name])
    # the rerun cleared its own staging and left (never published) what the killed runs staged
    assert _files(staging) == leftovers


def test_rematerialising_a_partition_is_idempotent(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = _copy(published, tmp_path)
    _use(monkeypatch, home)
    settings = load_settings()
    instance = local_instance(settings)
    defs = build_definitions(settings.countries, settings.executor)
    node_tables = {n: s for n, s in published.tables.items() if n.startswith("nodes/")}
    raw = home / "warehouse" / "nodes" / COUNTRY / "raw_sequences"
    loaded = pl.read_delta(str(raw))["ingested_at"].max()
    for round_no in (1, 2):
        (run,) = materialise(defs, instance, [CountryBatch(COUNTRY, BATCH)])
        assert run.success, run.error
        for name, old in node_tables.items():
            now = _state(home, name)
            assert now.version == old.version + round_no, f"{name}: one commit per run"
            _assert_same_rows(name, now, old)
        again = pl.read_delta(str(raw))["ingested_at"]
        assert again.min() > loaded, "the partition was replaced, not appended to or skipped"
        loaded = again.max()
