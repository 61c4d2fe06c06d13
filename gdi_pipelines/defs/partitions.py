"""Country (static, from the node configuration) x batch (dynamic, named `batches`)."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

BATCHES = dg.DynamicPartitionsDefinition(name="batches")


def country_batch_partitions(countries: tuple[str, ...]) -> dg.MultiPartitionsDefinition:
    # Dagster orders dimensions by name: keys read "batch|country", e.g. "b001|SE".
    return dg.MultiPartitionsDefinition(
        {"country": dg.StaticPartitionsDefinition(list(countries)), "batch": BATCHES}
    )


@dataclass(frozen=True)
class CountryBatch:
    country: str
    batch_id: str

    @property
    def key(self) -> dg.MultiPartitionKey:
        return dg.MultiPartitionKey({"country": self.country, "batch": self.batch_id})


def country_batch(context: dg.AssetExecutionContext) -> CountryBatch:
    keys = context.partition_key.keys_by_dimension
    return CountryBatch(country=keys["country"], batch_id=keys["batch"])
