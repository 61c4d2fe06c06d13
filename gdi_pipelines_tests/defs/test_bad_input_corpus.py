"""Bad input, each with a clear message and nothing lost.

One synthetic node (SE, two batches) is published once; then each case of the corpus corrupts
a copy of batch b001's landing folder (restored between cases) and runs the ingest job for
SE|b001 in process, over the assets the corrupted file feeds and their downstream. Each case
ends one of two ways, as the product decides it:

(A) rejected records: the run succeeds; the reject table holds exactly the bad records, with
    the file (redacted: pseudonyms for sample ids), where in it (the line; a Phenopacket, one
    person per file, by its record id) and the reason; the good records of the same file are
    published, compared with the clean run.
(B) the run fails: the failing step's error (or its blocking check's failures) names the file
    and the reason (and the line where the product knows it), no national sample id in it, and
    no table of the node got a new version.

Either way the other partition (b002) keeps its published rows.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import Settings, load_settings
from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.domain.bgzf import BgzfWriter, compress_block
from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.orchestrate import materialise
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines.storage.landing import discover_batches
from gdi_pipelines_tests.defs.landing_fixtures import KEY

COUNTRY, BAD, OTHER = "SE", "b001", "b002"
INGEST_JOB = "ingest_batch"
VCF = "variants/SE_b001.vcf.gz"
CSV_FILE = "clinical/registry.csv"
CSV_RUN_CONFIG = {"ops": {"clinical_phenotypes": {"config": {"csv_mapping": "DK"}}}}
CSV_HEADER = ["proeve_id", "koen", "foedselsaar", "diagnose_icd10", "hpo_observeret"]
CSV_PERSONS = 3  # the last samples of the manifest move from Phenopackets to a DK-style CSV
TEN_MB = 10 * 1024 * 1024
NATIONAL_SAMPLE_ID = "SE-LAB-"  # how every synthetic lab sample id starts: never in a message

TABLES = {  # asset -> the node tables it publishes
    "raw_sequences": ("raw_sequences",),
    "harmonised_variants": (
        "harmonised_variants",
        "variant_rejects",
        "variant_samples",
        "variant_sites",
    ),
    "clinical_phenotypes": ("clinical_phenotypes", "clinical_rejects"),
    "sample_qc": ("sample_qc",),
    "country_variant_summaries": ("country_variant_summaries",),
    "country_cohort_counts": ("country_cohort_counts",),
}
NODE_TABLES = tuple(t for tables in TABLES.values() for t in tables)
SEQUENCING = ("raw_sequences",)
VARIANTS = ("harmonised_variants", "sample_qc", "country_variant_summaries")
CLINICAL = (
    "clinical_phenotypes",
    "sample_qc",
    "country_variant_summaries",
    "country_cohort_counts",
)
EVERYTHING = tuple(TABLES)


def pseudonym(sample_id: str) -> str:
    return pseudonymise(KEY.encode(), COUNTRY, sample_id)


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """Content without load timestamps, in a fixed order."""
    frame = frame.select(pl.exclude(pl.Datetime))
    keys = [c for c, t in frame.schema.items() if t.is_numeric() or t in (pl.String, pl.Boolean)]
    return frame.sort(keys, nulls_last=True)


# ---------------------------------------------------------------------------------------------
# the node, published once


@dataclass
class Node:
    home: Path
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance
    pristine: Path  # b001 as synthesised
    grch37_vcf: bytes  # a GRCh37 VCF of the same synthetic genome (a DK batch)
    baseline: dict[str, pl.DataFrame] = field(default_factory=dict)  # b001 rows, clean run
    other: dict[str, pl.DataFrame] = field(default_factory=dict)  # b002 rows

    @property
    def folder(self) -> Path:
        return self.home / "landing" / COUNTRY / BAD

    def table(self, name: str) -> TableRef:
        return TableRef(self.settings.node(COUNTRY).warehouse.child(name))

    def rows(self, name: str, batch: str) -> pl.DataFrame:
        table = self.table(name).read()
        return comparable(table.filter(pl.col("batch_id") == batch))

    def versions(self) -> dict[str, int | None]:
        return {name: self.table(name).version() for name in NODE_TABLES}

    def run(self, assets: tuple[str, ...], run_config=None) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(INGEST_JOB).execute_in_process(
            instance=self.instance,
            partition_key=CountryBatch(COUNTRY, BAD).key,
            asset_selection=[dg.AssetKey(a) for a in assets],
            run_config=run_config,
            raise_on_error=False,
        )


def _environment(patch: pytest.MonkeyPatch, home: Path, countries: str = COUNTRY) -> None:
    patch.setenv("GDI_HOME", str(home))
    patch.setenv("GDI_COUNTRIES", countries)
    patch.setenv("GDI_PSEUDONYM_KEY", KEY)
    patch.setenv("GX_ANALYTICS_ENABLED", "false")


SYNTH = ["--batches", "2", "--samples", "12", "--variants", "300", "--reads", "10"]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Node:
    """SE with two batches, b002 then b001 published by the whole ingest job."""
    root = tmp_path_factory.mktemp("bad-input-corpus")
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, root / "dk-home", "DK")  # only for its GRCh37 VCF
        assert gdi(["synth", "--batches", "1", *SYNTH[2:]]) == 0
        grch37 = root / "dk-home" / "landing" / "DK" / BAD / "variants" / "DK_b001.vcf.gz"
        _environment(patch, root / "gdi-home")
        assert gdi(["synth", *SYNTH]) == 0
        settings = load_settings()
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(BATCHES.name, [BAD, OTHER])
        defs = build_definitions(settings.countries, "in_process")
        where = [CountryBatch(COUNTRY, OTHER), CountryBatch(COUNTRY, BAD)]
        runs = materialise(defs, instance, where)
        assert all(r.success for r in runs), [r.error for r in runs if not r.success]
        pristine = root / "pristine-b001"
        shutil.copytree(root / "gdi-home" / "landing" / COUNTRY / BAD, pristine)
        node = Node(root / "gdi-home", settings, defs, instance, pristine, grch37.read_bytes())
        for name in NODE_TABLES:
            node.baseline[name] = node.rows(name, BAD)
            node.other[name] = node.rows(name, OTHER)
    assert node.baseline["harmonised_variants"].height > 0
    assert node.baseline["variant_rejects"].height == 0, "the clean batch has no rejects"
    assert node.baseline["clinical_rejects"].height == 0
    assert node.other["harmonised_variants"].height > 0
    return node


@pytest.fixture
def node(published: Node, monkeypatch: pytest.MonkeyPatch) -> Node:
    _environment(monkeypatch, published.home)
    shutil.rmtree(published.folder)
    shutil.copytree(published.pristine, published.folder)
    yield published
    shutil.rmtree(published.folder)
    shutil.copytree(published.pristine, published.folder)


# ---------------------------------------------------------------------------------------------
# the landed batch, and how a case damages it


class Batch:
    def __init__(self, node: Node):
        self.node = node
        self.folder = node.folder

    def manifest(self) -> dict:
        return json.loads((self.folder / "manifest.json").read_text())

    def save_manifest(self, manifest: dict) -> None:
        (self.folder / "manifest.json").write_text(json.dumps(manifest, indent=2))

    @property
    def samples(self) -> list[str]:
        return [s["sample_id"] for s in self.manifest()["samples"]]

    def land(self, path: str, data: bytes, announce: bool = True) -> None:
        """Write a landed file; `announce`: the manifest gets its new checksum and size (the lab
        checksummed the bad bytes, so the parser, not the checksum, has to catch them)."""
        (self.folder / path).write_bytes(data)
        if announce:
            manifest = self.manifest()
            (entry,) = [f for f in manifest["files"] if f["path"] == path]
            entry |= {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            self.save_manifest(manifest)

    # the VCF

    def vcf_lines(self) -> list[str]:
        return gzip.decompress((self.folder / VCF).read_bytes()).decode().splitlines()

    def land_vcf(self, lines: list[str], announce: bool = True) -> None:
        target = self.folder / "rewritten.vcf.gz"
        with BgzfWriter(target, threads=1) as out:
            out.write(("\n".join(lines) + "\n").encode())
        self.land(VCF, target.read_bytes(), announce)
        target.unlink()

    def plain_snvs(self, lines: list[str], n: int) -> list[int]:
        """Indexes (0-based; the file line is one more) of `n` bi-allelic SNV records on chr1-3,
        spread over the file, each carried by a sample in the clean run."""
        carried = set(
            self.node.baseline["harmonised_variants"]
            .select("source_chrom", "source_pos")
            .unique()
            .iter_rows()
        )
        found = []
        for i, line in enumerate(lines):
            if line.startswith("#"):
                continue
            chrom, pos, _, ref, alt = line.split("\t")[:5]
            autosome = chrom in ("chr1", "chr2", "chr3")
            if autosome and len(ref) == len(alt) == 1 and (chrom, int(pos)) in carried:
                found.append(i)
        step = len(found) // (n + 1)
        return [found[step * (k + 1)] for k in range(n)]

    # clinical

    def phenopacket(self, sample: str) -> str:
        return f"clinical/phenopackets/{sample}.json"

    def edit_phenopacket(self, sample: str, edit: Callable[[dict], None]) -> None:
        path = self.phenopacket(sample)
        packet = json.loads((self.folder / path).read_text())
        edit(packet)
        self.land(path, json.dumps(packet, indent=2).encode())

    def move_to_csv(self, rows_edit: Callable[[list[list[str]]], None] | None = None) -> list[str]:
        """The last CSV_PERSONS persons leave their Phenopackets for one DK-style registry CSV
        (read with `csv_mapping: DK`); `rows_edit` damages the rows (header first). Returns
        their sample ids, in CSV order (line 2 onwards)."""
        moved = self.samples[-CSV_PERSONS:]
        rows = [list(CSV_HEADER)]
        for sample in moved:
            packet = json.loads((self.folder / self.phenopacket(sample)).read_text())
            subject = packet["subject"]
            diseases = [d["term"]["id"] for d in packet.get("diseases", [])]
            icd10 = [d.removeprefix("ICD10:") for d in diseases if d.startswith("ICD10:")]
            hpo = [f["type"]["id"] for f in packet.get("phenotypicFeatures", [])]
            sex = {"FEMALE": "kvinde", "MALE": "mand"}[subject["sex"]]
            year = subject["dateOfBirth"][:4]
            rows.append([sample, sex, year, ";".join(icd10), ";".join(hpo)])
        if rows_edit is not None:
            rows_edit(rows)
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        manifest = self.manifest()
        gone = {self.phenopacket(s) for s in moved}
        manifest["files"] = [f for f in manifest["files"] if f["path"] not in gone]
        for path in gone:
            (self.folder / path).unlink()
        data = text.getvalue().encode()
        (self.folder / CSV_FILE).write_bytes(data)
        manifest["files"].append(
            {
                "path": CSV_FILE,
                "kind": "clinical",
                "format": "CSV",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
        self.save_manifest(manifest)
        return moved


# ---------------------------------------------------------------------------------------------
# what a case expects


@dataclass(frozen=True)
class Rejected:
    """(A): the run succeeds; `rows` are the reject table's new rows, each a column -> regex
    (fullmatch) mapping; the good records are the clean run's minus `lost` variant records
    ((chrom, pos) as in the VCF) or minus `dropped` persons (pseudonyms); `changed` persons are
    published but legitimately differ from the clean run (a term dropped, read from a CSV)."""

    table: str
    rows: tuple[dict[str, str], ...]
    lost: frozenset[tuple[str, int]] = frozenset()
    dropped: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Failed:
    """(B): `step` fails; `message` (regex) is found in its error or in the failures of its
    failed blocking checks (`checks`); `landed` (regex), when given, is why landing-zone
    discovery holds the batch back as incomplete."""

    step: str
    message: str
    checks: tuple[str, ...] = ()
    landed: str | None = None


Expectation = Rejected | Failed
Corruption = Callable[[Batch], Expectation]


def _variant_reject(line: int, reason: str) -> dict[str, str]:
    return {"source_file": rf".*/{BAD}/{re.escape(VCF)}", "line": str(line), "reason": reason}


def _record(line: str) -> tuple[str, int]:
    chrom, pos = line.split("\t")[:2]
    return chrom, int(pos)


def _with_field(line: str, column: int, value: str) -> str:
    fields = line.split("\t")
    fields[column] = value
    return "\t".join(fields)


# -- variants


def truncated_bgzip(batch: Batch, announce: bool = True) -> Expectation:
    """The VCF lost its tail at a BGZF block boundary (blocks of whole lines, as a
    line-buffered writer makes them): what is left decompresses cleanly."""
    text = ("\n".join(batch.vcf_lines()) + "\n").encode()
    blocks, start = [], 0
    while start < len(text):
        end = text.index(b"\n", min(start + 2000, len(text) - 1)) + 1
        blocks.append(compress_block(text[start:end], 6))
        start = end
    kept = b"".join(blocks[: len(blocks) * 2 // 3])  # and no EOF block
    batch.land(VCF, kept, announce)
    file = re.escape(VCF)
    if announce:
        return Failed("harmonised_variants", rf"{file}: truncated")
    return Failed(
        "harmonised_variants",
        rf"{file}: truncated.*checksum or size differs from the manifest",
        landed=rf"missing: .*{file}",
    )


def truncated_in_transit(batch: Batch) -> Expectation:
    return truncated_bgzip(batch, announce=False)


def malformed_pos(batch: Batch) -> Expectation:
    lines = batch.vcf_lines()
    (i,) = batch.plain_snvs(lines, 1)
    lines[i] = _with_field(lines[i], 1, "12x3")
    batch.land_vcf(lines)
    return Failed("harmonised_variants", rf"{re.escape(VCF)}: line {i + 1}: POS '12x3' ")


def missing_column(batch: Batch) -> Expectation:
    lines = batch.vcf_lines()
    (i,) = batch.plain_snvs(lines, 1)
    lines[i] = lines[i].rsplit("\t", 1)[0]
    batch.land_vcf(lines)
    return Failed(
        "harmonised_variants", rf"{re.escape(VCF)}: line {i + 1}: 20 columns, the header has 21"
    )


def extra_column(batch: Batch) -> Expectation:
    lines = batch.vcf_lines()
    (i,) = batch.plain_snvs(lines, 1)
    lines[i] += "\t0/1:5,5:10:40"
    batch.land_vcf(lines)
    return Failed(
        "harmonised_variants", rf"{re.escape(VCF)}: line {i + 1}: 22 columns, the header has 21"
    )


def alt_not_acgtn(batch: Batch) -> Expectation:
    lines = batch.vcf_lines()
    (i,) = batch.plain_snvs(lines, 1)
    lines[i] = _with_field(lines[i], 4, "Z")
    batch.land_vcf(lines)
    return Rejected(
        "variant_rejects",
        (_variant_reject(i + 1, "non_acgtn_allele") | {"alt": "Z"},),
        lost=frozenset({_record(lines[i])}),
    )


def symbolic_alleles(batch: Batch) -> Expectation:
    """A structural <DEL> and a gVCF reference block (<NON_REF>, END) where two SNVs were."""
    lines = batch.vcf_lines()
    deletion, block = batch.plain_snvs(lines, 2)
    lost = frozenset({_record(lines[deletion]), _record(lines[block])})
    fields = lines[deletion].split("\t")
    fields[4], fields[7] = "<DEL>", f"SVTYPE=DEL;END={int(fields[1]) + 120};SVLEN=-120"
    lines[deletion] = "\t".join(fields)
    fields = lines[block].split("\t")
    fields[4:8] = ["<NON_REF>", ".", ".", f"END={int(fields[1]) + 40}"]
    fields[9:] = ["0/0:30,0:30:90"] * len(fields[9:])
    lines[block] = "\t".join(fields)
    batch.land_vcf(lines)
    return Rejected(
        "variant_rejects",
        (
            _variant_reject(deletion + 1, "symbolic_allele") | {"alt": "<DEL>"},
            _variant_reject(block + 1, "symbolic_allele") | {"alt": "<NON_REF>"},
        ),
        lost=lost,
    )


def contig_not_in_reference(batch: Batch) -> Expectation:
    """chr9 is a chromosome the synthetic reference lacks; chrUn_KI270302v1 is no chromosome."""
    lines = batch.vcf_lines()
    missing, unplaced = batch.plain_snvs(lines, 2)
    lost = frozenset({_record(lines[missing]), _record(lines[unplaced])})
    lines[missing] = _with_field(lines[missing], 0, "chr9")
    lines[unplaced] = _with_field(lines[unplaced], 0, "chrUn_KI270302v1")
    batch.land_vcf(lines)
    return Rejected(
        "variant_rejects",
        (
            _variant_reject(missing + 1, "contig_not_in_reference") | {"chrom": "chr9"},
            _variant_reject(unplaced + 1, "unknown_contig") | {"chrom": "chrUn_KI270302v1"},
        ),
        lost=lost,
    )


def duplicate_sample_ids(batch: Batch) -> Expectation:
    lines = batch.vcf_lines()
    (i,) = [k for k, line in enumerate(lines) if line.startswith("#CHROM")]
    fields = lines[i].split("\t")
    fields[10] = fields[9]
    lines[i] = "\t".join(fields)
    batch.land_vcf(lines)
    return Failed(
        "harmonised_variants",
        rf"{re.escape(VCF)}: line {i + 1}: duplicate sample id {pseudonym(fields[9])}",
    )


def manifest_sample_not_in_vcf(batch: Batch) -> Expectation:
    manifest = batch.manifest()
    manifest["samples"].append({"sample_id": "SE-LAB-GHOST", "reported_sex": "female"})
    batch.save_manifest(manifest)
    ghost = pseudonym("SE-LAB-GHOST")
    return Failed(
        "harmonised_variants",
        rf"{ghost}: in the manifest, not in {re.escape(VCF)}",
        checks=("manifest_samples_match_vcf",),
    )


def vcf_sample_not_in_manifest(batch: Batch) -> Expectation:
    """The lab dropped a sample (and its files) from the manifest, not from the VCF."""
    manifest = batch.manifest()
    gone = manifest["samples"].pop()["sample_id"]
    manifest["files"] = [f for f in manifest["files"] if f.get("sample_id") != gone]
    batch.save_manifest(manifest)
    return Failed(
        "harmonised_variants",
        rf"{pseudonym(gone)}: in {re.escape(VCF)}, not in the manifest",
        checks=("manifest_samples_match_vcf",),
    )


def grch37_declared_grch38(batch: Batch) -> Expectation:
    """A GRCh37 VCF of the same (synthetic) genome, for this batch's samples; the manifest
    still says GRCh38: most REFs disagree with GRCh38, so the reject rate gate stops it."""
    lines = gzip.decompress(batch.node.grch37_vcf).decode().splitlines()
    (i,) = [k for k, line in enumerate(lines) if line.startswith("#CHROM")]
    lines[i] = "\t".join([*lines[i].split("\t")[:9], *batch.samples])
    batch.land_vcf(lines)
    return Failed(
        "harmonised_variants",
        rf"{re.escape(VCF)}: \d+ of \d+ allele rows rejected .*ref_mismatch",
        checks=("reject_rate_below_ceiling",),
    )


def empty_vcf(batch: Batch) -> Expectation:
    batch.land(VCF, b"")
    return Failed("harmonised_variants", rf"{re.escape(VCF)}: empty file \(0 bytes\)")


def ten_mb_vcf_line(batch: Batch) -> Expectation:
    """A record replaced by 10 MB of text without a single tab (a pasted blob)."""
    lines = batch.vcf_lines()
    (i,) = batch.plain_snvs(lines, 1)
    lines[i] = "ACGT" * (TEN_MB // 4)
    batch.land_vcf(lines)
    return Failed(
        "harmonised_variants", rf"{re.escape(VCF)}: line {i + 1}: 1 column, the header has 21"
    )


# -- sequencing


def _first_fastq(batch: Batch) -> tuple[str, str]:
    sample = batch.samples[0]
    return f"reads/{sample}_R1.fastq.gz", rf"reads/{pseudonym(sample)}_R1\.fastq\.gz"


def empty_fastq(batch: Batch) -> Expectation:
    path, shown = _first_fastq(batch)
    batch.land(path, b"")
    return Failed(
        "raw_sequences",
        rf"{shown}: empty file \(0 bytes\)",
        checks=("files_present_and_intact",),
    )


def fastq_wrong_checksum(batch: Batch) -> Expectation:
    """One base differs from what the lab checksummed."""
    path, shown = _first_fastq(batch)
    lines = gzip.decompress((batch.folder / path).read_bytes()).split(b"\n")
    lines[1] = (b"C" if lines[1][:1] != b"C" else b"G") + lines[1][1:]
    batch.land(path, gzip.compress(b"\n".join(lines), mtime=0), announce=False)
    return Failed(
        "raw_sequences",
        rf"{shown}: checksum or size differs from the manifest",
        checks=("files_present_and_intact",),
    )


# -- the manifest


def manifest_not_json(batch: Batch) -> Expectation:
    text = (batch.folder / "manifest.json").read_text()
    (batch.folder / "manifest.json").write_text(text[: len(text) // 2])
    message = rf"{BAD}/manifest\.json: line \d+: not valid JSON"
    return Failed("raw_sequences", message, landed=message)


def manifest_missing_field(batch: Batch) -> Expectation:
    manifest = batch.manifest()
    del manifest["reference_build"]
    batch.save_manifest(manifest)
    message = rf"{BAD}/manifest\.json: reference_build: Field required"
    return Failed("raw_sequences", message, landed=message)


# -- clinical


def _clinical_reject(file: str, record: str, field_name: str, reason: str) -> dict[str, str]:
    return {"source_file": file, "record": record, "field": field_name, "reason": reason}


def _packet_file(sample: str) -> str:
    return re.escape(f"clinical/phenopackets/{pseudonym(sample)}.json")


def _packet_record(sample: str) -> str:
    return re.escape(f"phenopacket id={pseudonym(sample)}-phenopacket")


def phenopacket_not_json(batch: Batch) -> Expectation:
    sample = batch.samples[1]
    path = batch.phenopacket(sample)
    text = (batch.folder / path).read_text()
    batch.land(path, text[: len(text) // 2].encode())
    reason = r".*: line \d+ column \d+: not valid JSON: .*"
    return Rejected(
        "clinical_rejects",
        (_clinical_reject(_packet_file(sample), "file", "file", reason),),
        dropped=frozenset({pseudonym(sample)}),
    )


def _with_phenotypes(batch: Batch) -> str:
    for sample in batch.samples:
        packet = json.loads((batch.folder / batch.phenopacket(sample)).read_text())
        if packet.get("phenotypicFeatures"):
            return sample
    raise AssertionError("no Phenopacket with phenotypic features")


def phenopacket_unknown_hpo(batch: Batch) -> Expectation:
    sample = _with_phenotypes(batch)

    def edit(packet: dict) -> None:
        packet["phenotypicFeatures"][0]["type"]["id"] = "HP:9999999"

    batch.edit_phenopacket(sample, edit)
    return Rejected(
        "clinical_rejects",
        (
            _clinical_reject(
                _packet_file(sample), _packet_record(sample), "observed_hpo", "unknown HPO term.*"
            )
            | {"value": "HP:9999999", "action": "rejected"},
        ),
        changed=frozenset({pseudonym(sample)}),
    )


def phenopacket_missing_subject_id(batch: Batch) -> Expectation:
    sample = batch.samples[4]
    batch.edit_phenopacket(sample, lambda packet: packet["subject"].pop("id"))
    return Rejected(
        "clinical_rejects",
        (
            _clinical_reject(
                _packet_file(sample),
                _packet_record(sample),
                "sample_id",
                "missing sample id; person dropped",
            ),
        ),
        dropped=frozenset({pseudonym(sample)}),
    )


def phenopacket_missing_birth_date(batch: Batch) -> Expectation:
    sample = batch.samples[5]
    batch.edit_phenopacket(sample, lambda packet: packet["subject"].pop("dateOfBirth"))
    return Rejected(
        "clinical_rejects",
        (
            _clinical_reject(
                _packet_file(sample),
                _packet_record(sample),
                "year_of_birth",
                "year of birth missing; person dropped",
            )
            | {"value": ""},
        ),
        dropped=frozenset({pseudonym(sample)}),
    )


def _born(year: str) -> Corruption:
    def birth(batch: Batch) -> Expectation:
        sample = batch.samples[3]

        def edit(packet: dict) -> None:
            packet["subject"]["dateOfBirth"] = f"{year}-06-01T00:00:00Z"

        batch.edit_phenopacket(sample, edit)
        why = "in the future" if int(year) > 2100 else "before 1900"
        return Rejected(
            "clinical_rejects",
            (
                _clinical_reject(
                    _packet_file(sample),
                    _packet_record(sample),
                    "year_of_birth",
                    rf"year of birth {why}.*; person dropped",
                )
                | {"value": rf"{year}"},
            ),
            dropped=frozenset({pseudonym(sample)}),
        )

    return birth


def _csv_case(edit, rejects: Callable[[list[str]], tuple[dict[str, str], ...]], dropped=()):
    """`edit` damages the CSV rows; `rejects(moved)` and `dropped(moved)` (indexes into the
    moved samples) what the reader must make of it."""

    def corrupt(batch: Batch) -> Expectation:
        moved = batch.move_to_csv(edit)
        return Rejected(
            "clinical_rejects",
            rejects(moved),
            dropped=frozenset(pseudonym(moved[k]) for k in dropped),
            changed=frozenset(pseudonym(s) for s in moved),
        )

    return corrupt


def _csv_reject(line: int | str, field_name: str, reason: str, **extra) -> dict[str, str]:
    record = "file" if line == "file" else f"line {line}"
    return _clinical_reject(re.escape(CSV_FILE), record, field_name, reason) | extra


def _drop_column(name: str):
    def edit(rows: list[list[str]]) -> None:
        column = rows[0].index(name)
        for row in rows:
            del row[column]

    return edit


def _set_cell(line: int, name: str, value: str):
    def edit(rows: list[list[str]]) -> None:
        rows[line - 1][rows[0].index(name)] = value

    return edit


csv_clean = _csv_case(None, lambda moved: ())
csv_missing_mandatory_column = _csv_case(
    _drop_column("koen"),
    lambda moved: (
        _csv_reject(
            "file", "file", r".*mandatory column 'koen' \(sex\) is missing from the header.*"
        ),
    ),
    dropped=range(CSV_PERSONS),
)
csv_missing_mandatory_field = _csv_case(
    _set_cell(3, "foedselsaar", ""),
    lambda moved: (
        _csv_reject(3, "year_of_birth", "year of birth missing; person dropped", value=""),
    ),
    dropped=(1,),
)
csv_unknown_icd10 = _csv_case(
    _set_cell(2, "diagnose_icd10", "Q99.99"),
    lambda moved: (_csv_reject(2, "diagnoses", r"unknown ICD-10.*", value="ICD10:Q99.99"),),
)
csv_ten_mb_line = _csv_case(
    _set_cell(4, "hpo_observeret", "HP:" + "0" * TEN_MB),
    lambda moved: (
        _csv_reject(
            4, "observed_hpo", r"not an HPO id.*", value=r"HP:0{97}\.\.\. \(10,485,763 characters\)"
        ),
    ),
)


@dataclass(frozen=True)
class Case:
    corrupt: Corruption
    assets: tuple[str, ...]  # what the run materialises: the damaged file's asset, downstream
    run_config: dict | None = None


def _case(name: str, corrupt: Corruption, assets, run_config=None, marks=()):
    return pytest.param(Case(corrupt, assets, run_config), id=name, marks=marks)


CASES = [
    _case("vcf-truncated-bgzip", truncated_bgzip, VARIANTS),
    _case("vcf-truncated-in-transit", truncated_in_transit, VARIANTS),
    _case("vcf-malformed-pos", malformed_pos, VARIANTS),
    _case("vcf-missing-column", missing_column, VARIANTS),
    _case("vcf-extra-column", extra_column, VARIANTS),
    _case("vcf-alt-not-acgtn", alt_not_acgtn, VARIANTS),
    _case("vcf-symbolic-alleles", symbolic_alleles, VARIANTS),
    _case("vcf-contig-not-in-reference", contig_not_in_reference, VARIANTS),
    _case("vcf-duplicate-sample-ids", duplicate_sample_ids, VARIANTS),
    _case("manifest-sample-not-in-vcf", manifest_sample_not_in_vcf, VARIANTS),
    _case("vcf-sample-not-in-manifest", vcf_sample_not_in_manifest, VARIANTS),
    _case("vcf-grch37-declared-grch38", grch37_declared_grch38, VARIANTS),
    _case("vcf-empty", empty_vcf, VARIANTS),
    _case("vcf-10mb-line", ten_mb_vcf_line, VARIANTS),
    _case("fastq-empty", empty_fastq, SEQUENCING),
    _case("fastq-wrong-checksum", fastq_wrong_checksum, SEQUENCING),
    _case("manifest-not-json", manifest_not_json, EVERYTHING),
    _case("manifest-missing-field", manifest_missing_field, EVERYTHING),
    _case("phenopacket-not-json", phenopacket_not_json, CLINICAL),
    _case("phenopacket-unknown-hpo", phenopacket_unknown_hpo, CLINICAL),
    _case("phenopacket-missing-subject-id", phenopacket_missing_subject_id, CLINICAL),
    _case("phenopacket-missing-birth-date", phenopacket_missing_birth_date, CLINICAL),
    _case("phenopacket-born-in-future", _born("2999"), CLINICAL),
    _case("phenopacket-born-1700", _born("1700"), CLINICAL),
    _case("csv-clean-control", csv_clean, CLINICAL, CSV_RUN_CONFIG),
    _case("csv-missing-mandatory-column", csv_missing_mandatory_column, CLINICAL, CSV_RUN_CONFIG),
    _case("csv-missing-mandatory-field", csv_missing_mandatory_field, CLINICAL, CSV_RUN_CONFIG),
    _case("csv-unknown-icd10", csv_unknown_icd10, CLINICAL, CSV_RUN_CONFIG),
    _case("csv-10mb-line", csv_ten_mb_line, CLINICAL, CSV_RUN_CONFIG),
]


# ---------------------------------------------------------------------------------------------
# the run and its outcome


def _failure_text(result: dg.ExecuteInProcessResult, step: str) -> str:
    """The step's error message and the failures of its failed checks. The step must fail with
    a deliberate `dg.Failure`, not crash: a crash's message is "Error occurred while executing
    op", its reason buried in the cause's traceback."""
    failures = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    assert failures, f"{step} did not fail"
    error = failures[0].step_failure_data.error
    assert error.cls_name == "Failure", error.to_string()
    parts = [error.message]
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and "failures" in evaluation.metadata:
            parts.append(evaluation.metadata["failures"].value)
    return "\n".join(parts)


