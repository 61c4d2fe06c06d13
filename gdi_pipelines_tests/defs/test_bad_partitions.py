"""Every asset's gate holds: a bad partition fails its blocking check with the figure, publishes
nothing (version and content unchanged), is quarantined with its report, starts nothing
downstream and leaves the other partitions alone; the same partition then publishes normally.

The readers reject bad records on the way in (clinical codes, REF against the reference are
rejects before they are gate failures), so most cases inject the fault past them, into what the
asset computed: the gates are the second line and must hold on their own.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gdi_pipelines.cli import main as gdi
from gdi_pipelines.config import Settings, load_settings
from gdi_pipelines.definitions import build_definitions
from gdi_pipelines.defs import clinical, federation, summaries, variants
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.orchestrate import materialise, refresh_federation
from gdi_pipelines.storage.delta import TableRef
from gdi_pipelines_tests.defs.landing_fixtures import KEY

COUNTRY, BAD, OTHER = "SE", "b001", "b002"
NODE_JOB, FEDERATION_JOB = "ingest_batch", "federation_refresh"


@dataclass
class Network:
    home: Path
    settings: Settings
    defs: dg.Definitions
    instance: dg.DagsterInstance

    def table(self, asset: str) -> TableRef:
        zone = self.settings.federation if asset in FEDERATION else self.warehouse
        return TableRef(zone.child(asset))

    @property
    def warehouse(self):
        return self.settings.node(COUNTRY).warehouse

    def run(self, assets: list[str]) -> dg.ExecuteInProcessResult:
        keys = [dg.AssetKey(a) for a in assets]
        if assets[0] in FEDERATION:
            job = self.defs.resolve_job_def(FEDERATION_JOB)
            return job.execute_in_process(
                instance=self.instance, asset_selection=keys, raise_on_error=False
            )
        return self.defs.resolve_job_def(NODE_JOB).execute_in_process(
            instance=self.instance,
            partition_key=CountryBatch(COUNTRY, BAD).key,
            asset_selection=keys,
            raise_on_error=False,
        )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Network:
    """SE with two batches, DK with one, everything published once, federation included."""
    home = tmp_path_factory.mktemp("bad-partitions") / "gdi-home"
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, home)
        args = ["--batches", "2", "--samples", "24", "--variants", "400", "--reads", "10"]
        assert gdi(["synth", *args]) == 0
        settings = load_settings()
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(BATCHES.name, [BAD, OTHER])
        defs = build_definitions(settings.countries, "in_process")
        where = [CountryBatch("SE", BAD), CountryBatch("SE", OTHER), CountryBatch("DK", BAD)]
        runs = [*materialise(defs, instance, where), refresh_federation(defs, instance)]
        assert all(r.success for r in runs), [r.error for r in runs if not r.success]
    return Network(home, settings, defs, instance)


@pytest.fixture
def network(published: Network, monkeypatch: pytest.MonkeyPatch) -> Network:
    _environment(monkeypatch, published.home)
    return published


def _environment(patch: pytest.MonkeyPatch, home: Path) -> None:
    patch.setenv("GDI_HOME", str(home))
    patch.setenv("GDI_COUNTRIES", "SE,DK")
    patch.setenv("GDI_PSEUDONYM_KEY", KEY)
    patch.setenv("GX_ANALYTICS_ENABLED", "false")


# ---------------------------------------------------------------------------------------------
# the faults


Fault = Callable[[pytest.MonkeyPatch, Network], AbstractContextManager[None]]


@contextmanager
def checksum_mismatch(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    """One landed FASTQ differs by one base from what the manifest's checksum says."""
    fastq = sorted((net.home / "landing" / COUNTRY / BAD / "reads").glob("*.fastq.gz"))[0]
    original = fastq.read_bytes()
    lines = gzip.decompress(original).split(b"\n")
    lines[1] = (b"C" if lines[1][:1] != b"C" else b"G") + lines[1][1:]
    fastq.write_bytes(gzip.compress(b"\n".join(lines)))
    try:
        yield
    finally:
        fastq.write_bytes(original)


