from __future__ import annotations

import os
from pathlib import Path

import pytest

from gdi_pipelines.config import ConfigError, load_settings
from gdi_pipelines.config.settings import pseudonym_key


def test_defaults_follow_gdi_home(gdi_home: Path):
    settings = load_settings()
    assert settings.countries == ("SE", "DK", "FI", "NO")
    assert settings.landing.uri == str(gdi_home / "landing")
    assert settings.warehouse.uri == str(gdi_home / "warehouse")
    assert settings.dagster_home == str(gdi_home / "dagster")
    se = settings.node("SE")
    assert se.name == "Sweden"
    assert se.landing.uri == str(gdi_home / "landing" / "SE")
    assert se.table_uri("raw_sequences") == str(gdi_home / "warehouse/nodes/SE/raw_sequences")
    assert settings.federation_table_uri("x") == str(gdi_home / "warehouse/federation/x")


def test_relative_home_is_resolved_against_base(tmp_path: Path):
    settings = load_settings({"GDI_HOME": "rel/home"}, base_dir=tmp_path)
    assert settings.home == str(tmp_path / "rel" / "home")


def test_more_countries_by_environment(gdi_home: Path):
    settings = load_settings({"GDI_HOME": str(gdi_home), "GDI_COUNTRIES": "SE, EE,LT"})
    assert settings.countries == ("SE", "EE", "LT")
    assert settings.node("EE").name == "Estonia"


def test_s3_roots_take_the_usual_aws_variables(gdi_home: Path):
    env = {
        "GDI_HOME": str(gdi_home),
        "GDI_WAREHOUSE_URI": "s3://wh/gdi/",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "topsecret",
    }
    settings = load_settings(env)
    assert settings.warehouse.uri == "s3://wh/gdi"
    assert settings.node("DK").warehouse.uri == "s3://wh/gdi/nodes/DK"
    assert settings.node("DK").warehouse.s3.endpoint_url == "http://127.0.0.1:9"
    assert "topsecret" not in repr(settings)


def test_nodes_file_declares_own_locations_and_credentials(tmp_path: Path, gdi_home: Path):
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(
        "nodes:\n"
        "  SE: {name: Sverige}\n"
        "  DK:\n"
        "    landing_uri: s3://dk-landing/in\n"
        "    warehouse_uri: s3://dk-wh/gdi\n"
        "    credentials_prefix: GDI_DK_\n"
    )
    env = {
        "GDI_HOME": str(gdi_home),
        "GDI_NODES_FILE": str(nodes),
        "AWS_ACCESS_KEY_ID": "shared",
        "GDI_DK_AWS_ACCESS_KEY_ID": "danish",
    }
    settings = load_settings(env)
    assert settings.countries == ("SE", "DK")
    assert settings.node("SE").name == "Sverige"
    dk = settings.node("DK")
    assert dk.landing.uri == "s3://dk-landing/in"
    assert dk.landing.s3.access_key_id == "danish"


@pytest.mark.parametrize(
    ("env", "setting", "reason"),
    [
        ({"GDI_COUNTRIES": "SE,XX"}, "GDI_COUNTRIES", "'XX' is not an ISO 3166-1"),
        ({"GDI_COUNTRIES": "se"}, "GDI_COUNTRIES", "'se' is not an ISO 3166-1"),
        ({"GDI_WAREHOUSE_URI": "ftp://host/x"}, "GDI_WAREHOUSE_URI", "scheme 'ftp'"),
        ({"GDI_LANDING_URI": "s3://"}, "GDI_LANDING_URI", "names no bucket"),
        ({"GDI_HOME": "s3://bucket/home"}, "GDI_HOME", "must be a local folder"),
        ({"GDI_NODES_FILE": "/nonexistent/nodes.yaml"}, "GDI_NODES_FILE", "cannot be read"),
    ],
)
def test_misconfiguration_names_the_setting(env: dict, setting: str, reason: str, gdi_home: Path):
    with pytest.raises(ConfigError) as err:
        load_settings({"GDI_HOME": str(gdi_home), **env})
    message = str(err.value)
    assert message.startswith(setting), message
    assert reason in message
    assert "\n" not in message


def test_unwritable_root_is_refused(tmp_path: Path, gdi_home: Path):
    if os.geteuid() == 0:
        # root may write anywhere; a regular file in the way is refused for everyone
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = str(blocker / "warehouse")
        expected = "is not a folder"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target, expected = str(locked / "warehouse"), "not readable and writable"
    with pytest.raises(ConfigError, match=f"^GDI_WAREHOUSE_URI: .*{expected}"):
        load_settings({"GDI_HOME": str(gdi_home), "GDI_WAREHOUSE_URI": target})


def test_nodes_file_rejects_unknown_settings(tmp_path: Path, gdi_home: Path):
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("nodes:\n  SE: {warehouse: /x}\n")
    with pytest.raises(ConfigError, match=r"node SE: unknown setting\(s\) \['warehouse'\]"):
        load_settings({"GDI_HOME": str(gdi_home), "GDI_NODES_FILE": str(nodes)})


def test_pseudonym_key_sources(tmp_path: Path, gdi_home: Path):
    settings = load_settings({"GDI_HOME": str(gdi_home)})
    with pytest.raises(ConfigError, match=r"^GDI_PSEUDONYM_KEY_FILE: no key for node SE"):
        pseudonym_key(settings, "SE", {})
    assert pseudonym_key(settings, "SE", {"GDI_PSEUDONYM_KEY": "k" * 20}) == b"k" * 20
    per_node = {"GDI_PSEUDONYM_KEY": "k" * 20, "GDI_PSEUDONYM_KEY_SE": "s" * 20}
    assert pseudonym_key(settings, "SE", per_node) == b"s" * 20
    with pytest.raises(ConfigError, match=r"^GDI_PSEUDONYM_KEY: .*16 characters"):
        pseudonym_key(settings, "SE", {"GDI_PSEUDONYM_KEY": "short"})
    key_file = tmp_path / "key"
    key_file.write_text("f" * 32 + "\n")
    assert pseudonym_key(settings, "DK", {"GDI_PSEUDONYM_KEY_FILE": str(key_file)}) == b"f" * 32