def _assert_failed(node: Node, expected: Failed, result, before: dict) -> None:
    assert not result.success
    text = _failure_text(result, expected.step)
    assert re.search(expected.message, text), text
    assert NATIONAL_SAMPLE_ID not in text, "a national sample id reached the run log"
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in expected.checks:
        assert not checks[name].passed and checks[name].blocking, name
    assert node.versions() == before, "a table of the node got a new version"
    if expected.landed is not None:
        (landed,) = [b for b in discover_batches(node.settings.node(COUNTRY)) if b.batch_id == BAD]
        assert not landed.complete
        assert re.search(expected.landed, f"missing: {landed.missing} {landed.problem}")


def _new_rows(node: Node, table: str) -> pl.DataFrame:
    rows = node.rows(table, BAD)
    return rows.join(node.baseline[table], on=rows.columns, how="anti", nulls_equal=True)


def _assert_rejected(node: Node, case: Case, expected: Rejected, result, before: dict) -> None:
    """Every reject is new: the clean run rejected nothing (see `published`)."""
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, failed
    written = {t for asset in case.assets for t in TABLES[asset]}
    after = node.versions()
    for name in NODE_TABLES:
        if name in written:
            assert after[name] == before[name] + 1, f"{name} not published once"
        else:
            assert after[name] == before[name], f"{name} changed"
    new = _new_rows(node, expected.table)
    assert new.height == len(expected.rows), new
    assert NATIONAL_SAMPLE_ID not in new.write_csv()
    unmatched = list(expected.rows)
    for row in new.iter_rows(named=True):
        match = [
            e
            for e in unmatched
            if all(re.fullmatch(p, str(row[c]), re.DOTALL) for c, p in e.items())
        ]
        assert match, f"unexpected reject {row}"
        unmatched.remove(match[0])
    if expected.table == "variant_rejects":
        lost = pl.DataFrame(
            list(expected.lost),
            schema={"source_chrom": pl.String, "source_pos": pl.Int64},
            orient="row",
        )
        clean = node.baseline["harmonised_variants"]
        kept = comparable(clean.join(lost, on=["source_chrom", "source_pos"], how="anti"))
        assert 0 < kept.height < clean.height
        assert node.rows("harmonised_variants", BAD).equals(kept), "good records lost or changed"
        assert node.rows("variant_samples", BAD).equals(node.baseline["variant_samples"])
        sites = node.rows("variant_sites", BAD)
        assert sites.height == node.baseline["variant_sites"].height - len(expected.lost)
        assert sites.join(node.baseline["variant_sites"], on=sites.columns, how="anti").is_empty()
    else:
        persons = node.rows("clinical_phenotypes", BAD)
        clean = node.baseline["clinical_phenotypes"]
        assert set(persons["sample"]) == set(clean["sample"]) - expected.dropped
        same = ~pl.col("sample").is_in(list(expected.dropped | expected.changed))
        assert persons.filter(same).equals(clean.filter(same)), "good records lost or changed"
        person = ["sample", "sex_at_birth", "year_of_birth"]  # also of those read otherwise
        kept = clean.filter(~pl.col("sample").is_in(list(expected.dropped)))
        assert persons.select(person).equals(kept.select(person))


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_rejected_or_stops_the_run_with_file_line_and_reason(node: Node, case: Case):
    expected = case.corrupt(Batch(node))
    before = node.versions()
    peak, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    result = node.run(case.assets, case.run_config)
    elapsed = time.monotonic() - started
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    assert elapsed < 60 and growth_mb < 500, (elapsed, growth_mb)
    if isinstance(expected, Failed):
        _assert_failed(node, expected, result, before)
    else:
        _assert_rejected(node, case, expected, result, before)
    for name in NODE_TABLES:
        assert node.rows(name, OTHER).equals(node.other[name]), f"{name}: b002 changed"
