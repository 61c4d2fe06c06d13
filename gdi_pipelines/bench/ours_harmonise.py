"""Our side of the harmonise task, as its own process: what the `harmonised_variants` asset
does before its checks. Stream the VCF chunk by chunk through `harmonise_vcf` (split,
normalise, lift when the builds differ, GQ/DP mask, ploidy, pseudonymise) and stage every
chunk into Delta tables with `PartitionPublisher.stage` on a background thread (the calls
partitioned by contig), the sample table once per VCF, as the asset does.

    python -m gdi_pipelines.bench.ours_harmonise VCF --out DIR --source-build GRCh37 \
        (--catalogue REFERENCE_DIR [--target-build GRCh38] | --fasta FASTA) [--manifest JSON]

Writes DIR/tables.json (table -> Delta URI) and prints one JSON line of counts.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
from pathlib import Path

import polars as pl

from gdi_pipelines.config.locations import Location
from gdi_pipelines.domain.manifest import parse_manifest
from gdi_pipelines.domain.pseudonym import pseudonymise
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
from gdi_pipelines.storage.background import BackgroundStager
from gdi_pipelines.storage.publish import PartitionPublisher
from gdi_pipelines.storage.reference_catalogue import load_catalogue

BENCH_KEY = b"gdi-bench-pseudonym-key-not-secret"
RUN_ID = "bench"
CHUNK_SIZE = 2500  # the asset's default (VariantsConfig.chunk_size)
_KEYS = {"country": pl.String, "batch_id": pl.String}
TABLES = {
    "harmonised_variants": CALL_SCHEMA,
    "variant_rejects": REJECT_SCHEMA,
    "variant_samples": SAMPLE_SCHEMA,
    "variant_sites": SITE_SCHEMA,
}


def harmonise_config(args: argparse.Namespace) -> HarmoniseConfig:
    if args.catalogue is None:
        if args.target_build not in (None, args.source_build):
            raise SystemExit("--fasta harmonises in place; lifting needs --catalogue")
        return HarmoniseConfig(
            source_build=args.source_build,
            source_fasta=args.fasta,
            target_build=args.source_build,
            chunk_size=args.chunk_size,
        )
    catalogue = load_catalogue(Location(str(Path(args.catalogue).resolve())))
    target_build = args.target_build or args.source_build
    source = catalogue.build(args.source_build, "bench")
    target = catalogue.build(target_build, "bench")
    lifting = args.source_build != target_build
    return HarmoniseConfig(
        source_build=args.source_build,
        source_fasta=source.fasta,
        target_build=target_build,
        target_fasta=target.fasta if lifting else None,
        chain=source.chain_to_grch38 if lifting else None,
        par_regions=catalogue.par_regions(),
        chunk_size=args.chunk_size,
    )


def publishers(out: Path, batch: str) -> dict[str, PartitionPublisher]:
    root = Location(str(out.resolve()))
    return {
        name: PartitionPublisher(
            root.child(name),
            root,
            name,
            {"batch_id": batch},
            RUN_ID,
            pl.Schema({**_KEYS, **schema}),
            partition_by=CALL_PARTITION_BY if name == "harmonised_variants" else ("batch_id",),
        )
        for name, schema in TABLES.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vcf", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source-build", required=True)
    parser.add_argument("--target-build")
    parser.add_argument("--catalogue", type=Path)
    parser.add_argument("--fasta", type=Path)
    parser.add_argument("--manifest", type=Path, help="manifest.json: the samples' sex")
    parser.add_argument("--country", default="XX")
    parser.add_argument("--batch", default="b001")
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    args = parser.parse_args(argv)
    if (args.catalogue is None) == (args.fasta is None):
        parser.error("give one of --catalogue and --fasta")
    sex = None
    if args.manifest is not None:
        manifest = parse_manifest(args.manifest.read_bytes(), str(args.manifest))
        sex = {s.sample_id: s.reported_sex for s in manifest.samples}
    pseudo = functools.partial(pseudonymise, BENCH_KEY, args.country)
    tables = publishers(args.out, args.batch)
    keys = {"country": pl.lit(args.country), "batch_id": pl.lit(args.batch)}
    stats: collections.Counter = collections.Counter()
    sample_frames = []
    with BackgroundStager() as stager:
        for chunk in harmonise_vcf(args.vcf, harmonise_config(args), pseudo, sex):
            stats.update(chunk.stats)
            sample_frames.append(chunk.samples)
            frames = {
                "harmonised_variants": chunk.calls,
                "variant_rejects": chunk.rejects,
                "variant_sites": chunk.sites,
            }
            stager.submit(
                [(tables[name], frame.with_columns(**keys)) for name, frame in frames.items()]
            )
    # one row per sample over the whole VCF, as the asset stages it
    tables["variant_samples"].stage(combine_samples(sample_frames).with_columns(**keys))
    for publisher in tables.values():
        publisher.staged()  # commits the files staged last
    (args.out / "tables.json").write_text(
        json.dumps({name: p.staging.uri for name, p in tables.items()}, indent=2)
    )
    print(json.dumps(dict(stats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
