"""The Hail peer of tasks 1+2, as its own process, run by the Hail environment's python
(`scripts/install-hail.sh`), not the project's: import the VCF, split multi-allelic sites,
per-variant QC, export AC, AN, AF, het and hom-alt counts and the HWE p-value to a TSV. This is
how the stack gnomAD is built on does it:

    hl.import_vcf -> hl.split_multi_hts -> hl.variant_qc -> Table.export

    HAIL_VENV/bin/python gdi_pipelines/bench/peer_hail.py VCF --out TSV \
        --reference-genome GRCh38 --tmp-dir DIR [--cores 2] [--driver-memory 4g]

Self-contained (standard library and hail): the Hail environment does not have gdi_pipelines.
Prints one JSON line: the number of exported variants and Hail's version.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

REFERENCE_GENOMES = ("GRCh37", "GRCh38")
# Entry fields split_multi_hts knows how to split; the rest (DS, GL, ...) are dropped first.
HTS_ENTRY_FIELDS = ("GT", "AD", "DP", "GQ", "PL", "PGT", "PID")
_CONTIGS = [str(n) for n in range(1, 23)] + ["X", "Y"]
EXPORTED = ("chrom", "pos", "ref", "alt", "AC", "AN", "AF", "n_het", "n_hom_alt", "p_hwe")


def contig_recoding(reference_genome: str) -> dict[str, str]:
    """Contig names of the other style -> the reference genome's: `22` -> `chr22` for GRCh38,
    `chr22` -> `22` for GRCh37. Names already in the genome's style are not keys, so one
    mapping serves files of either style."""
    if reference_genome not in REFERENCE_GENOMES:
        raise ValueError(f"reference genome {reference_genome!r}: one of {REFERENCE_GENOMES}")
    pairs = [(c, f"chr{c}") for c in _CONTIGS] + [("MT", "chrM")]
    if reference_genome == "GRCh38":
        return dict(pairs)
    return {ucsc: numeric for numeric, ucsc in pairs}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vcf", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="the TSV to write")
    parser.add_argument("--reference-genome", required=True, choices=REFERENCE_GENOMES)
    parser.add_argument("--tmp-dir", type=Path, required=True, help="Hail's and Spark's scratch")
    parser.add_argument("--cores", type=int, default=2, help="Spark master local[CORES]")
    parser.add_argument("--driver-memory", help="spark.driver.memory (default: Spark's)")
    return parser.parse_args(argv)


def _jvm_process():
    """The Popen of the JVM pyspark started (None if it did not): `hl.stop` forgets it."""
    from pyspark import SparkContext

    return getattr(getattr(SparkContext, "_gateway", None), "proc", None)


def _wait_for(jvm) -> None:
    """End the JVM as a script's exit does (EOF on its standard input) and wait for it: its CPU
    time then counts into this process's children; pyspark would leave it to exit unwaited.

    Not `hl.stop()`: on Java 11 and 17 it spends a fixed 10 s in the JDK's HttpServer.stop(10)
    of Hail's RPC server (JDK-8304065, fixed in Java 21), which a script ending without
    `hl.stop()`, as most do, never pays."""
    if jvm is None:
        return
    if jvm.stdin is not None:
        jvm.stdin.close()
    jvm.wait(timeout=120)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    import hail as hl

    args.tmp_dir.mkdir(parents=True, exist_ok=True)
    spark_conf = {"spark.local.dir": str(args.tmp_dir / "spark")}
    if args.driver_memory:
        spark_conf["spark.driver.memory"] = args.driver_memory
    hl.init(
        local=f"local[{args.cores}]",
        quiet=True,
        tmp_dir=str(args.tmp_dir),
        local_tmpdir=str(args.tmp_dir),
        log=str(args.tmp_dir / "hail.log"),
        spark_conf=spark_conf,
    )
    initialised = time.perf_counter()
    mt = hl.import_vcf(
        str(args.vcf.resolve()),
        reference_genome=args.reference_genome,
        contig_recoding=contig_recoding(args.reference_genome),
        force_bgz=True,
        array_elements_required=False,
    )
    mt = mt.select_entries(*(f for f in HTS_ENTRY_FIELDS if f in mt.entry))
    mt = hl.split_multi_hts(mt)
    mt = hl.variant_qc(mt)
    rows = mt.rows().key_by()
    qc = rows.variant_qc
    rows = rows.select(
        chrom=rows.locus.contig,
        pos=rows.locus.position,
        ref=rows.alleles[0],
        alt=rows.alleles[1],
        AC=qc.AC[1],
        AN=qc.AN,
        AF=qc.AF[1],
        n_het=qc.n_het,
        n_hom_alt=qc.homozygote_count[1],
        p_hwe=qc.p_value_hwe,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows.export(str(args.out.resolve()))
    with args.out.open() as table:
        variants = sum(1 for _ in table) - 1
    exported = time.perf_counter()
    version = hl.version()
    _wait_for(_jvm_process())
    seconds = {
        "import_init_seconds": initialised - started,  # Python imports, JVM and Spark start
        "pipeline_seconds": exported - initialised,  # import_vcf ... export: lazy until export
        "jvm_exit_seconds": time.perf_counter() - exported,
    }
    figures = {"variants": variants, "hail": version}
    print(json.dumps(figures | {k: round(v, 3) for k, v in seconds.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
