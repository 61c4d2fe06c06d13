"""Canonical contig names (`chr1`..`chr22`, `chrX`, `chrY`, `chrM`) and their spelling per FASTA.

Accepted spellings: `1`, `chr1`, `X`, `chrX`, `MT`, `M`, `chrM`, `chrMT` (any case of the
`chr` prefix and of X/Y/M/MT), and the RefSeq accessions of the GRCh37/GRCh38 primary assembly
(`NC_000001.10` / `NC_000001.11`, ..., `NC_012920.1` for the rCRS mitochondrion).
Anything else (alt/random/decoy contigs, other species) has no canonical name.

Caveat kept from the source builds: UCSC hg19 `chrM` is not the rCRS sequence of GRCh37 `MT`;
the REF check against the FASTA is what catches such a mix-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CANONICAL_CONTIGS: tuple[str, ...] = (
    *(f"chr{n}" for n in range(1, 23)),
    "chrX",
    "chrY",
    "chrM",
)
_CANONICAL = set(CANONICAL_CONTIGS)
_PLAIN = re.compile(r"^(?:chr)?([0-9]{1,2}|x|y|m|mt)$", re.IGNORECASE)

# RefSeq accession version of each chromosome (1..22, X=23, Y=24) in GRCh37; GRCh38 is +1.
_GRCH37_VERSIONS = (10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8, 10)
_GRCH37_VERSIONS_XY = (10, 9)
_MITO_ACCESSION = "NC_012920.1"


def _refseq_accessions() -> dict[str, tuple[str, str]]:
    """accession -> (canonical name, build)."""
    table: dict[str, tuple[str, str]] = {}
    numbered = [*_GRCH37_VERSIONS, *_GRCH37_VERSIONS_XY]
    for number, version in enumerate(numbered, start=1):
        name = CANONICAL_CONTIGS[number - 1]
        table[f"NC_{number:06d}.{version}"] = (name, "GRCh37")
        table[f"NC_{number:06d}.{version + 1}"] = (name, "GRCh38")
    return table


REFSEQ_ACCESSIONS = _refseq_accessions()


def canonical_contig(name: str, build: str | None = None) -> str | None:
    """The canonical name of `name`, or None when it is not a primary-assembly chromosome.

    A RefSeq accession of the other build (e.g. `NC_000001.11` when `build` is GRCh37) is
    refused: it says the file is not in the build it claims.
    """
    if name in _CANONICAL:
        return name
    match = _PLAIN.match(name)
    if match:
        token = match.group(1).upper()
        if token.isdigit():
            number = int(token)
            return f"chr{number}" if 1 <= number <= 22 else None
        return "chrM" if token in ("M", "MT") else f"chr{token}"
    if name == _MITO_ACCESSION:
        return "chrM"
    entry = REFSEQ_ACCESSIONS.get(name)
    if entry is None or (build is not None and entry[1] != build):
        return None
    return entry[0]


def canonical_contigs(names: Iterable[str], build: str | None = None) -> dict[str, str | None]:
    """Canonical name of each distinct name (a chunk has few distinct contigs)."""
    return {name: canonical_contig(name, build) for name in set(names)}


def contig_spelling(names: Iterable[str], build: str | None = None) -> dict[str, str]:
    """canonical -> the name used in a file (a FASTA's or a chain's contig list).

    When a file holds two spellings of one chromosome (`chrM` and `MT`), the one that is
    already canonical wins, else the first listed.
    """
    spelling: dict[str, str] = {}
    for name in names:
        canonical = canonical_contig(name, build)
        if canonical is None:
            continue
        if canonical not in spelling or name == canonical:
            spelling[canonical] = name
    return spelling


def is_canonical(name: str) -> bool:
    return name in _CANONICAL
