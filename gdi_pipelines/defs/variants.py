"""`harmonised_variants`: every country's VCF on GRCh38, one representation, one key."""

import collections
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl

from gdi_pipelines.config.locations import join_uri
from gdi_pipelines.defs.batch import open_batch
from gdi_pipelines.defs.expectations import suite_checks, validate_staged
from gdi_pipelines.defs.gating import check_specs, gate_and_publish
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.retries import retry_transient_storage
from gdi_pipelines.domain.manifest import FileEntry, FileKind, Manifest
from gdi_pipelines.domain.quality import CheckOutcome, Severity
from gdi_pipelines.domain.variants import gates
from gdi_pipelines.domain.variants.genotype_qc import CallThresholds
from gdi_pipelines.domain.variants.harmonise import (
    CALL_PARTITION_BY,
    CALL_SCHEMA,
    REJECT_SCHEMA,
    SAMPLE_SCHEMA,
    SITE_SCHEMA,
    HarmoniseConfig,
    combine_samples,
    harmonise_vcf,
)
from gdi_pipelines.domain.variants.parallel import harmonise_by_region
from gdi_pipelines.domain.variants.records import (
    VcfFormatError,
    check_column_counts,
    vcf_samples,
)
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines.domain.variants.vcf_text import text_vcf_tags
from gdi_pipelines.storage.background import BackgroundStager
from gdi_pipelines.storage.objectstore import ObjectStore, iter_chunks
from gdi_pipelines.storage.reference_catalogue import load_catalogue

TABLE = "harmonised_variants"
REJECTS_TABLE = "variant_rejects"
SAMPLES_TABLE = "variant_samples"
SITES_TABLE = "variant_sites"
TARGET_BUILD = "GRCh38"
PARALLEL_FROM_BYTES = 64 * 1024 * 1024
VCF_INTACT = "vcf_present_and_intact"
CHECKS = (
    (VCF_INTACT, Severity.ERROR, "the batch's VCF landed with its checksum"),
    *gates.CHECKS,
    *suite_checks(TABLE),
)

_KEYS = {"country": pl.String, "batch_id": pl.String}
SCHEMA = pl.Schema({**_KEYS, **CALL_SCHEMA})
REJECTS_SCHEMA = pl.Schema({**_KEYS, **REJECT_SCHEMA})
SAMPLES_SCHEMA = pl.Schema({**_KEYS, **SAMPLE_SCHEMA})
SITES_SCHEMA = pl.Schema({**_KEYS, **SITE_SCHEMA})
DESCRIPTIONS = {
    "sample": "keyed pseudonym of the sample",
    "chrom": "GRCh38 contig, canonical name (chr1..chr22, chrX, chrY, chrM)",
    "pos": "1-based GRCh38 position of the left-aligned, bi-allelic variant",
    "variant_id": "chrom-pos-ref-alt: the same key in every country",
    "dosage": "ALT alleles carried (0/1/2; 1 for hemizygous); null = no-call. "
    "Homozygous-reference calls are implied: not stored",
    "ploidy": "1 for haploid calls (male chrX/chrY outside PARs, chrM), else 2",
    "gq": "genotype quality (calls with GQ below the threshold are no-calls)",
    "dp": "read depth (calls with DP below the threshold are no-calls)",
    "filter_pass": "FILTER was PASS or '.'",
    "source_build": "build of the country's VCF",
    "source_chrom": "CHROM as in the country's VCF",
    "source_pos": "POS as in the country's VCF",
    "source_ref": "REF as in the country's VCF",
    "source_alt": "this row's ALT as in the country's VCF",
}


class VariantsConfig(dg.Config):
    min_gq: int = 20
    min_dp: int = 10
    reject_rate_ceiling: float = 0.2
    no_call_rate_ceiling: float = 0.1
    chunk_size: int = 2500
    # worker processes for region shards of an indexed VCF (read through htslib); 0 = every CPU
    # for a VCF over PARALLEL_FROM_BYTES that the text decoder cannot read (BCF, say), else one
    # process, whose reading and staging threads use a second core
    processes: int = 0


@contextmanager
def local_vcf(store: ObjectStore, folder: str, entry: FileEntry, index: FileEntry | None):
    """A local path to the VCF (and its index) plus the VCF's SHA-256 and size. Local landing
    zones are read in place; S3 objects are copied to a temporary folder while hashing."""
    uri = join_uri(folder, entry.path)
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryDirectory(prefix="gdi-vcf-") as tmp:
        remote = uri.startswith("s3://")
        target = Path(tmp) / Path(entry.path).name if remote else Path(uri)
        with store.open_read(uri) as stream, _sink(target if remote else None) as sink:
            for chunk in iter_chunks(stream):
                digest.update(chunk)
                size += len(chunk)
                sink(chunk)
        if remote and index is not None:
            index_copy = Path(tmp) / Path(index.path).name
            with (
                store.open_read(join_uri(folder, index.path)) as src,
                open(index_copy, "wb") as dst,
            ):
                shutil.copyfileobj(src, dst)
        yield target, digest.hexdigest(), size


