"""`raw_sequences`: every landed sequencing file verified, measured and registered."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from gdi_pipelines.config.locations import join_uri
from gdi_pipelines.defs.batch import open_batch
from gdi_pipelines.defs.expectations import suite_checks, validate_staged
from gdi_pipelines.defs.gating import check_specs, gate_and_publish
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.retries import retry_transient_storage
from gdi_pipelines.domain.manifest import MANIFEST_NAME, FileEntry
from gdi_pipelines.domain.sequencing import SequenceFileError, gates, measure_sequencing_file
from gdi_pipelines.domain.sequencing.table import DESCRIPTIONS, SCHEMA
from gdi_pipelines.storage.objectstore import ObjectStore

TABLE = "raw_sequences"
MISSING = "missing: listed in the manifest but not landed"


class RawSequencesConfig(dg.Config):
    min_q30_fraction: float = 0.80
    min_mean_base_quality: float = 28.0


def measure_entry(
    store: ObjectStore, uri: str, entry: FileEntry, crypt4gh_seckey: bytes | None = None
) -> dict[str, object]:
    """One row: the file's checksum and read QC, or the reason it could not be measured.
    An encrypted entry (`encryption: crypt4gh`) is decrypted in memory with `crypt4gh_seckey`."""
    seckey = crypt4gh_seckey if entry.encryption is not None else None
    if entry.encryption is not None and seckey is None:
        raise ValueError("an encrypted entry needs crypt4gh_seckey")
    row: dict[str, object] = {"checksum_manifest": entry.sha256, "source_uri": uri}
    if not store.exists(uri):
        return row | {
            "problem": "missing: listed in the manifest but not landed",
            "checksum_ok": False,
        }
    try:
        with store.open_read(uri) as stream:
            measured = measure_sequencing_file(
                stream, uri, entry.format.value, crypt4gh_seckey=seckey
            )
    except SequenceFileError as exc:
        return row | {"problem": str(exc), "checksum_ok": False}
    stats = measured.stats
    ok = measured.sha256 == entry.sha256 and measured.size == entry.size
    return row | {
        "size_bytes": measured.size,
        "checksum_computed": measured.sha256,
        "checksum_ok": ok,
        "problem": None if ok else _mismatch(measured.sha256, measured.size, entry),
        "read_count": stats.read_count,
        "base_count": stats.base_count,
        "mean_base_quality": stats.mean_base_quality,
        "q30_fraction": stats.q30_fraction,
        "gc_fraction": stats.gc_fraction,
        "read_length_min": stats.read_length_min,
        "read_length_mean": stats.read_length_mean,
        "read_length_max": stats.read_length_max,
        "mapped_fraction": stats.mapped_fraction,
    }


def _mismatch(sha256: str, size: int, entry: FileEntry) -> str:
    return (
        f"checksum or size differs from the manifest (sha256 {sha256[:12]}.. vs "
        f"{entry.sha256[:12]}.., {size} vs {entry.size} bytes)"
    )


def build_sequencing_defs(partitions: dg.MultiPartitionsDefinition) -> dg.Definitions:
    @dg.asset(
        name=TABLE,
        partitions_def=partitions,
        group_name="sequencing",
        kinds={"delta", "polars", "fastq"},
        owners=["team:sequencing-platform"],
        check_specs=check_specs(TABLE, gates.CHECKS + suite_checks(TABLE)),
        description=(
            "One row per landed sequencing file: checksum verified against the manifest and read "
            "QC (counts, quality, GC, lengths). Published per country x batch partition only when "
            "every listed file is present and intact."
        ),
    )
    @retry_transient_storage
    def raw_sequences(
        context: dg.AssetExecutionContext, config: RawSequencesConfig, platform: PlatformResource
    ):
        batch = open_batch(context, platform)
        where, manifest, pseudonyms = batch.where, batch.manifest, batch.pseudonyms
        redact, folder, store = batch.redact, batch.folder, batch.store
        now = datetime.now(UTC)
        rows = []
        entries = gates.sequencing_entries(manifest)
        encrypted = any(e.encryption is not None for e in entries)
        seckey = platform.crypt4gh_seckey(where.country) if encrypted else None
        for entry in entries:
            uri = join_uri(folder, entry.path)
            row = measure_entry(store, uri, entry, seckey)
            row |= {
                "country": where.country,
                "batch_id": where.batch_id,
                "sample": pseudonyms[entry.sample_id],
                "file_name": redact(entry.path),
                "format": entry.format.value,
                "read": entry.read,
                "problem": redact(row.get("problem")),
                "source_uri": redact(uri),
                "ingested_at": now,
            }
            rows.append(row)
            outcome = row["problem"] or f"{row['read_count']} reads"
            context.log.info(f"{row['file_name']}: {outcome}")
        publisher = batch.publisher(TABLE, SCHEMA, descriptions=DESCRIPTIONS)
        publisher.stage(pl.DataFrame(rows, schema=SCHEMA))
        staged = publisher.staged().collect()
        landed = [redact(o.relative) for o in store.list(folder)]
        outcomes = [
            gates.files_intact(staged),
            gates.samples_sequenced(staged, [pseudonyms[s.sample_id] for s in manifest.samples]),
            gates.read_quality(staged, config.min_q30_fraction, config.min_mean_base_quality),
            *validate_staged(
                publisher.staged(),
                TABLE,
                {"expected_rows": len(gates.sequencing_entries(manifest))},
                batch.docs(TABLE),
                batch.run_id,
                context.log,
            ),
            gates.unlisted_files({redact(f.path) for f in manifest.files}, landed, MANIFEST_NAME),
        ]
        yield from gate_and_publish(
            context,
            publisher,
            outcomes,
            {"files": staged.height, "reads": int(staged["read_count"].sum() or 0)},
        )

    return dg.Definitions(assets=[raw_sequences])
