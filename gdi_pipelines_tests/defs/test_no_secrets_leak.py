"""No secret and no national identifier leaves the landing zone: not into the Dagster event log,
not into a table, quarantine, Data Docs or export, not into the Dagster instance's files.

A two-node network runs every asset through Dagster: SE on local disk with its own pseudonym key
(`GDI_PSEUDONYM_KEY_SE`), DK on S3 (a loopback moto server) with its own credentials
(`GDI_DK_AWS_*`, declared in a nodes file) and the shared key (`GDI_PSEUDONYM_KEY`); the usual
`AWS_*` variables and a Crypt4GH passphrase hold canaries too. Besides the normal runs the failure
paths run: a gate failure (a corrupt FASTQ: quarantined, reported) and two broken manifests (a
duplicated sample, a file naming an unlisted sample) that fail their run.

Then everything the platform wrote outside the landing zone is searched for the lab sample ids and
national person ids of the landing zone, every form of both keys (raw, hex, base64) and every
credential value. Positive controls show the scanners read what they scan: they find the raw ids
in the landing zone and the pseudonyms in the tables, the event log and the instance's files.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest
from dagster_shared.serdes import serialize_value

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import Settings, load_settings
from gdi_pipelines.config.locations import Location
from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs.jobs import INGEST_JOB
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.domain.clinical.national_ids import national_identifier_kind
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.orchestrate import materialise, refresh_federation
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.objectstore import store_for
from gdi_pipelines_tests.s3_server import S3Server

BATCH = "b001"
KEYS = {  # variable -> value; SE has its own key, DK falls back to the shared one
    "GDI_PSEUDONYM_KEY_SE": "se-only-pseudonym-key-Q7xK2mP9vL4w",
    "GDI_PSEUDONYM_KEY": "shared-pseudonym-key-Z3nB8tR6yH1c",
}
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAGLOBALCANARY7Q2Z",
    "AWS_SECRET_ACCESS_KEY": "globalSecretCanary9f8e7d6c5b4a3210QQ",
    "AWS_SESSION_TOKEN": "globalSessionTokenCanaryA1B2C3D4E5F6",
    "GDI_DK_AWS_ACCESS_KEY_ID": "AKIADKNODECANARY3X8V",
    "GDI_DK_AWS_SECRET_ACCESS_KEY": "dkSecretCanary0a1b2c3d4e5f6g7h8i9jWW",
    "GDI_DK_AWS_SESSION_TOKEN": "dkSessionTokenCanaryK9L8M7N6O5P4",
    "GDI_CRYPT4GH_PASSPHRASE": "crypt4ghPassphraseCanaryR2S3T4U5",
}
LAB_ID = re.compile(r"[A-Z]{2}-LAB-\d{6}")  # the synthetic labs' sample ids
NATIONAL_ID = re.compile(r"(?<![0-9A-Z])\d{6,8}[-+A-FU-Y]?\d{3,4}[0-9A-Y]?(?![0-9A-Z])")
SQLITE = b"SQLite format 3\x00"


class Needles:
    """What must never appear, and how to name a find (secrets by their variable only)."""

    def __init__(self, raw_ids: set[str], national_ids: set[str]):
        assert all(LAB_ID.fullmatch(i) for i in raw_ids)
        self.raw_ids = raw_ids
        self.literal = {i: f"national id {i}" for i in national_ids}
        for name, key in KEYS.items():
            raw = key.encode()
            for form, text in (
                ("raw", key),
                ("hex", raw.hex()),
                ("HEX", raw.hex().upper()),
                ("base64", base64.b64encode(raw).decode().rstrip("=")),
                ("base64url", base64.urlsafe_b64encode(raw).decode().rstrip("=")),
            ):
                self.literal.setdefault(text, f"{name} ({form})")  # forms may coincide
        self.literal |= {value: name for name, value in CREDENTIALS.items()}

    def find(self, text: str) -> set[str]:
        found = {label for needle, label in self.literal.items() if needle in text}
        found |= {f"raw sample id {m}" for m in LAB_ID.findall(text) if m in self.raw_ids}
        return found


@dataclass
class Network:
    home: Path
    environment: dict[str, str]
    settings: Settings
    instance: dg.DagsterInstance
    asset_keys: set[dg.AssetKey]
    outcomes: dict[str, bool]  # what each run was for -> whether it succeeded
    bucket: str
    dk_landing: Path  # a copy of DK's S3 landing zone, outside GDI_HOME
    raw_ids: set[str] = field(default_factory=set)
    national_ids: set[str] = field(default_factory=set)
    pseudonyms: set[str] = field(default_factory=set)

    @property
    def needles(self) -> Needles:
        return Needles(self.raw_ids, self.national_ids)

    @property
    def dk_bucket(self) -> Location:
        return Location(f"s3://{self.bucket}", self.settings.node("DK").warehouse.s3)


# ---------------------------------------------------------------------------------------------
# the network


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("no-secrets-leak")
    home, dk_landing, nodes_file = root / "gdi-home", root / "dk-landing", root / "nodes.yaml"
    bucket = s3_server.new_bucket()
    nodes_file.write_text(
        "nodes:\n"
        "  SE: {}\n"
        "  DK:\n"
        f"    landing_uri: s3://{bucket}/landing/DK\n"
        f"    warehouse_uri: s3://{bucket}/warehouse/DK\n"
        "    credentials_prefix: GDI_DK_\n"
    )
    environment = {
        "GDI_HOME": str(home),
        "GDI_NODES_FILE": str(nodes_file),
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_REGION": "us-east-1",
        "GDI_STORAGE_RETRIES": "0",
        "GX_ANALYTICS_ENABLED": "false",
        **KEYS,
        **CREDENTIALS,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        assert gdi(["synth", "--samples", "24", "--variants", "300", "--reads", "10"]) == 0
        settings = load_settings()
        dk = settings.node("DK").landing
        assert dk.s3.secret_access_key == CREDENTIALS["GDI_DK_AWS_SECRET_ACCESS_KEY"]
        for obj in store_for(dk).list(dk.uri):
            target = dk_landing / obj.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with store_for(dk).open_read(obj.uri) as stream:
                target.write_bytes(stream.read())

        (home / "dagster").mkdir()
        instance = dg.DagsterInstance.local_temp(tempdir=str(home / "dagster"))
        instance.add_dynamic_partitions(BATCHES.name, [BATCH])
        defs = build_definitions(settings.countries, "in_process")
        outcomes = {
            f"ingest {r.partition.country}": r.success
            for r in materialise(defs, instance, [CountryBatch(c, BATCH) for c in ("SE", "DK")])
        }
        se_batch = home / "landing" / "SE" / BATCH
        outcomes["corrupt FASTQ"] = _with_corrupt_fastq(se_batch, defs, instance)
        for fault in ("duplicate sample", "unlisted sample"):
            outcomes[fault] = _with_broken_manifest(se_batch, fault, defs, instance)
        outcomes["federation"] = refresh_federation(defs, instance).success

        net = Network(
            home,
            environment,
            settings,
            instance,
            set(defs.resolve_all_asset_keys()),
            outcomes,
            bucket,
            dk_landing,
        )
        for landing in (home / "landing" / "SE", dk_landing):
            raw_ids, national_ids = _identifiers_in(landing)
            net.raw_ids |= raw_ids
            net.national_ids |= national_ids
        keys = {"SE": KEYS["GDI_PSEUDONYM_KEY_SE"], "DK": KEYS["GDI_PSEUDONYM_KEY"]}
        net.pseudonyms = {pseudonymise(keys[i[:2]].encode(), i[:2], i) for i in net.raw_ids}
    yield net
    instance.dispose()


@pytest.fixture
def net(network: Network, monkeypatch: pytest.MonkeyPatch) -> Network:
    for name, value in network.environment.items():
        monkeypatch.setenv(name, value)
    return network


def _run_se(defs: dg.Definitions, instance: dg.DagsterInstance) -> bool:
    result = defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=instance,
        partition_key=CountryBatch("SE", BATCH).key,
        asset_selection=[dg.AssetKey("raw_sequences")],
        raise_on_error=False,
    )
    return result.success


def _with_corrupt_fastq(batch: Path, defs: dg.Definitions, instance: dg.DagsterInstance) -> bool:
    """One base of a landed FASTQ differs: its gate fails, the rows go to quarantine."""
    fastq = sorted((batch / "reads").glob("*.fastq.gz"))[0]
    original = fastq.read_bytes()
    lines = gzip.decompress(original).split(b"\n")
    lines[1] = (b"C" if lines[1][:1] != b"C" else b"G") + lines[1][1:]
    fastq.write_bytes(gzip.compress(b"\n".join(lines)))
    try:
        return _run_se(defs, instance)
    finally:
        fastq.write_bytes(original)


def _with_broken_manifest(
    batch: Path, fault: str, defs: dg.Definitions, instance: dg.DagsterInstance
) -> bool:
    """The lab re-lands a manifest that does not validate; the run fails on reading it."""
    manifest = batch / "manifest.json"
    original = manifest.read_text()
    data = json.loads(original)
    if fault == "duplicate sample":
        data["samples"].append(data["samples"][0])
    else:  # the sample's files now name a sample the manifest does not list
        del data["samples"][0]
    manifest.write_text(json.dumps(data))
    try:
        return _run_se(defs, instance)
    finally:
        manifest.write_text(original)


def _identifiers_in(landing: Path) -> tuple[set[str], set[str]]:
    """The lab sample ids of every manifest, the national ids of every clinical file."""
    raw_ids, national_ids = set(), set()
    for path in landing.glob("*/manifest.json"):
        manifest = json.loads(path.read_text())
        raw_ids |= {s["sample_id"] for s in manifest["samples"]}
        for entry in manifest["files"]:
            if entry["kind"] == "clinical":
                text = (path.parent / entry["path"]).read_text()
                found = {m for m in NATIONAL_ID.findall(text) if national_identifier_kind(m)}
                national_ids |= found
    return raw_ids, national_ids


# ---------------------------------------------------------------------------------------------
# the scanners: every file as bytes, gunzipped, Parquet rows, SQLite rows


def _texts(name: str, data: bytes, path: Path | None = None) -> Iterator[str]:
    yield name
    yield data.decode("latin-1")
    if data[:2] == b"\x1f\x8b":
        yield gzip.decompress(data).decode("latin-1")  # bgzip too: concatenated members
    if data[:4] == b"PAR1":
        yield str(pq.read_table(io.BytesIO(data)).to_pylist())
    if data[:16] == SQLITE and path is not None:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                yield str(db.execute(f'SELECT * FROM "{table}"').fetchall())


def _local_files(root: Path, skip: Iterable[Path] = ()) -> Iterator[tuple[str, bytes, Path]]:
    skipped = tuple(skip)
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(path.is_relative_to(s) for s in skipped):
            yield str(path.relative_to(root)), path.read_bytes(), path


def _s3_files(bucket: Location, skip_prefix: str) -> Iterator[tuple[str, bytes, None]]:
    store = store_for(bucket)
    for obj in store.list(bucket.uri):
        if not obj.relative.startswith(skip_prefix):
            with store.open_read(obj.uri) as stream:
                yield obj.relative, stream.read(), None


@dataclass
class Scan:
    files: list[str] = field(default_factory=list)
    leaks: dict[str, set[str]] = field(default_factory=dict)  # file -> what it holds
    controls: set[str] = field(default_factory=set)  # pseudonyms seen

    def add(self, name: str, texts: Iterable[str], needles: Needles, pseudonyms: set[str]):
        self.files.append(name)
        for text in texts:
            if found := needles.find(text):
                self.leaks.setdefault(name, set()).update(found)
            if not self.controls >= pseudonyms:
                self.controls |= {p for p in pseudonyms - self.controls if p in text}


def _scan(files: Iterable[tuple[str, bytes, Path | None]], net: Network) -> Scan:
    scan = Scan()
    for name, data, path in files:
        scan.add(name, _texts(name, data, path), net.needles, net.pseudonyms)
    return scan


def _delta_tables(names: Iterable[str]) -> list[str]:
    """Every table folder below a root: `_quarantine`, `_staging`, `_docs` included."""
    return sorted({n.split("/_delta_log/")[0] for n in names if "/_delta_log/" in n})


# ---------------------------------------------------------------------------------------------
# the tests


def test_every_asset_and_the_failure_paths_ran(net: Network) -> None:
    assert net.outcomes == {
        "ingest SE": True,
        "ingest DK": True,
        "corrupt FASTQ": False,
        "duplicate sample": False,
        "unlisted sample": False,
        "federation": True,
    }
    unmaterialised = [
        k for k in net.asset_keys if net.instance.get_latest_materialization_event(k) is None
    ]
    assert not unmaterialised
    assert len(net.raw_ids) == 48 and len(net.national_ids) >= 40
    assert not (net.home / "secrets").exists(), "the keys came from the environment only"


def test_the_scanners_find_ids_where_they_are(net: Network, tmp_path: Path) -> None:
    """Positive control: the landing zones hold every raw id; secrets planted in compressed
    Parquet, gzip and SQLite are found."""
    scan = _scan([*_local_files(net.home / "landing"), *_local_files(net.dk_landing)], net)
    found = set().union(*scan.leaks.values())
    assert {f"raw sample id {i}" for i in net.raw_ids} <= found
    assert {f"national id {i}" for i in net.national_ids} <= found
    assert not {label for label in found if not label.startswith(("raw", "national"))}

    key = KEYS["GDI_PSEUDONYM_KEY"].encode()
    pl.DataFrame({"v": [[base64.b64encode(key).decode()]]}).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.gz").write_bytes(gzip.compress(key.hex().encode()))
    with closing(sqlite3.connect(tmp_path / "c.db")) as db:
        db.execute("CREATE TABLE t (v)")
        db.execute("INSERT INTO t VALUES (?)", (CREDENTIALS["GDI_DK_AWS_SECRET_ACCESS_KEY"],))
        db.commit()
    assert _scan(_local_files(tmp_path), net).leaks == {
        "a.parquet": {"GDI_PSEUDONYM_KEY (base64)"},
        "b.gz": {"GDI_PSEUDONYM_KEY (hex)"},
        "c.db": {"GDI_DK_AWS_SECRET_ACCESS_KEY"},
    }


def test_no_secret_or_raw_id_in_the_event_log(net: Network) -> None:
    """Every event of every run (messages, metadata of materialisations and check evaluations,
    step failures with their errors), and every run with its config and tags."""
    runs = net.instance.get_runs()
    assert len(runs) == len(net.outcomes)
    texts, failures = [], []
    for run in runs:
        texts.append(serialize_value(run))
        for entry in net.instance.all_logs(run.run_id):
            texts.append(serialize_value(entry))
            if entry.is_dagster_event and entry.dagster_event.is_step_failure:
                failures.append(entry.dagster_event.step_failure_data.error.to_string())
    assert sum("manifest.json" in f for f in failures) >= 2, "the broken manifests failed"
    assert any("files_present_and_intact" in f for f in failures), "the gate failed its run"
    scan = Scan()
    scan.add("event log", texts, net.needles, net.pseudonyms)
    assert not scan.leaks, scan.leaks
    assert scan.controls == net.pseudonyms, "the per-file log lines name every pseudonym"


def test_no_secret_or_raw_id_in_any_table_quarantine_docs_or_export(net: Network) -> None:
    """Every file of both warehouses and the federation zone (and of the reference the node
    reads), Delta tables read as tables too; the landing zone and the instance are not here."""
    landing, instance = net.home / "landing", net.home / "dagster"
    local = list(_local_files(net.home, skip=(landing, instance)))
    remote = list(_s3_files(net.dk_bucket, skip_prefix="landing/"))
    assert all(name.startswith("warehouse/DK/") for name, _, _ in remote), "DK wrote elsewhere"
    scan = _scan([*local, *remote], net)

    se = net.settings.node("SE").warehouse.uri
    federation = net.settings.federation.uri
    local_tables = [str(net.home / t) for t in _delta_tables(n for n, _, _ in local)]
    remote_tables = [f"s3://{net.bucket}/{t}" for t in _delta_tables(n for n, _, _ in remote)]
    for uri in [*local_tables, *remote_tables]:
        creds = net.dk_bucket.s3 if uri.startswith("s3://") else None
        frame = TableRef(Location(uri, creds)).read()
        text = frame.select(pl.col(pl.String, pl.List, pl.Struct)).write_ndjson()
        scan.add(f"table {uri}", [text], net.needles, net.pseudonyms)

    assert not scan.leaks, scan.leaks
    assert scan.controls == net.pseudonyms, "the tables carry every pseudonym"
    # what was scanned: both nodes' tables, quarantine, Data Docs, federation, exports
    for uri in (se, f"s3://{net.bucket}/warehouse/DK"):
        tables = {t for t in [*local_tables, *remote_tables] if t.startswith(uri)}
        assert {f"{uri}/raw_sequences", f"{uri}/clinical_phenotypes"} <= tables
        assert {f"{uri}/harmonised_variants", f"{uri}/country_variant_summaries"} <= tables
    assert f"{federation}/cohort_summary" in local_tables
    assert any(t.startswith(f"{se}/_quarantine/raw_sequences/") for t in local_tables)
    relative = [n for n, _, _ in local]
    assert any(
        n.startswith("warehouse/nodes/SE/_quarantine/") and n.endswith("report.json")
        for n in relative
    )
    assert any("/_docs/gx/" in n and n.endswith(".html") for n in relative)
    assert any("/_docs/gx/" in n and n.endswith(".html") for n, _, _ in remote)
    assert any(n.startswith("warehouse/federation/exports/") for n in relative)


def test_no_secret_or_raw_id_in_the_dagster_instance_folder(net: Network) -> None:
    """The instance's own files: run and event storage (SQLite, read row by row and as bytes),
    schedules, compute logs."""
    files = list(_local_files(net.home / "dagster"))
    assert any(data[:16] == SQLITE for _, data, _ in files)
    scan = _scan(files, net)
    assert not scan.leaks, scan.leaks
    assert scan.controls == net.pseudonyms, "the event storage is read"