@contextmanager
def _sink(path: Path | None):
    if path is None:
        yield lambda chunk: None
        return
    with open(path, "wb") as out:
        yield out.write


def _with_keys(frame: pl.DataFrame, country: str, batch: str) -> pl.DataFrame:
    return frame.with_columns(country=pl.lit(country), batch_id=pl.lit(batch))


def _vcf_entries(manifest: Manifest) -> tuple[FileEntry, FileEntry | None]:
    vcfs = manifest.files_of(FileKind.VARIANTS)
    if len(vcfs) != 1:
        raise dg.Failure(f"batch {manifest.batch_id}: expected one VCF, manifest lists {len(vcfs)}")
    indexes = [f for f in manifest.files_of(FileKind.INDEX) if f.path.startswith(vcfs[0].path)]
    return vcfs[0], indexes[0] if indexes else None


def build_variants_defs(partitions: dg.MultiPartitionsDefinition) -> dg.Definitions:
    @dg.asset(
        name=TABLE,
        partitions_def=partitions,
        group_name="variants",
        kinds={"delta", "polars", "vcf"},
        owners=["team:variant-harmonisation"],
        # first among the batch's steps: the longest (the critical path), and its staging, the
        # run's largest working set, starts before the other steps' GX suites load GX
        op_tags={"dagster/priority": "10"},
        check_specs=check_specs(TABLE, CHECKS),
        description=(
            "The batch's calls on GRCh38: contigs canonical, multi-allelics split and indels "
            "left-aligned as `bcftools norm -m -any -f`, GRCh37 lifted over with the UCSC chain, "
            "GQ/DP-masked, sex ploidy applied, samples pseudonymised. Long format: one row per "
            "non-hom-ref call or no-call; hom-ref is implied. Delta-partitioned by batch_id and "
            f"chrom. Rejects in `{REJECTS_TABLE}`, the sample list in `{SAMPLES_TABLE}`, every "
            f"harmonised site (hom-ref everywhere included, for exact AN) in `{SITES_TABLE}`."
        ),
    )
    @retry_transient_storage
    def harmonised_variants(
        context: dg.AssetExecutionContext, config: VariantsConfig, platform: PlatformResource
    ):
        scope = open_batch(context, platform)
        where, manifest = scope.where, scope.manifest
        pseudonyms, redact = scope.pseudonyms, scope.redact
        settings = platform.settings()
        vcf, index = _vcf_entries(manifest)
        build = vcf.build or manifest.reference_build
        catalogue = load_catalogue(settings.reference)
        source = catalogue.build(build, f"{where.country}/{where.batch_id}")
        target = catalogue.build(TARGET_BUILD, "harmonised_variants")
        harmonise_config = HarmoniseConfig(
            source_build=build,
            source_fasta=source.fasta,
            target_build=TARGET_BUILD,
            target_fasta=target.fasta if build != TARGET_BUILD else None,
            chain=source.chain_to_grch38 if build != TARGET_BUILD else None,
            thresholds=CallThresholds(min_gq=config.min_gq, min_dp=config.min_dp),
            par_regions=catalogue.par_regions(),
            chunk_size=config.chunk_size,
        )
        sex = {s.sample_id: s.reported_sex for s in manifest.samples}
        publishers = {
            TABLE: scope.publisher(TABLE, SCHEMA, CALL_PARTITION_BY, DESCRIPTIONS),
            REJECTS_TABLE: scope.publisher(REJECTS_TABLE, REJECTS_SCHEMA),
            SAMPLES_TABLE: scope.publisher(SAMPLES_TABLE, SAMPLES_SCHEMA),
            SITES_TABLE: scope.publisher(SITES_TABLE, SITES_SCHEMA),
        }
        store, folder = scope.store, scope.folder
        if not store.exists(join_uri(folder, vcf.path)):
            raise dg.Failure(f"{redact(join_uri(folder, vcf.path))}: missing: listed, not landed")
        stats: collections.Counter = collections.Counter()
        reasons: collections.Counter = collections.Counter()
        sample_frames = []
        with (
            local_vcf(store, folder, vcf, index) as (path, sha256, size),
            _unreadable(redact(vcf.path), sha256 == vcf.sha256 and size == vcf.size, redact),
        ):
            intact = sha256 == vcf.sha256 and size == vcf.size
            pseudo = scope.pseudonymiser()
            header_samples = [pseudo(s) for s in vcf_samples(path)]
            # staging on a thread of its own and, when htslib reads the VCF, a column-count pass
            # alongside; both joined below, before anything is gated or published
            decoded = text_vcf_tags(path) is not None
            big = size >= PARALLEL_FROM_BYTES and not decoded
            workers = config.processes or (os.cpu_count() or 1 if big else 1)
            by_region = workers > 1 and index is not None
            with ThreadPoolExecutor(1, thread_name_prefix="gdi-columns") as background:
                # htslib reads past extra columns: count them unless the text decoder reads
                columns_checked = (
                    background.submit(check_column_counts, path, len(header_samples))
                    if by_region or not decoded
                    else None
                )
                chunks: Iterator = (
                    harmonise_by_region(path, harmonise_config, pseudo, sex, workers)
                    if by_region
                    else harmonise_vcf(path, harmonise_config, pseudo, sex)
                )
                context.log.info(f"harmonising with {workers if by_region else 1} process(es)")
                with BackgroundStager() as stager:
                    for chunk in chunks:
                        stats.update(chunk.stats)
                        reasons.update(chunk.rejects["reason"].to_list())
                        rejects = chunk.rejects.with_columns(
                            pl.col("source_file").map_elements(redact, return_dtype=pl.String)
                        )
                        sample_frames.append(chunk.samples)
                        stager.submit(
                            [
                                (publishers[name], _with_keys(frame, where.country, where.batch_id))
                                for name, frame in (
                                    (TABLE, chunk.calls),
                                    (REJECTS_TABLE, rejects),
                                    (SITES_TABLE, chunk.sites),
                                )
                            ]
                        )
            if columns_checked is not None:
                columns_checked.result()  # raises the VcfFormatError of a wrong column count
        samples = (
            combine_samples(sample_frames) if sample_frames else pl.DataFrame(schema=SAMPLE_SCHEMA)
        )
        publishers[SAMPLES_TABLE].stage(_with_keys(samples, where.country, where.batch_id))
        staged = publishers[TABLE].staged()  # its last rows written: staging ends here
        context.log.info(f"{redact(vcf.path)}: {dict(stats)}")
        vcf_check = CheckOutcome(
            VCF_INTACT,
            intact,
            Severity.ERROR,
            CHECKS[0][2],
            {"size_bytes": size},
            () if intact else (f"{redact(vcf.path)}: checksum or size differs from the manifest",),
        )
        outcomes = [
            vcf_check,
            *variant_gates(
                staged,
                stats,
                reasons,
                harmonise_config,
                config,
                redact(vcf.path),
                publishers[TABLE].staged_partitions("chrom"),
            ),
            gates.samples_match(header_samples, list(pseudonyms.values()), redact(vcf.path)),
        ]
        outcomes += validate_staged(
            staged,
            TABLE,
            {"expected_samples": len(manifest.samples)},
            scope.docs(TABLE),
            scope.run_id,
            context.log,
        )
        yield from gate_and_publish(
            context,
            publishers[TABLE],
            outcomes,
            {"records": stats["records"], "rejected_rows": stats["rejected_rows"]},
        )
        publishers[REJECTS_TABLE].publish()
        publishers[SAMPLES_TABLE].publish()
        publishers[SITES_TABLE].publish()

    return dg.Definitions(assets=[harmonised_variants])


