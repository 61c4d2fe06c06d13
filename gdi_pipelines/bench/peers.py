"""Peers: a whole other stack doing our tasks 1+2, run only when asked (`--peers hail`,
`make bench PEERS=hail`). One peer so far, Hail, the stack gnomAD is built on.

The contest `hail`: on the inputs of task 2 (the real 1000 Genomes slice and the synthetic SE
batch of each size),
- ours: task 1 then task 2 in one bash process tree, `ours_harmonise` (VCF -> Delta tables)
  followed by `ours_summaries` (tables -> AC, AN, AF, het, hom-alt, HWE): the wall and CPU
  times are the sum of the two, the peak RSS the larger of the two, interpreter starts and
  Delta round trip included, as the pipeline pays them;
- Hail: `peer_hail.py` run by the Hail environment's python (`scripts/install-hail.sh`):
  import_vcf, split_multi_hts, variant_qc, export to TSV, JVM start and exit included; the
  JVM is a child of that python, so the process-tree sampler counts its memory.
Hail reads the file on its own build (it does not lift or left-align); ours also left-aligns
against the FASTA, masks genotypes on GQ/DP, pseudonymises and writes Delta tables.

Once per input, untimed, Hail's AC and AN are compared with `bcftools +fill-tags` on the same
VCF split and normalised by `bcftools norm -m -any -f` (task 2's reference input), variant by
variant: a note in the JSON and the printed report, not an assertion.
"""

from __future__ import annotations

import json
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from gdi_pipelines.bench.contest import Contender, ContestResult, run_contest
from gdi_pipelines.bench.inputs import VcfInput, normalised_bcf
from gdi_pipelines.bench.process_tree import RunMeasurement, shell
from gdi_pipelines.bench.tasks import harmonise_argv

PEERS = ("hail",)
REPO = Path(__file__).resolve().parents[2]
HAIL_VENV = REPO / "bench-results" / "hail-venv"  # scripts/install-hail.sh's default
PEER_HAIL = Path(__file__).resolve().with_name("peer_hail.py")
HAIL_CORES = 2  # Spark master local[2]: the machine the figures were taken on
INSTALL_HINT = "bash scripts/install-hail.sh (make bench PEERS=hail runs it)"
MISMATCH_EXAMPLES = 5
MAX_SHIFT = 1000  # bases an indel may move when bcftools left-aligns it
AC_AN_QUERY = r"'%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\n'"


def hail_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"bench: no Hail environment at {venv}: {INSTALL_HINT}")
    return python


