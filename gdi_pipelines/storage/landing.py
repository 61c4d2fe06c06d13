"""The landing zone: `{landing}/{COUNTRY}/{BATCH}/manifest.json` plus the files it lists."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gdi_pipelines.config.locations import join_uri
from gdi_pipelines.config.nodes import NodeConfig
from gdi_pipelines.domain.manifest import MANIFEST_NAME, Manifest, ManifestError, parse_manifest
from gdi_pipelines.storage.objectstore import ObjectInfo, store_for


@dataclass(frozen=True)
class LandedBatch:
    country: str
    batch_id: str
    uri: str  # the batch folder
    complete: bool  # manifest present and every listed file there with its announced size
    missing: tuple[str, ...] = ()
    problem: str | None = None  # why the manifest can't be used, when it can't
    manifest_sha256: str | None = None  # changes when a batch is landed again


def batch_uri(node: NodeConfig, batch_id: str) -> str:
    return join_uri(node.landing.uri, batch_id)


def read_manifest(node: NodeConfig, batch_id: str) -> Manifest:
    return _load_manifest(node, batch_id)[0]


def _load_manifest(node: NodeConfig, batch_id: str) -> tuple[Manifest, str]:
    """The batch's validated manifest and the SHA-256 of its bytes."""
    uri = join_uri(batch_uri(node, batch_id), MANIFEST_NAME)
    store = store_for(node.landing)
    if not store.exists(uri):
        raise ManifestError(
            f"{uri}: no manifest: batch {batch_id} has not landed for {node.country}"
        )
    with store.open_read(uri) as stream:
        raw = stream.read()
    manifest = parse_manifest(raw, uri)
    if manifest.country != node.country or manifest.batch_id != batch_id:
        raise ManifestError(
            f"{uri}: manifest says {manifest.country}/{manifest.batch_id}, "
            f"but it lies in {node.country}/{batch_id}"
        )
    return manifest, hashlib.sha256(raw).hexdigest()


def discover_batches(node: NodeConfig) -> list[LandedBatch]:
    """Every batch folder of the node, with whether it is complete enough to process."""
    objects = store_for(node.landing).list(node.landing.uri)
    by_batch: dict[str, dict[str, ObjectInfo]] = {}
    for obj in objects:
        batch, _, rest = obj.relative.partition("/")
        if rest:
            by_batch.setdefault(batch, {})[rest] = obj
    found = []
    for batch_id, files in sorted(by_batch.items()):
        uri = batch_uri(node, batch_id)
        if MANIFEST_NAME not in files:
            found.append(LandedBatch(node.country, batch_id, uri, False, problem="no manifest yet"))
            continue
        try:
            manifest, digest = _load_manifest(node, batch_id)
        except ManifestError as exc:
            found.append(LandedBatch(node.country, batch_id, uri, False, problem=str(exc)))
            continue
        missing = tuple(
            f.path for f in manifest.files if f.path not in files or files[f.path].size != f.size
        )
        found.append(LandedBatch(node.country, batch_id, uri, not missing, missing, None, digest))
    return found