@contextmanager
def _unreadable(name: str, intact: bool, redact):
    """A VCF that cannot be read fails the step naming the file (`name`), line and reason
    (sample ids in it redacted)."""
    try:
        yield
    except VcfFormatError as exc:
        landed = "" if intact else " (and its checksum or size differs from the manifest)"
        where = {"file": name, "reason": redact(exc.reason)}
        raise dg.Failure(
            description=f"{redact(exc.describe(name))}{landed}. Nothing was published",
            metadata=where if exc.line is None else {**where, "line": exc.line},
        ) from None


def variant_gates(
    staged, stats, reasons, harmonise_config, config, source: str = "VCF", contigs=None
) -> list[CheckOutcome]:
    """`contigs`: the staged table's chrom partitions (None: not known)."""
    lifted = harmonise_config.source_build != harmonise_config.target_build
    fasta, build = harmonise_config.target_fasta, harmonise_config.target_build
    columns, label = ("chrom", "pos", "ref"), "GRCh38"
    if not lifted:
        fasta = harmonise_config.source_fasta
    elif fasta is None:  # no GRCh38 FASTA configured: the provenance columns vs the source build
        fasta, build = harmonise_config.source_fasta, harmonise_config.source_build
        columns, label = ("source_chrom", "source_pos", "source_ref"), "source"
    genome = ReferenceGenome(fasta, build)
    try:
        by_contig = contigs if columns[0] == "chrom" else None  # the partition column
        outcomes = [gates.ref_matches(staged, columns, genome, label, by_contig)]
    finally:
        genome.close()
    top = ", ".join(f"{r} ({n})" for r, n in reasons.most_common(3)) or "none"
    variant_rows = stats["rows"] - stats["rejected_rows"]
    outcomes += [
        gates.reject_rate(
            stats["rejected_rows"], stats["rows"], config.reject_rate_ceiling, top, source
        ),
        gates.no_call_rates(staged, variant_rows, config.no_call_rate_ceiling),
    ]
    return outcomes
