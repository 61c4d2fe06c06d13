"""The local Dagster instance shared by `gdi demo`, `gdi materialize` and `make ui`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from gdi_pipelines.config import ConfigError, Settings

REPO_INSTANCE_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def local_instance(settings: Settings) -> dg.DagsterInstance:
    """DAGSTER_HOME (default {GDI_HOME}/dagster) holding the project's dagster.yaml."""
    home = Path(settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        if not REPO_INSTANCE_YAML.exists():
            raise ConfigError(f"DAGSTER_HOME: {target} is missing and no dagster.yaml ships here")
        shutil.copyfile(REPO_INSTANCE_YAML, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
