"""The reference catalogue: `{GDI_REFERENCE_URI}/builds.json` naming each build's FASTA, PARs
and chain to GRCh38 (paths relative to the catalogue). `gdi synth` writes one for its
synthetic builds; a production node points GDI_REFERENCE_URI at one for the real builds.

    {"GRCh37": {"fasta": "GRCh37/genome.fa.gz", "chain_to_GRCh38": "chains/x.over.chain.gz",
                "par": {"X": [[60001, 2699520], ...]}},
     "GRCh38": {"fasta": "GRCh38/genome.fa.gz", "par": {"chrX": [[10001, 2781479], ...]}}}

A build without "par" gets the real human PARs; "fasta" may be null for a target build that
has no FASTA (then REF is checked on the source build only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gdi_pipelines.config.errors import ConfigError
from gdi_pipelines.config.locations import Location
from gdi_pipelines.domain.variants.contigs import canonical_contig
from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS

CATALOGUE = "builds.json"


@dataclass(frozen=True)
class BuildRef:
    name: str
    fasta: Path | None
    chain_to_grch38: Path | None
    par: dict[str, tuple[tuple[int, int], ...]]  # canonical contig -> 1-based inclusive


@dataclass(frozen=True)
class ReferenceCatalogue:
    builds: dict[str, BuildRef]

    def build(self, name: str, needed_by: str) -> BuildRef:
        if name not in self.builds:
            raise ConfigError(
                f"GDI_REFERENCE_URI: {needed_by} needs build {name!r}; the catalogue has "
                f"{sorted(self.builds)}"
            )
        return self.builds[name]

    def par_regions(self) -> dict[str, dict[str, tuple[tuple[int, int], ...]]]:
        return {name: build.par for name, build in self.builds.items()}


def load_catalogue(location: Location) -> ReferenceCatalogue:
    if location.is_s3:
        raise ConfigError("GDI_REFERENCE_URI: the reference catalogue must be a local folder")
    root = Path(location.uri)
    path = root / CATALOGUE
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"GDI_REFERENCE_URI: {path} cannot be read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"GDI_REFERENCE_URI: {path} line {exc.lineno}: {exc.msg}") from exc
    builds = {}
    for name, spec in data.items():
        if not isinstance(spec, dict) or "fasta" not in spec:
            continue  # other sections (e.g. the list of chains) are descriptive
        builds[name] = BuildRef(
            name=name,
            fasta=_file(root, spec.get("fasta"), path, name),
            chain_to_grch38=_file(root, spec.get("chain_to_GRCh38"), path, name),
            par=_pars(spec.get("par"), name),
        )
    return ReferenceCatalogue(builds)


def _file(root: Path, relative: str | None, catalogue: Path, build: str) -> Path | None:
    if relative is None:
        return None
    path = root / relative
    if not path.exists():
        raise ConfigError(f"GDI_REFERENCE_URI: {catalogue}: build {build}: {path} is missing")
    return path


def _pars(spec: dict | None, build: str) -> dict[str, tuple[tuple[int, int], ...]]:
    if spec is None:
        return dict(PAR_REGIONS.get(build, {}))
    return {
        canonical_contig(contig, build) or contig: tuple((int(a), int(b)) for a, b in spans)
        for contig, spans in spec.items()
    }