def hail_versions(venv: Path) -> dict[str, str]:
    """Hail's and the Java runtime's versions, for the JSON's meta."""
    probe = "from importlib.metadata import version; print(version('hail'), version('pyspark'))"
    hail, pyspark = subprocess.run(
        [str(hail_python(venv)), "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return {
        "hail": hail,
        "pyspark": pyspark,
        "java": (java.stderr or java.stdout).splitlines()[0].strip(),
    }


def hail_argv(python: Path, vcf: VcfInput, out: Path, tmp: Path) -> list[str]:
    """Hail on the VCF's own build: GRCh37 or GRCh38, contig names recoded to that build's."""
    argv = [str(python), str(PEER_HAIL), str(vcf.vcf), "--out", str(out)]
    argv += ["--reference-genome", vcf.source_build, "--tmp-dir", str(tmp)]
    return [*argv, "--cores", str(HAIL_CORES)]


def summaries_argv(tables: Path, vcf: VcfInput) -> list[str]:
    argv = [sys.executable, "-m", "gdi_pipelines.bench.ours_summaries", str(tables)]
    argv += ["--build", vcf.target_build]
    if vcf.catalogue is not None:
        argv += ["--catalogue", str(vcf.catalogue)]
    return argv


def ours_command(vcf: VcfInput, tables: Path) -> str:
    """Task 1 then task 2, one after the other in one process tree."""
    return f"{shlex.join(harmonise_argv(vcf, tables))}; {shlex.join(summaries_argv(tables, vcf))}"


def _shown(command: str) -> str:
    return command.replace(shlex.quote(sys.executable), "python")


def _emptied(folder: Path):
    def prepare() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    return prepare


def _last_json(measured: RunMeasurement) -> dict:
    lines = [line for line in measured.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def read_counts(lines, skip_header: bool = False) -> dict[tuple, tuple[int, int]]:
    """(chrom without `chr`, pos, ref, alt) -> (AC, AN) from tab-separated lines whose first
    six columns are CHROM POS REF ALT AC AN."""
    counts = {}
    for number, line in enumerate(lines):
        if skip_header and number == 0:
            continue
        chrom, pos, ref, alt, ac, an = line.rstrip("\n").split("\t")[:6]
        chrom = chrom.removeprefix("chr")
        counts[("M" if chrom == "MT" else chrom, int(pos), ref, alt)] = (int(ac), int(an))
    return counts


def _indel_length(key: tuple) -> int:
    return len(key[3]) - len(key[2])


def pair_shifted(hail: list[tuple], bcftools: list[tuple]) -> list[tuple[tuple, tuple]]:
    """Pair the variants only one side has: an indel bcftools left-aligned (Hail keeps the
    VCF's position) sits on the same contig, at or before Hail's position within
    MAX_SHIFT, with the same length change; the nearest such one is taken."""
    free: dict[tuple, list[tuple]] = {}
    for key in sorted(bcftools):
        free.setdefault((key[0], _indel_length(key)), []).append(key)
    pairs = []
    for key in sorted(hail):
        if _indel_length(key) == 0:
            continue  # not an indel: nothing to left-align
        group = free.get((key[0], _indel_length(key)), [])
        candidates = [b for b in group if 0 <= key[1] - b[1] <= MAX_SHIFT]
        if candidates:
            nearest = max(candidates, key=lambda b: b[1])
            group.remove(nearest)
            pairs.append((key, nearest))
    return pairs


def compare_counts(hail: dict[tuple, tuple], bcftools: dict[tuple, tuple]) -> dict:
    """Variant by variant: on the keys both have, then on the indels bcftools left-aligned
    and Hail did not, paired by `pair_shifted`; what stays unpaired is counted."""
    shared = hail.keys() & bcftools.keys()
    pairs = [(k, k) for k in sorted(shared)]
    pairs += pair_shifted(list(hail.keys() - shared), list(bcftools.keys() - shared))
    differ = [(h, b) for h, b in pairs if hail[h] != bcftools[b]]
    return {
        "hail_variants": len(hail),
        "bcftools_variants": len(bcftools),
        "compared": len(pairs),
        "compared_left_aligned": len(pairs) - len(shared),
        "ac_an_equal": len(pairs) - len(differ),
        "ac_an_differ": len(differ),
        "differ_examples": [
            {"hail": [*h, *hail[h]], "bcftools": [*b, *bcftools[b]]}
            for h, b in differ[:MISMATCH_EXAMPLES]
        ],
        "only_in_hail": len(hail) - len(pairs),
        "only_in_bcftools": len(bcftools) - len(pairs),
    }


def cross_check(hail_tsv: Path, bcf: Path) -> dict:
    """Hail's AC/AN against `bcftools +fill-tags -t AC,AN` on the normalised BCF."""
    command = f"bcftools +fill-tags {shlex.quote(str(bcf))} -Ou -- -t AC,AN"
    command += f" | bcftools query -f {AC_AN_QUERY}"
    done = subprocess.run(shell(command), check=True, capture_output=True, text=True)
    with hail_tsv.open() as exported:
        hail = read_counts(exported, skip_header=True)
    checked = compare_counts(hail, read_counts(done.stdout.splitlines()))
    return {"against": "bcftools +fill-tags -t AC,AN on the bcftools norm -m -any -f BCF"} | (
        checked
    )


def hail_contest(
    vcf: VcfInput, cache: Path, work: Path, repetitions: int, venv: Path
) -> ContestResult:
    folder = work / f"peer-{vcf.key}"
    tables, hail_out = folder / "ours-harmonised", folder / "hail"
    tsv = hail_out / "variant_qc.tsv"
    command = ours_command(vcf, tables)
    ours = Contender(shell(command), _shown(command), prepare=_emptied(tables), inspect=_last_json)
    argv = hail_argv(hail_python(venv), vcf, tsv, hail_out / "tmp")
    hail = Contender(
        argv,
        shlex.join(["hail-venv/bin/python", *argv[1:]]),
        prepare=_emptied(hail_out),
        inspect=_last_json,
    )
    result = run_contest("hail", vcf.label, "genotypes", vcf.genotypes, ours, hail, repetitions)
    details = [d for d in result.reference.details if d]
    phases = ("import_init_seconds", "pipeline_seconds", "jvm_exit_seconds")
    result.notes |= {
        "peer": "hail",
        "ours": "ours_harmonise then ours_summaries in one process tree (times summed)",
        "reference": "Hail: import_vcf, split_multi_hts, variant_qc, export TSV",
        "reference_genome": vcf.source_build,
        "ours_lifts": vcf.lifted,
        "hail_version": details[-1].get("hail") if details else None,
        "hail_variants": details[-1].get("variants") if details else None,
        "ours_variants": (result.ours.details[-1] or {}).get("variants"),
        "hail_phase_medians": {
            p: round(statistics.median(d[p] for d in details), 3)
            for p in phases
            if details and all(p in d for d in details)
        },
    }
    try:
        result.notes["cross_check"] = cross_check(tsv, normalised_bcf(cache, vcf))
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        result.notes["cross_check"] = {"error": str(exc)[:500]}
    shutil.rmtree(folder, ignore_errors=True)
    return result


def peer_summary(result: ContestResult) -> str:
    notes = result.notes
    phases = notes.get("hail_phase_medians", {})
    lines = [
        f"hail {result.input}: ours (tasks 1+2) {result.ours.median_seconds:.1f} s vs "
        f"Hail {notes.get('hail_version')} {result.reference.median_seconds:.1f} s "
        f"(ours/Hail x{result.time_ratio:.2f}); Hail's medians: "
        + ", ".join(f"{k.removesuffix('_seconds')} {v:.1f} s" for k, v in phases.items())
    ]
    check = notes.get("cross_check", {})
    if "error" in check:
        lines.append(f"  cross-check failed: {check['error']}")
    elif check:
        lines.append(
            f"  cross-check: Hail's AC/AN equal bcftools +fill-tags' on {check['ac_an_equal']:,} "
            f"of {check['compared']:,} variants ({check['compared_left_aligned']} of them "
            f"indels bcftools left-aligned; {check['ac_an_differ']} differ); unpaired: "
            f"{check['only_in_hail']} in Hail, {check['only_in_bcftools']} in bcftools"
        )
    return "\n".join(lines)
