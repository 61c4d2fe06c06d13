"""Storage roots: a local folder or an `s3://bucket/prefix` URI, and how to reach it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from gdi_pipelines.config.errors import ConfigError

_S3_ENV = {
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "access_key_id": ("AWS_ACCESS_KEY_ID",),
    "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "session_token": ("AWS_SESSION_TOKEN",),
}


@dataclass(frozen=True)
class S3Credentials:
    """Where and as whom to reach S3. Secrets are kept out of repr and never logged."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], prefix: str = "") -> S3Credentials:
        """The usual AWS variables; with `prefix` (e.g. `GDI_SE_`), `{prefix}AWS_...` wins."""
        values: dict[str, str | None] = {}
        for attr, names in _S3_ENV.items():
            found = None
            for name in names:
                found = environ.get(f"{prefix}{name}") if prefix else None
                found = found or environ.get(name)
                if found:
                    break
            values[attr] = found or None
        return cls(**values)


@dataclass(frozen=True)
class Location:
    """A storage root: an absolute local path or `s3://bucket[/prefix]`, no trailing '/'."""

    uri: str
    s3: S3Credentials | None = None

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    def child(self, *parts: str) -> Location:
        return Location(join_uri(self.uri, *parts), self.s3)


def join_uri(base: str, *parts: str) -> str:
    cleaned = [p.strip("/") for p in parts if p and p.strip("/")]
    return "/".join([base.rstrip("/"), *cleaned]) if cleaned else base.rstrip("/")


def parse_root(value: str, setting: str, base_dir: Path | None = None) -> str:
    """Validate a root setting and return its canonical URI (local paths made absolute)."""
    value = value.strip()
    if not value:
        raise ConfigError(f"{setting}: empty; give a local folder or an s3://bucket/prefix URI")
    parsed = urlparse(value)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigError(f"{setting}: {value!r} names no bucket (expected s3://bucket/prefix)")
        return value.rstrip("/")
    if parsed.scheme in ("", "file"):
        raw = parsed.path if parsed.scheme == "file" else value
        path = Path(os.path.expanduser(raw))
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return str(path.resolve())
    raise ConfigError(
        f"{setting}: {value!r} uses scheme {parsed.scheme!r}; "
        "only local paths and s3:// are supported"
    )


def check_local_root(uri: str, setting: str) -> None:
    """A local root must be a readable, writable folder or creatable under one."""
    path = Path(uri)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{setting}: {probe} exists and is not a folder")
    if not os.access(probe, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(f"{setting}: {probe} is not readable and writable by this user")
