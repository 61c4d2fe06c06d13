"""Node isolation: no node's location may overlap another node's or the federation zone's
(refused when the settings are loaded), and a node asset only ever opens its own country's node,
whatever the partition key says."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from gdi_pipelines.config import ConfigError, load_settings
from gdi_pipelines.defs import batch as batch_module
from gdi_pipelines.defs.batch import open_batch, open_partition
from gdi_pipelines.defs.partitions import CountryBatch
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines_tests.defs.landing_fixtures import write_batch


def _load_nodes(tmp_path: Path, gdi_home: Path, nodes: str, **env: str):
    nodes_file = tmp_path / "nodes.yaml"
    nodes_file.write_text("nodes:\n" + nodes)
    return load_settings({"GDI_HOME": str(gdi_home), "GDI_NODES_FILE": str(nodes_file), **env})


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def test_default_locations_are_disjoint(gdi_home: Path):
    settings = load_settings({"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE,DK,FI,NO,EE"})
    zones = [(n.country, loc.uri) for n in settings.nodes for loc in (n.landing, n.warehouse)]
    zones.append(("federation", settings.federation.uri))
    for (a, uri_a), (b, uri_b) in itertools.combinations(zones, 2):
        assert a == b or not _overlap(uri_a, uri_b), (uri_a, uri_b)


@pytest.mark.parametrize(
    ("dk", "inner", "outer"),
    [
        ("warehouse_uri: s3://wh/se", "node SE warehouse s3://wh/se", "node DK warehouse"),
        ("warehouse_uri: s3://wh/se/dk", "node DK warehouse s3://wh/se/dk", "node SE warehouse"),
        ("warehouse_uri: s3://wh", "node SE warehouse s3://wh/se", "node DK warehouse"),
        ("landing_uri: s3://wh/se/in", "node DK landing s3://wh/se/in", "node SE warehouse"),
        ("landing_uri: s3://in/se", "node SE landing s3://in/se", "node DK landing"),
        ("warehouse_uri: s3://in/se/x", "node DK warehouse s3://in/se/x", "node SE landing"),
    ],
)
def test_a_node_inside_another_is_refused_naming_both(
    tmp_path: Path, gdi_home: Path, dk: str, inner: str, outer: str
):
    se = "  SE: {landing_uri: s3://in/se, warehouse_uri: s3://wh/se}\n"
    with pytest.raises(ConfigError) as err:
        _load_nodes(tmp_path, gdi_home, se + f"  DK: {{{dk}}}\n")
    message = str(err.value)
    assert message.startswith(f"GDI_NODES_FILE {tmp_path / 'nodes.yaml'}: {inner} "), message
    assert f" {outer} " in message
    assert "\n" not in message


def test_a_node_holding_or_inside_the_federation_zone_is_refused(tmp_path: Path, gdi_home: Path):
    warehouse = gdi_home / "warehouse"
    with pytest.raises(ConfigError, match=r"node DK warehouse .* lies inside the federation"):
        _load_nodes(
            tmp_path, gdi_home, f"  SE: {{}}\n  DK: {{warehouse_uri: {warehouse}/federation/dk}}\n"
        )
    with pytest.raises(ConfigError, match=r"the federation zone .* lies inside node DK warehouse"):
        _load_nodes(tmp_path, gdi_home, f"  DK: {{warehouse_uri: {warehouse}}}\n")
    shared = "s3://wh/gdi"
    with pytest.raises(ConfigError, match=r"is the same location as the federation zone"):
        _load_nodes(
            tmp_path,
            gdi_home,
            f"  DK: {{warehouse_uri: {shared}/federation}}\n",
            GDI_WAREHOUSE_URI=shared,
        )


def test_overlap_through_the_environment_names_the_variable(gdi_home: Path):
    """GDI_LANDING_URI inside SE's warehouse puts DK's landing zone into SE's tables."""
    env = {"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE,DK"}
    inside = str(gdi_home / "warehouse" / "nodes" / "SE")
    with pytest.raises(ConfigError) as err:
        load_settings({**env, "GDI_LANDING_URI": inside})
    assert str(err.value).startswith(f"GDI_LANDING_URI: node DK landing {inside}/DK lies inside")


