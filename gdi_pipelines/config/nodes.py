"""National nodes are configuration: a default of four, more from `GDI_COUNTRIES` or a YAML file.

`GDI_NODES_FILE` (YAML) declares nodes with their own locations and credentials:

    nodes:
      SE: {name: Sweden}
      DK:
        landing_uri: s3://dk-landing/incoming
        warehouse_uri: s3://dk-warehouse/gdi
        credentials_prefix: GDI_DK_   # reads GDI_DK_AWS_ACCESS_KEY_ID, ... before AWS_...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pycountry
import yaml

from gdi_pipelines.config.errors import ConfigError
from gdi_pipelines.config.locations import Location, S3Credentials, join_uri, parse_root

DEFAULT_COUNTRIES = ("SE", "DK", "FI", "NO")
_NODE_KEYS = {"name", "landing_uri", "warehouse_uri", "credentials_prefix"}


@dataclass(frozen=True)
class NodeConfig:
    country: str
    name: str
    landing: Location  # {landing}/{COUNTRY} by default: batches are its sub-folders
    warehouse: Location  # {warehouse}/nodes/{COUNTRY} by default: the node's tables

    def table_uri(self, table: str) -> str:
        return join_uri(self.warehouse.uri, table)


def country_name(code: str, setting: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 and code.isupper() else None
    if found is None:
        raise ConfigError(f"{setting}: {code!r} is not an ISO 3166-1 alpha-2 country code")
    return found.name


def _location(uri: str, environ: Mapping[str, str], prefix: str) -> Location:
    s3 = S3Credentials.from_env(environ, prefix) if uri.startswith("s3://") else None
    return Location(uri, s3)


def load_nodes(
    environ: Mapping[str, str], landing_root: str, warehouse_root: str, base_dir: Path
) -> tuple[NodeConfig, ...]:
    """Nodes from `GDI_NODES_FILE`, else `GDI_COUNTRIES` (comma-separated), else the default."""
    declared: dict[str, dict] = {}
    nodes_file = environ.get("GDI_NODES_FILE", "").strip()
    if nodes_file:
        declared = _read_nodes_file(Path(nodes_file))
    else:
        countries = environ.get("GDI_COUNTRIES", "").strip()
        codes = [c.strip() for c in countries.split(",") if c.strip()] if countries else []
        declared = {code: {} for code in codes or DEFAULT_COUNTRIES}
    nodes = []
    for code, spec in declared.items():
        setting = f"GDI_NODES_FILE {nodes_file} node {code}" if nodes_file else "GDI_COUNTRIES"
        official = country_name(code, setting)
        name = spec.get("name") or official
        prefix = spec.get("credentials_prefix", "")
        landing = parse_root(
            spec.get("landing_uri") or join_uri(landing_root, code),
            f"{setting}.landing_uri",
            base_dir,
        )
        warehouse = parse_root(
            spec.get("warehouse_uri") or join_uri(warehouse_root, "nodes", code),
            f"{setting}.warehouse_uri",
            base_dir,
        )
        nodes.append(
            NodeConfig(
                country=code,
                name=name,
                landing=_location(landing, environ, prefix),
                warehouse=_location(warehouse, environ, prefix),
            )
        )
    if not nodes:
        raise ConfigError("GDI_COUNTRIES: no node configured")
    return tuple(nodes)


def _read_nodes_file(path: Path) -> dict[str, dict]:
    setting = f"GDI_NODES_FILE {path}"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{setting}: not valid YAML ({exc})".replace("\n", " ")) from exc
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, dict) or not nodes:
        raise ConfigError(f"{setting}: expected a mapping 'nodes:' of country code to settings")
    for code, spec in nodes.items():
        if spec is None:
            nodes[code] = {}
        elif not isinstance(spec, dict):
            raise ConfigError(f"{setting}: node {code}: expected a mapping of settings")
        elif unknown := set(spec) - _NODE_KEYS:
            raise ConfigError(f"{setting}: node {code}: unknown setting(s) {sorted(unknown)}")
    return {str(code): spec for code, spec in nodes.items()}
