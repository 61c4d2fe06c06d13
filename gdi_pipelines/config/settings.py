"""The platform's settings, read from an environment mapping (never at import time).

The variables, their defaults and meaning are documented in the README ("Configuration").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gdi_pipelines.config.errors import ConfigError
from gdi_pipelines.config.locations import (
    Location,
    S3Credentials,
    check_local_root,
    join_uri,
    parse_root,
)
from gdi_pipelines.config.nodes import NodeConfig, load_nodes

EXECUTORS = ("in_process", "multiprocess", "k8s")


@dataclass(frozen=True)
class Settings:
    home: str
    landing: Location
    warehouse: Location
    reference: Location
    dagster_home: str
    nodes: tuple[NodeConfig, ...]
    executor: str = "multiprocess"  # GDI_EXECUTOR: in_process, multiprocess or k8s

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(n.country for n in self.nodes)

    def node(self, country: str) -> NodeConfig:
        for node in self.nodes:
            if node.country == country:
                return node
        raise ConfigError(f"GDI_COUNTRIES: {country!r} is not a configured node ({self.countries})")

    @property
    def federation(self) -> Location:
        """The shared zone: only safe, pooled figures live here."""
        return self.warehouse.child("federation")

    def federation_table_uri(self, table: str) -> str:
        return join_uri(self.warehouse.uri, "federation", table)

    @property
    def default_key_file(self) -> Path:
        return Path(self.home) / "secrets" / "pseudonym.key"


def _root(environ: Mapping[str, str], name: str, default: str, base: Path) -> Location:
    uri = parse_root(environ.get(name) or default, name, base)
    if uri.startswith("s3://"):
        return Location(uri, S3Credentials.from_env(environ))
    check_local_root(uri, name)
    return Location(uri)


def load_settings(
    environ: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> Settings:
    """Validate every setting; a bad one raises ConfigError naming it, in one line."""
    env = os.environ if environ is None else environ
    base = base_dir or Path.cwd()
    home = parse_root(env.get("GDI_HOME") or ".gdi", "GDI_HOME", base)
    if home.startswith("s3://"):
        raise ConfigError("GDI_HOME: must be a local folder; put S3 in GDI_*_URI instead")
    check_local_root(home, "GDI_HOME")
    landing = _root(env, "GDI_LANDING_URI", join_uri(home, "landing"), base)
    warehouse = _root(env, "GDI_WAREHOUSE_URI", join_uri(home, "warehouse"), base)
    reference = _root(env, "GDI_REFERENCE_URI", join_uri(home, "reference"), base)
    dagster_home = parse_root(
        env.get("DAGSTER_HOME") or join_uri(home, "dagster"), "DAGSTER_HOME", base
    )
    if dagster_home.startswith("s3://"):
        raise ConfigError("DAGSTER_HOME: must be a local folder")
    nodes = load_nodes(env, landing.uri, warehouse.uri, base)
    for node in nodes:
        for loc, what in ((node.landing, "landing_uri"), (node.warehouse, "warehouse_uri")):
            if not loc.is_s3:
                check_local_root(loc.uri, f"node {node.country} {what}")
    federation = warehouse.child("federation")
    check_isolation(nodes, federation, env)
    executor = env.get("GDI_EXECUTOR") or "multiprocess"
    if executor not in EXECUTORS:
        raise ConfigError(f"GDI_EXECUTOR: {executor!r} is not one of {', '.join(EXECUTORS)}")
    return Settings(home, landing, warehouse, reference, dagster_home, nodes, executor)


def _inside(inner: str, outer: str) -> bool:
    """`inner` is `outer` or below it (whole path segments: `s3://b/se2` is not in `s3://b/se`)."""
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def check_isolation(
    nodes: tuple[NodeConfig, ...], federation: Location, environ: Mapping[str, str]
) -> None:
    """No node's landing zone or warehouse may equal, lie inside or contain another node's
    landing zone or warehouse, or the federation zone: what a node's resources build from
    their own locations can then never address another node's (or the shared) objects."""
    zones = [
        (node.country, f"node {node.country} {what}", loc.uri)
        for node in nodes
        for what, loc in (("landing", node.landing), ("warehouse", node.warehouse))
    ]
    zones.append(("", "the federation zone", federation.uri))
    for i, (owner, name, uri) in enumerate(zones):
        for other, other_name, other_uri in zones[i + 1 :]:
            if owner == other or not (_inside(uri, other_uri) or _inside(other_uri, uri)):
                continue
            if not _inside(uri, other_uri):  # name the inner location first
                name, uri, other_name, other_uri = other_name, other_uri, name, uri
            nodes_file = environ.get("GDI_NODES_FILE", "").strip()
            setting = f"GDI_NODES_FILE {nodes_file}" if nodes_file else "GDI_WAREHOUSE_URI"
            if not nodes_file and name.endswith("landing"):
                setting = "GDI_LANDING_URI"
            how = "is the same location as" if uri == other_uri else "lies inside"
            raise ConfigError(
                f"{setting}: {name} {uri} {how} {other_name} {other_uri}; "
                "every node needs its own locations"
            )


