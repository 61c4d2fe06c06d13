"""What every node asset opens first: its partition's node and tables; for ingest assets also
the landed batch and its pseudonyms."""

from dataclasses import dataclass
from functools import partial

import dagster as dg
import polars as pl

from gdi_pipelines.config.locations import Location
from gdi_pipelines.config.nodes import NodeConfig
from gdi_pipelines.defs.partitions import CountryBatch, country_batch
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.domain.manifest import Manifest, ManifestError, is_batch_id
from gdi_pipelines.domain.pseudonym import Redactor, pseudonymise
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.landing import batch_uri, read_manifest
from gdi_pipelines.storage.objectstore import ObjectStore, store_for
from gdi_pipelines.storage.publish import PartitionPublisher


@dataclass(frozen=True)
class PartitionScope:
    where: CountryBatch
    node: NodeConfig
    run_id: str

    def table(self, name: str) -> TableRef:
        return TableRef(self.node.warehouse.child(name))

    def upstream(self, name: str) -> pl.LazyFrame:
        """This partition's rows of one of the node's published tables."""
        return self.table(name).scan().filter(pl.col("batch_id") == self.where.batch_id)

    def docs(self, table: str) -> Location:
        return self.node.warehouse.child("_docs", "gx", table, f"batch_id={self.where.batch_id}")

    def publisher(
        self,
        table: str,
        schema: pl.Schema,
        partition_by: tuple[str, ...] = ("batch_id",),
        descriptions: dict[str, str] | None = None,
    ) -> PartitionPublisher:
        return PartitionPublisher(
            self.node.warehouse.child(table),
            self.node.warehouse,
            table,
            {"batch_id": self.where.batch_id},
            self.run_id,
            schema,
            partition_by=partition_by,
            descriptions=descriptions,
        )


@dataclass(frozen=True)
class BatchScope(PartitionScope):
    manifest: Manifest
    key: bytes
    pseudonyms: dict[str, str]  # manifest sample id -> pseudonym
    redact: Redactor  # national sample ids in free text -> pseudonyms

    @property
    def folder(self) -> str:
        return batch_uri(self.node, self.where.batch_id)

    @property
    def store(self) -> ObjectStore:
        return store_for(self.node.landing)

    def pseudonymiser(self):
        """A picklable sample id -> pseudonym function (for worker processes)."""
        return partial(pseudonymise, self.key, self.where.country)


def _own_node(
    context: dg.AssetExecutionContext, platform: PlatformResource
) -> tuple[CountryBatch, NodeConfig]:
    """The partition and its own country's node, nothing else. The batch id goes into paths
    (`{landing}/{batch}`, `batch_id={batch}`): a dynamic partition key such as `../DK/b001`
    would step into another node's landing zone, so only plain batch ids pass."""
    where = country_batch(context)
    if not is_batch_id(where.batch_id):
        raise dg.Failure(
            f"partition {where.batch_id!r} of {where.country}: not a batch id "
            "(letters, digits, '_', '.', '-'; at most 64)"
        )
    return where, platform.node(where.country)


def open_partition(context: dg.AssetExecutionContext, platform: PlatformResource) -> PartitionScope:
    where, node = _own_node(context, platform)
    return PartitionScope(where, node, context.run_id)


def open_batch(context: dg.AssetExecutionContext, platform: PlatformResource) -> BatchScope:
    where, node = _own_node(context, platform)
    try:
        manifest = read_manifest(node, where.batch_id)
    except ManifestError as exc:  # names the manifest and the field at fault: no traceback
        raise dg.Failure(description=f"{exc}. Nothing was published") from None
    key = platform.pseudonym_key(where.country)
    pseudonyms = {
        s.sample_id: pseudonymise(key, where.country, s.sample_id) for s in manifest.samples
    }
    redact = Redactor(pseudonyms)
    return BatchScope(where, node, context.run_id, manifest, key, pseudonyms, redact)