def test_look_alike_prefixes_and_separate_buckets_are_not_overlaps(tmp_path: Path, gdi_home: Path):
    settings = _load_nodes(
        tmp_path,
        gdi_home,
        "  SE: {landing_uri: s3://gdi/se, warehouse_uri: s3://wh/se}\n"
        "  DK: {landing_uri: s3://gdi/se2, warehouse_uri: s3://wh/se-dk}\n"
        "  FI: {landing_uri: s3://gdi2/se, warehouse_uri: s3://wh2/se}\n"
        f"  EE: {{warehouse_uri: {gdi_home}/warehouse/nodes/SE-old}}\n",
    )
    assert settings.countries == ("SE", "DK", "FI", "EE")


def test_a_node_may_keep_its_own_landing_and_warehouse_together(tmp_path: Path, gdi_home: Path):
    settings = _load_nodes(
        tmp_path, gdi_home, "  SE: {}\n  DK: {landing_uri: s3://dk/in, warehouse_uri: s3://dk}\n"
    )
    assert settings.node("DK").landing.uri == "s3://dk/in"


def test_the_resource_checks_its_launch_time_overrides(gdi_home: Path):
    """Run config can set the platform resource's fields; an overlapping set is refused too."""
    inside = str(gdi_home / "warehouse" / "nodes" / "SE")
    platform = PlatformResource(home=str(gdi_home), countries="SE,DK", landing_uri=inside)
    with pytest.raises(ConfigError, match=r"^GDI_LANDING_URI: node DK landing"):
        platform.node("DK")


# ---------------------------------------------------------------------------------------------
# a node asset opens its partition's own node only


def _context(country: str, batch: str) -> SimpleNamespace:
    return SimpleNamespace(partition_key=CountryBatch(country, batch).key, run_id="r1")


@pytest.fixture
def two_nodes(gdi_home: Path, monkeypatch: pytest.MonkeyPatch) -> PlatformResource:
    monkeypatch.setenv("GDI_COUNTRIES", "SE,DK")
    monkeypatch.setenv("GDI_PSEUDONYM_KEY", "k" * 20)
    files = {"clinical/x.json": (b"{}", "clinical", "PHENOPACKET", {})}
    for country in ("SE", "DK"):
        folder = gdi_home / "landing" / country / "b001"
        write_batch(folder, country, "b001", [f"{country}-LAB-000001"], files)
    return PlatformResource()


@pytest.mark.parametrize("country", ["SE", "DK"])
def test_a_partition_opens_its_own_node(two_nodes: PlatformResource, country: str):
    settings = two_nodes.settings()
    scope = open_partition(_context(country, "b001"), two_nodes)
    assert scope.node == settings.node(country)
    assert scope.table("sample_qc").uri == settings.node(country).table_uri("sample_qc")
    batch = open_batch(_context(country, "b001"), two_nodes)
    assert batch.node == settings.node(country)
    assert batch.folder == f"{settings.node(country).landing.uri}/b001"
    assert batch.manifest.country == country


@pytest.mark.parametrize("batch", ["../DK/b001", "..", "b001/../../DK/b001", ".hidden"])
def test_a_batch_id_cannot_step_into_another_node(
    two_nodes: PlatformResource, batch: str, monkeypatch: pytest.MonkeyPatch
):
    """Dynamic partition keys are free text; `../DK/b001` for SE would read DK's landing zone."""
    opened = []
    real = batch_module.read_manifest
    monkeypatch.setattr(
        batch_module, "read_manifest", lambda node, b: opened.append(b) or real(node, b)
    )
    for open_scope in (open_partition, open_batch):
        with pytest.raises(dg.Failure, match="not a batch id"):
            open_scope(_context("SE", batch), two_nodes)
    assert not opened, "nothing was read"
