"""Read, list and write objects under a Location, on local disk or S3, as streams."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from gdi_pipelines.config.locations import Location, S3Credentials, join_uri

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    relative: str  # path below the listed prefix, '/'-separated
    size: int


class ObjectStore(Protocol):
    def list(self, prefix_uri: str) -> list[ObjectInfo]: ...
    def open_read(self, uri: str) -> BinaryIO: ...
    def exists(self, uri: str) -> bool: ...
    def write_bytes(self, uri: str, data: bytes) -> None: ...
    def upload_tree(self, local_dir: Path, uri: str) -> int: ...
    def delete_prefix(self, prefix_uri: str) -> None: ...
    def move(self, src_uri: str, dst_uri: str) -> None: ...
    def move_prefix(self, src_uri: str, dst_uri: str) -> None: ...


class LocalStore:
    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        root = Path(prefix_uri)
        if not root.is_dir():
            return []
        return [
            ObjectInfo(str(p), p.relative_to(root).as_posix(), p.stat().st_size)
            for p in sorted(root.rglob("*"))
            if p.is_file()
        ]

    def open_read(self, uri: str) -> BinaryIO:
        return open(uri, "rb")  # the caller closes the stream

    def exists(self, uri: str) -> bool:
        return Path(uri).exists()

    def write_bytes(self, uri: str, data: bytes) -> None:
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def upload_tree(self, local_dir: Path, uri: str) -> int:
        if Path(uri).resolve() == local_dir.resolve():
            return sum(1 for p in local_dir.rglob("*") if p.is_file())
        shutil.copytree(local_dir, uri, dirs_exist_ok=True)
        return sum(1 for p in local_dir.rglob("*") if p.is_file())

    def delete_prefix(self, prefix_uri: str) -> None:
        if Path(prefix_uri).exists():
            shutil.rmtree(prefix_uri)

    def move(self, src_uri: str, dst_uri: str) -> None:
        """A rename on the same file system (the bytes stay where they are), else a copy."""
        Path(dst_uri).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src_uri, dst_uri)

    def move_prefix(self, src_uri: str, dst_uri: str) -> None:
        self.move(src_uri, dst_uri)


class S3Store:
    def __init__(self, credentials: S3Credentials | None):
        import boto3  # lazily: boto3 import costs time in processes that never touch S3
        from botocore.config import Config

        creds = credentials or S3Credentials()
        self._client = boto3.client(
            "s3",
            endpoint_url=creds.endpoint_url,
            region_name=creds.region or "us-east-1",
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        parsed = urlparse(uri)
        return parsed.netloc, parsed.path.lstrip("/")

    def list(self, prefix_uri: str) -> list[ObjectInfo]:
        bucket, key = self._split(prefix_uri)
        prefix = f"{key.rstrip('/')}/" if key else ""
        found = []
        for page in self._client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix) :]
                found.append(ObjectInfo(f"s3://{bucket}/{obj['Key']}", rel, obj["Size"]))
        return sorted(found, key=lambda o: o.relative)

    def open_read(self, uri: str) -> BinaryIO:
        bucket, key = self._split(uri)
        return self._client.get_object(Bucket=bucket, Key=key)["Body"]

    def exists(self, uri: str) -> bool:
        from botocore.exceptions import ClientError

        bucket, key = self._split(uri)
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def write_bytes(self, uri: str, data: bytes) -> None:
        bucket, key = self._split(uri)
        self._client.put_object(Bucket=bucket, Key=key, Body=data)

    def upload_tree(self, local_dir: Path, uri: str) -> int:
        bucket, key = self._split(uri)
        files = sorted(p for p in local_dir.rglob("*") if p.is_file())
        # manifests last: a batch is visible as complete only once all its files are there
        files.sort(key=lambda p: p.name == "manifest.json")
        for path in files:
            rel = path.relative_to(local_dir).as_posix()
            self._client.upload_file(str(path), bucket, join_uri(key, rel) if key else rel)
        return len(files)

    def delete_prefix(self, prefix_uri: str) -> None:
        bucket, _ = self._split(prefix_uri)
        objects = [{"Key": self._split(o.uri)[1]} for o in self.list(prefix_uri)]
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            self._client.delete_objects(Bucket=bucket, Delete={"Objects": batch})

    def move(self, src_uri: str, dst_uri: str) -> None:
        """A server-side copy (one request: objects up to 5 GB), then the source deleted."""
        src_bucket, src_key = self._split(src_uri)
        dst_bucket, dst_key = self._split(dst_uri)
        source = {"Bucket": src_bucket, "Key": src_key}
        self._client.copy_object(Bucket=dst_bucket, Key=dst_key, CopySource=source)
        self._client.delete_object(Bucket=src_bucket, Key=src_key)

    def move_prefix(self, src_uri: str, dst_uri: str) -> None:
        dst_bucket, dst_key = self._split(dst_uri)
        for obj in self.list(src_uri):
            src_bucket, src_key = self._split(obj.uri)
            self._client.copy_object(
                Bucket=dst_bucket,
                Key=join_uri(dst_key, obj.relative),
                CopySource={"Bucket": src_bucket, "Key": src_key},
            )
        self.delete_prefix(src_uri)


def store_for(location: Location) -> ObjectStore:
    return S3Store(location.s3) if location.is_s3 else LocalStore()


def iter_chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
