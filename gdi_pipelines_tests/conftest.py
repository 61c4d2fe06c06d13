"""Shared fixtures: every test runs against its own GDI_HOME, never the developer's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gdi_pipelines_tests.s3_server import S3Server, running_s3_server

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith(("GDI_", "AWS_")) or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    home = tmp_path / "gdi-home"
    monkeypatch.setenv("GDI_HOME", str(home))
    return home


@pytest.fixture
def gdi_home(isolated_environment: Path) -> Path:
    return isolated_environment


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    with running_s3_server() as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The AWS_* variables pointing at the loopback S3 server."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture(scope="session")
def federated(tmp_path_factory: pytest.TempPathFactory):
    """A synthetic three-country network run through every asset once (see federated_node)."""
    from gdi_pipelines_tests.defs.federated_node import federated_node

    return federated_node(tmp_path_factory)
