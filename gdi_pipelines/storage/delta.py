"""Delta tables on local disk or S3: storage options, versions, partition replacement."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from gdi_pipelines.config.locations import Location


def storage_options(location: Location) -> dict[str, str] | None:
    """deltalake's options for S3 (conditional-put commits, no lock table needed)."""
    if not location.is_s3 or location.s3 is None:
        return None
    creds = location.s3
    opts = {"AWS_REGION": creds.region or "us-east-1"}
    if creds.endpoint_url:
        opts["AWS_ENDPOINT_URL"] = creds.endpoint_url
        if creds.endpoint_url.startswith("http://"):
            opts["AWS_ALLOW_HTTP"] = "true"
    if creds.access_key_id:
        opts["AWS_ACCESS_KEY_ID"] = creds.access_key_id
    if creds.secret_access_key:
        opts["AWS_SECRET_ACCESS_KEY"] = creds.secret_access_key
    if creds.session_token:
        opts["AWS_SESSION_TOKEN"] = creds.session_token
    return opts


@dataclass(frozen=True)
class TableRef:
    """A Delta table: where it is and how to reach it."""

    location: Location

    @property
    def uri(self) -> str:
        return self.location.uri

    @property
    def options(self) -> dict[str, str] | None:
        return storage_options(self.location)

    def version(self) -> int | None:
        """The current version, or None when the table does not exist yet."""
        try:
            return DeltaTable(self.uri, storage_options=self.options).version()
        except TableNotFoundError:
            return None

    def scan(self, version: int | None = None) -> pl.LazyFrame:
        return pl.scan_delta(self.uri, version=version, storage_options=self.options)

    def read(self, version: int | None = None) -> pl.DataFrame:
        return pl.read_delta(self.uri, version=version, storage_options=self.options)


def sql_predicate(partition: dict[str, str]) -> str:
    """`a = 'x' AND b = 'y'` for a partition's values (quotes escaped)."""
    parts = []
    for column, value in sorted(partition.items()):
        escaped = str(value).replace("'", "''")
        parts.append(f"{column} = '{escaped}'")
    return " AND ".join(parts)
