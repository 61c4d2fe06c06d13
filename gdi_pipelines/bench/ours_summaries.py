"""Our side of the country-summaries task, as its own process: AC, AN, AF, n_het, n_hom_alt,
HWE and the rest of `variant_summaries` over the Delta tables `ours_harmonise` staged, every
sample counted as QC-passing (as `bcftools +fill-tags` counts every sample), one contig at a
time as the `country_variant_summaries` asset does.

    python -m gdi_pipelines.bench.ours_summaries HARMONISED_DIR --build GRCh38 [--catalogue DIR]

Prints one JSON line: the number of summarised variants.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from gdi_pipelines.config.locations import Location
from gdi_pipelines.domain.aggregates.variant_summaries import variant_summaries
from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS
from gdi_pipelines.storage.reference_catalogue import load_catalogue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("harmonised", type=Path, help="the --out folder of ours_harmonise")
    parser.add_argument("--build", required=True, help="build of the harmonised calls")
    parser.add_argument("--catalogue", type=Path, help="builds.json folder (its PARs)")
    args = parser.parse_args(argv)
    tables = json.loads((args.harmonised / "tables.json").read_text())
    pars = (
        load_catalogue(Location(str(args.catalogue.resolve()))).par_regions()
        if args.catalogue
        else PAR_REGIONS
    )
    samples = pl.scan_delta(tables["variant_samples"]).with_columns(qc_pass=pl.lit(True))
    calls = pl.scan_delta(tables["harmonised_variants"])
    sites = pl.scan_delta(tables["variant_sites"])
    contigs = sites.select(pl.col("chrom").unique()).collect().to_series().to_list()
    variants = 0
    for contig in sorted(contigs):  # one contig at a time, as the asset summarises
        on_contig = pl.col("chrom") == contig
        summaries = variant_summaries(
            calls.filter(on_contig), sites.filter(on_contig), samples, args.build, pars
        )
        variants += summaries.collect(engine="streaming").height
    print(json.dumps({"variants": variants}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