def pseudonym_key(settings: Settings, country: str, environ: Mapping[str, str]) -> bytes:
    """The node's HMAC key: GDI_PSEUDONYM_KEY_{CC}, GDI_PSEUDONYM_KEY, or a key file."""
    for name in (f"GDI_PSEUDONYM_KEY_{country}", "GDI_PSEUDONYM_KEY"):
        if value := environ.get(name, ""):
            if len(value) < 16:
                raise ConfigError(f"{name}: a pseudonymisation key needs at least 16 characters")
            return value.encode()
    key_file = Path(environ.get("GDI_PSEUDONYM_KEY_FILE") or settings.default_key_file)
    try:
        key = key_file.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(
            f"GDI_PSEUDONYM_KEY_FILE: no key for node {country}: {key_file} cannot be read "
            f"({exc.strerror}); set GDI_PSEUDONYM_KEY_{country} or GDI_PSEUDONYM_KEY"
        ) from exc
    if len(key) < 16:
        raise ConfigError(f"GDI_PSEUDONYM_KEY_FILE: {key_file} holds a key shorter than 16 bytes")
    return key


def crypt4gh_seckey(country: str, environ: Mapping[str, str]) -> bytes:
    """The node's Crypt4GH private key: GDI_CRYPT4GH_SECKEY_FILE_{CC} or
    GDI_CRYPT4GH_SECKEY_FILE, opened with GDI_CRYPT4GH_PASSPHRASE_{CC} or
    GDI_CRYPT4GH_PASSPHRASE when it has one. Needed only once encrypted files land."""
    from gdi_pipelines.domain.sequencing.crypt4gh_stream import load_private_key  # heavy

    names = (f"GDI_CRYPT4GH_SECKEY_FILE_{country}", "GDI_CRYPT4GH_SECKEY_FILE")
    name = next((n for n in names if environ.get(n)), None)
    if name is None:
        raise ConfigError(
            f"GDI_CRYPT4GH_SECKEY_FILE: node {country} has Crypt4GH-encrypted files to read but "
            f"no private key; set GDI_CRYPT4GH_SECKEY_FILE_{country} or GDI_CRYPT4GH_SECKEY_FILE"
        )
    passphrase = (
        environ.get(f"GDI_CRYPT4GH_PASSPHRASE_{country}")
        or environ.get("GDI_CRYPT4GH_PASSPHRASE")
        or None
    )
    try:
        return load_private_key(environ[name], passphrase)
    except ValueError as exc:
        hint = " (GDI_CRYPT4GH_PASSPHRASE)" if "passphrase" in str(exc) else ""
        raise ConfigError(f"{name}: {environ[name]}: {exc}{hint}") from None