@contextmanager
def ref_mismatch(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    """The first harmonised site's REF no longer matches GRCh38."""
    real = variants.harmonise_vcf

    def harmonise(*args, **kwargs):
        for number, chunk in enumerate(real(*args, **kwargs)):
            if number == 0:
                first = pl.col("pos") == chunk.calls["pos"][0]
                swapped = pl.col("ref").str.replace_many(["A", "C", "G", "T"], list("CGTA"))
                calls = chunk.calls.with_columns(ref=pl.when(first).then(swapped).otherwise("ref"))
                chunk = replace(chunk, calls=calls)
            yield chunk

    patch.setattr(variants, "harmonise_vcf", harmonise)
    yield


def _on_result(patch: pytest.MonkeyPatch, module, name: str, damage: Callable) -> None:
    """`module.name` returns what it did, damaged by `damage`."""
    real = getattr(module, name)
    patch.setattr(module, name, lambda *args, **kwargs: damage(real(*args, **kwargs)))


def _first_row() -> pl.Expr:
    return pl.int_range(pl.len()) == 0


@contextmanager
def invalid_hpo_term(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    """A person carries an HPO id that does not exist."""
    bogus = pl.lit([{"id": "HP:9999999", "label": "no such term"}])
    observed = pl.when(_first_row()).then(bogus).otherwise("observed_hpo")
    _on_result(patch, clinical, "records_to_frame", lambda f: f.with_columns(observed_hpo=observed))
    yield


@contextmanager
def call_rate_above_one(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    call_rate = pl.col("call_rate") + 1.5
    _on_result(patch, summaries, "sample_qc", lambda qc: qc.with_columns(call_rate=call_rate))
    yield


@contextmanager
def af_above_one(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    af = pl.col("AF") + 1.0
    _on_result(patch, summaries, "variant_summaries", lambda frame: frame.with_columns(AF=af))
    yield


@contextmanager
def person_not_counted(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    """The cells of one sex are lost, so its persons are counted nowhere."""
    _on_result(patch, summaries, "cohort_cells", lambda c: c.filter(pl.col("sex") != c["sex"][0]))
    yield


@contextmanager
def small_country_count(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    """A per-country allele count below k is published."""
    ac = pl.when(_first_row()).then(1).otherwise("AC_SE")
    _on_result(patch, federation, "pool_country_summaries", lambda p: p.with_columns(AC_SE=ac))
    yield


@contextmanager
def no_cell_suppression(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    real = federation.protect_cohort_cells
    patch.setattr(federation, "protect_cohort_cells", lambda cells, k: real(cells, 1))
    yield


@contextmanager
def beacon_document_lost(patch: pytest.MonkeyPatch, net: Network) -> Iterator[None]:
    blocks = itertools.count()  # the documents are built a block at a time: lose one

    def lose_one(lines):
        return lines[:-1] if next(blocks) == 0 else lines

    _on_result(patch, federation, "beacon_lines", lose_one)
    yield


@dataclass(frozen=True)
class Case:
    asset: str
    fault: Fault
    check: str
    figure: str  # metadata key whose value is the number of offending items
    downstream: tuple[str, ...] = ()
    side_tables: tuple[str, ...] = ()  # published by the same asset after its gate


CASES = [
    Case("raw_sequences", checksum_mismatch, "files_present_and_intact", "failed_files"),
    Case(
        "harmonised_variants",
        ref_mismatch,
        "ref_matches_reference",
        "mismatches",
        ("sample_qc", "country_variant_summaries"),
        (variants.REJECTS_TABLE, variants.SAMPLES_TABLE, variants.SITES_TABLE),
    ),
    Case(
        "clinical_phenotypes",
        invalid_hpo_term,
        "only_valid_ontology_codes",
        "invalid_codes",
        ("sample_qc", "country_cohort_counts"),
        (clinical.REJECTS_TABLE,),
    ),
    Case(
        "sample_qc",
        call_rate_above_one,
        "rates_in_unit_interval",
        "failed",
        ("country_variant_summaries",),
    ),
    Case("country_variant_summaries", af_above_one, "af_in_unit_interval", "unexpected_count"),
    Case("country_cohort_counts", person_not_counted, "every_person_counted", "uncounted"),
    Case(
        "cross_country_aggregates",
        small_country_count,
        "country_cells_protected",
        "small",
        ("network_exports",),
    ),
    Case("cohort_summary", no_cell_suppression, "small_cells_suppressed", "small"),
]
FEDERATION = {"cross_country_aggregates", "cohort_summary", "network_exports"}


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """Content without load timestamps, in a fixed order."""
    frame = frame.select(pl.exclude(pl.Datetime))
    keys = [c for c, t in frame.schema.items() if t.is_numeric() or t == pl.String]
    return frame.sort(keys)


def _failure_metadata(result: dg.ExecuteInProcessResult, step: str) -> dict:
    failures = [e for e in result.all_events if e.is_step_failure and e.step_key == step]
    assert failures, f"{step} did not fail"
    return failures[0].step_failure_data.user_failure_data.metadata


def _started(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}


@pytest.mark.parametrize("case", CASES, ids=[c.asset for c in CASES])
def test_a_bad_partition_is_stopped_by_its_gate(network: Network, case: Case) -> None:
    table = network.table(case.asset)
    version = table.version()
    side_versions = [network.table(t).version() for t in case.side_tables]
    content = _comparable(table.read())
    node = case.asset not in FEDERATION
    others = content.filter(pl.col("batch_id") != BAD) if node else None
    if node:
        assert others.height > 0, "the other batch must be in the table"

    with pytest.MonkeyPatch.context() as patch, case.fault(patch, network):
        bad = network.run([case.asset, *case.downstream])

    assert not bad.success
    evaluation = {e.check_name: e for e in bad.get_asset_check_evaluations()}[case.check]
    assert not evaluation.passed and evaluation.blocking
    assert evaluation.metadata[case.figure].value >= 1
    assert "failures" in evaluation.metadata
    assert table.version() == version
    assert [network.table(t).version() for t in case.side_tables] == side_versions
    assert _comparable(table.read()).equals(content)
    quarantine = Path(_failure_metadata(bad, case.asset)["quarantine_uri"].value)
    report = json.loads((quarantine / "report.json").read_text())
    assert case.check in [c["name"] for c in report["failed_checks"]]
    staged = pl.read_delta(str(quarantine / "data"))
    assert staged.height > 0
    if node:
        assert set(staged["batch_id"]) == {BAD}
    assert case.asset in _started(bad)
    assert not _started(bad) & set(case.downstream)

    good = network.run([case.asset, *case.downstream])
    assert good.success
    assert {case.asset, *case.downstream} <= _started(good)
    assert table.version() == version + 1
    after = _comparable(table.read())
    assert_frame_equal(after, content)  # floats summed in another order may differ in ulps
    if node:
        assert after.filter(pl.col("batch_id") != BAD).equals(others)


def test_exports_that_do_not_read_back_are_quarantined_and_latest_kept(network: Network):
    exports = network.settings.federation.child("exports")
    latest = Path(exports.uri) / "latest.json"
    pointer = latest.read_text()
    version = json.loads(pointer)["version"]
    folder = Path(exports.uri) / f"v{version:06d}"
    files = {p.name: p.read_bytes() for p in folder.iterdir()}

    with pytest.MonkeyPatch.context() as patch, beacon_document_lost(patch, network):
        bad = network.run(["network_exports"])

    assert not bad.success
    evaluation = {e.check_name: e for e in bad.get_asset_check_evaluations()}
    check = evaluation["exports_match_aggregates"]
    assert not check.passed
    assert check.metadata["docs"].value == check.metadata["variants"].value - 1
    assert latest.read_text() == pointer
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    quarantine = Path(_failure_metadata(bad, "network_exports")["quarantine_uri"].value)
    report = json.loads((quarantine / "report.json").read_text())
    assert report["aggregates_version"] == version
    assert (quarantine / "data" / "gdi_beacon_frequencies.jsonl.gz").exists()

    good = network.run(["network_exports"])
    assert good.success
    assert json.loads(latest.read_text())["version"] == version
