"""Create the S3 buckets the node's settings name (landing and warehouse, every node), if missing.

The compose stack's `minio-init` job runs this once MinIO answers; on a real node the buckets
are usually provisioned elsewhere, and it can be run to check that they are reachable. It reads
the same environment as the code location (GDI_*, AWS_*, {credentials_prefix}AWS_*).
"""

from __future__ import annotations

import sys
import time
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from gdi_pipelines.config import ConfigError, load_settings
from gdi_pipelines.config.locations import Location


def _client(location: Location):
    creds = location.s3
    return boto3.client(
        "s3",
        endpoint_url=creds.endpoint_url,
        region_name=creds.region or "us-east-1",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
    )


def _buckets() -> dict[str, Location]:
    settings = load_settings()
    roots = [settings.landing, settings.warehouse]
    roots += [loc for node in settings.nodes for loc in (node.landing, node.warehouse)]
    return {urlparse(loc.uri).netloc: loc for loc in roots if loc.is_s3}


def create_buckets(wait_seconds: float = 120) -> list[str]:
    """Create every missing bucket; return the names of those created."""
    created = []
    for bucket, location in sorted(_buckets().items()):
        client = _client(location)
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                client.head_bucket(Bucket=bucket)
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
                    client.create_bucket(Bucket=bucket)
                    created.append(bucket)
                    break
                if time.monotonic() > deadline:
                    raise
            except BotoCoreError:  # not reachable yet
                if time.monotonic() > deadline:
                    raise
            time.sleep(2)  # the object store is still starting
    return created


def main() -> int:
    try:
        created = create_buckets()
    except ConfigError as exc:
        print(f"create_buckets: configuration error: {exc}", file=sys.stderr)
        return 2
    print("created: " + (", ".join(created) if created else "nothing (all buckets exist)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
