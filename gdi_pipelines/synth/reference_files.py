"""Writes the synthetic reference: bgzipped+indexed FASTAs, the 37->38 chain, builds.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysam

from gdi_pipelines.domain.bgzf import BgzfWriter
from gdi_pipelines.synth.chain import write_chain_file
from gdi_pipelines.synth.reference import Reference

FASTA_LINE = 60
CHAIN_PATH = "chains/GRCh37ToGRCh38.over.chain.gz"
BUILD_FASTA = {"GRCh38": "GRCh38/genome.fa.gz", "GRCh37": "GRCh37/genome.fa.gz"}


def grch37_name(chr_name: str) -> str:
    """GRCh37 (Ensembl/1000G) contig name of a chr-style name: chr1 -> 1, chrM -> MT."""
    bare = chr_name.removeprefix("chr")
    return "MT" if bare == "M" else bare


def build_contig_name(build: str, chr_name: str) -> str:
    return chr_name if build == "GRCh38" else grch37_name(chr_name)


def _fasta_record(name: str, seq: np.ndarray) -> bytes:
    full = len(seq) // FASTA_LINE
    lines = np.empty((full, FASTA_LINE + 1), dtype=np.uint8)
    lines[:, :FASTA_LINE] = seq[: full * FASTA_LINE].reshape(full, FASTA_LINE)
    lines[:, FASTA_LINE] = ord("\n")
    tail = seq[full * FASTA_LINE :].tobytes()
    return b">" + name.encode() + b"\n" + lines.tobytes() + (tail + b"\n" if tail else b"")


def write_fasta(path: Path, records: list[tuple[str, np.ndarray]]) -> None:
    """bgzipped FASTA with .fai and .gzi, as `samtools faidx` would make."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with BgzfWriter(path) as out:
        for name, seq in records:
            out.write(_fasta_record(name, seq))
    pysam.faidx(str(path))


def write_reference(reference: Reference, reference_dir: Path) -> dict:
    """Write both builds, the chain and builds.json; returns the builds.json content."""
    builds: dict = {}
    for build, fasta in BUILD_FASTA.items():
        records = [
            (build_contig_name(build, c.name), c.seq38 if build == "GRCh38" else c.seq37)
            for c in reference.contigs
        ]
        write_fasta(reference_dir / fasta, records)
        pars: dict[str, list[list[int]]] = {}
        for contig in reference.contigs:
            intervals = contig.pars38 if build == "GRCh38" else contig.pars37()
            if intervals:
                pars[build_contig_name(build, contig.name)] = [[a + 1, b] for a, b in intervals]
        builds[build] = {
            "fasta": fasta,
            "contig_style": "chr" if build == "GRCh38" else "numeric",
            "contigs": [
                {"name": name, "length": len(seq), "ucsc_name": contig.name}
                for contig, (name, seq) in zip(reference.contigs, records, strict=True)
            ],
            "par": pars,
            "chain_to_GRCh38": None if build == "GRCh38" else CHAIN_PATH,
        }
    write_chain_file(reference_dir / CHAIN_PATH, [c.alignment for c in reference.contigs])
    builds["chains"] = [
        {"source": "GRCh37", "target": "GRCh38", "path": CHAIN_PATH, "contig_style": "chr"}
    ]
    text = json.dumps(builds, indent=2, sort_keys=True) + "\n"
    (reference_dir / "builds.json").write_text(text)
    return builds
