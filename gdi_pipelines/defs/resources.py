"""The platform resource: settings and node catalogue, swappable in tests."""

from __future__ import annotations

import os

import dagster as dg

from gdi_pipelines.config import Settings, load_settings
from gdi_pipelines.config.nodes import NodeConfig
from gdi_pipelines.config.settings import crypt4gh_seckey, pseudonym_key
from gdi_pipelines.storage.node_summaries import NodeSummaries

_FIELDS = {
    "home": "GDI_HOME",
    "landing_uri": "GDI_LANDING_URI",
    "warehouse_uri": "GDI_WAREHOUSE_URI",
    "reference_uri": "GDI_REFERENCE_URI",
    "countries": "GDI_COUNTRIES",
    "nodes_file": "GDI_NODES_FILE",
}


class PlatformResource(dg.ConfigurableResource):
    """Storage roots and national nodes. Unset fields fall back to the GDI_* environment."""

    home: str | None = None
    landing_uri: str | None = None
    warehouse_uri: str | None = None
    reference_uri: str | None = None
    countries: str | None = None
    nodes_file: str | None = None

    def _environ(self) -> dict[str, str]:
        env = dict(os.environ)
        for field, variable in _FIELDS.items():
            value = getattr(self, field)
            if value:
                env[variable] = value
        return env

    def settings(self) -> Settings:
        return load_settings(self._environ())

    def node(self, country: str) -> NodeConfig:
        return self.settings().node(country)

    def node_summaries(self) -> NodeSummaries:
        """What federation assets may read of the nodes: their summary tables only."""
        return NodeSummaries(self.settings().nodes)

    def pseudonym_key(self, country: str) -> bytes:
        return pseudonym_key(self.settings(), country, self._environ())

    def crypt4gh_seckey(self, country: str) -> bytes:
        """The node's Crypt4GH private key (a secret: never log it or put it in metadata)."""
        return crypt4gh_seckey(country, self._environ())


def platform_resource_from_env() -> PlatformResource:
    """The resource as deployed: every field an EnvVar when that variable is set."""
    kwargs = {f: dg.EnvVar(v) for f, v in _FIELDS.items() if os.environ.get(v)}
    return PlatformResource(**kwargs)
