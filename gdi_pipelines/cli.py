"""`gdi`: synthesise cohorts, materialise landed batches, run the demo."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

from gdi_pipelines.config import ConfigError, Settings, load_settings


def _spec(args: argparse.Namespace, countries: tuple[str, ...]):
    from gdi_pipelines.synth.cohort import CohortSpec

    return CohortSpec(
        countries=countries,
        batches_per_country=args.batches,
        samples_per_batch=args.samples,
        variants_per_batch=args.variants,
        reads_per_sample=args.reads,
        seed=args.seed,
    )


def synthesise(settings: Settings, args: argparse.Namespace) -> None:
    from gdi_pipelines.storage.objectstore import store_for
    from gdi_pipelines.synth.cohort import generate_cohort

    countries = tuple(args.countries.split(",")) if args.countries else settings.countries
    for code in countries:
        settings.node(code)  # unknown countries fail here, naming the setting
    if settings.reference.is_s3:
        raise ConfigError("GDI_REFERENCE_URI: gdi synth writes the reference to a local folder")
    reference = Path(settings.reference.uri)
    spec = _spec(args, countries)
    if not settings.landing.is_s3 and all(
        n.landing.uri == f"{settings.landing.uri}/{n.country}" for n in settings.nodes
    ):
        report = generate_cohort(spec, Path(settings.landing.uri), reference)
    else:
        with tempfile.TemporaryDirectory(prefix="gdi-synth-") as tmp:
            report = generate_cohort(spec, Path(tmp), reference)
            for code in countries:
                node = settings.node(code)
                store_for(node.landing).upload_tree(Path(tmp) / code, node.landing.uri)
    print(
        f"synthesised {len(report.batches)} batch(es) for {', '.join(countries)}: "
        f"{report.n_genotypes:,} genotypes; reference in {reference}"
    )


def ensure_demo_key(settings: Settings) -> None:
    """The embedded default gets a random node key on first use, kept under GDI_HOME."""
    key_file = settings.default_key_file
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_hex(32))


def materialise_landed(settings: Settings, args: argparse.Namespace) -> int:
    from gdi_pipelines.definitions import build_definitions
    from gdi_pipelines.defs.partitions import CountryBatch
    from gdi_pipelines.instance import local_instance
    from gdi_pipelines.orchestrate import (
        landed_batches,
        materialise,
        refresh_federation,
        register_batches,
    )
    from gdi_pipelines.report import format_runs, format_tables

    countries = tuple(args.countries.split(",")) if args.countries else None
    batches = landed_batches(settings, countries)
    for batch in batches:
        if not batch.complete:
            why = batch.problem or f"missing {', '.join(batch.missing)}"
            print(f"skipping {batch.country}/{batch.batch_id}: not complete ({why})")
    ready = [b for b in batches if b.complete and (not args.batch or b.batch_id == args.batch)]
    if not ready:
        print("no complete batch in the landing zone")
        return 1
    # load GX and the compiled loops now, as deployments' step processes are forked from a
    # server that did (definitions.py): steps, and their quality gates, do not time the loading
    import gdi_pipelines.defs.step_preload  # noqa: F401

    instance = local_instance(settings)
    register_batches(instance, ready)
    defs = build_definitions(settings.countries)
    runs = materialise(defs, instance, [CountryBatch(b.country, b.batch_id) for b in ready])
    if any(r.success for r in runs):
        runs.append(refresh_federation(defs, instance))
    print(format_runs(runs))
    print(format_tables(settings))
    print(f"Dagster instance: {settings.dagster_home} (make ui to browse the runs)")
    return 0 if all(r.success for r in runs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gdi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth", help="write a synthetic landing zone and reference")
    demo = sub.add_parser("demo", help="synthesise a small cohort and materialise every asset")
    for p in (synth, demo):
        p.add_argument("--countries", help="comma-separated ISO codes (default: all nodes)")
        p.add_argument("--batches", type=int, default=1)
        p.add_argument("--samples", type=int, default=24)
        p.add_argument("--variants", type=int, default=2000)
        p.add_argument("--reads", type=int, default=200, help="read pairs per sample")
        p.add_argument("--seed", type=int, default=42)
    mat = sub.add_parser("materialize", help="materialise every complete landed batch")
    mat.add_argument("--countries")
    mat.add_argument("--batch")
    sub.add_parser("check", help="validate the configuration and print it")
    sub.add_parser("tables", help="list published tables with versions and row counts")
    demo.set_defaults(batch=None)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "check":
            for node in settings.nodes:
                print(
                    f"{node.country} {node.name}: landing {node.landing.uri}, "
                    f"warehouse {node.warehouse.uri}"
                )
            return 0
        if args.command == "tables":
            from gdi_pipelines.report import format_tables

            print(format_tables(settings))
            return 0
        if args.command in ("synth", "demo"):
            synthesise(settings, args)
        if args.command == "synth":
            return 0
        if args.command == "demo":
            ensure_demo_key(settings)
        return materialise_landed(settings, args)
    except ConfigError as exc:
        print(f"gdi: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
