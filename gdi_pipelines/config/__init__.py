"""Platform settings: storage roots, national nodes, secrets, read from the environment."""

from gdi_pipelines.config.errors import ConfigError
from gdi_pipelines.config.nodes import NodeConfig, load_nodes
from gdi_pipelines.config.settings import Settings, load_settings

__all__ = ["ConfigError", "NodeConfig", "Settings", "load_nodes", "load_settings"]
