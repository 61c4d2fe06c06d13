"""The `raw_sequences` table: one row per landed sequencing file."""

from __future__ import annotations

import polars as pl

SCHEMA = pl.Schema(
    {
        "country": pl.String,
        "batch_id": pl.String,
        "sample": pl.String,
        "file_name": pl.String,
        "format": pl.String,
        "read": pl.Int8,
        "size_bytes": pl.Int64,
        "checksum_manifest": pl.String,
        "checksum_computed": pl.String,
        "checksum_ok": pl.Boolean,
        "read_count": pl.Int64,
        "base_count": pl.Int64,
        "mean_base_quality": pl.Float64,
        "q30_fraction": pl.Float64,
        "gc_fraction": pl.Float64,
        "read_length_min": pl.Int32,
        "read_length_mean": pl.Float64,
        "read_length_max": pl.Int32,
        "mapped_fraction": pl.Float64,
        "problem": pl.String,
        "ingested_at": pl.Datetime("us", "UTC"),
        "source_uri": pl.String,
    }
)

DESCRIPTIONS = {
    "country": "ISO 3166-1 alpha-2 code of the node",
    "batch_id": "landing batch (partition)",
    "sample": "keyed pseudonym of the sample (HMAC of the national sample id)",
    "file_name": "path of the file inside the batch folder",
    "format": "FASTQ, BAM or CRAM",
    "read": "1 or 2 for paired FASTQ, null otherwise",
    "size_bytes": "bytes as landed (compressed)",
    "checksum_manifest": "SHA-256 announced in the manifest",
    "checksum_computed": "SHA-256 of the bytes as read",
    "checksum_ok": "computed checksum and size equal the manifest's",
    "read_count": "reads (primary alignments for BAM/CRAM)",
    "base_count": "bases over all reads",
    "mean_base_quality": "arithmetic mean Phred quality over all bases",
    "q30_fraction": "share of bases with Phred >= 30",
    "gc_fraction": "share of G+C among all bases, N included (as seqkit GC%)",
    "read_length_min": "shortest read",
    "read_length_mean": "mean read length",
    "read_length_max": "longest read",
    "mapped_fraction": "share of primary reads mapped (BAM/CRAM only)",
    "problem": "why the file failed verification; always null in the published table",
    "ingested_at": "when the file was measured (UTC)",
    "source_uri": "where the file was read",
}
