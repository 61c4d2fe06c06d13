"""The summary and federation assets through Dagster on a synthetic three-country network."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import subprocess
from pathlib import Path

import dagster as dg
import deltalake
import numpy as np
import polars as pl
import pytest
from PIL import Image
from polars.testing import assert_frame_equal

from gdi_pipelines.defs.partitions import CountryBatch
from gdi_pipelines.domain.aggregates.gates import PERSON_COLUMNS
from gdi_pipelines.domain.aggregates.plots import DPI, EMBED_LIMIT
from gdi_pipelines.domain.aggregates.variant_summaries import country_totals, variant_summaries
from gdi_pipelines.orchestrate import refresh_federation
from gdi_pipelines.storage.maintenance import find_tables
from gdi_pipelines.storage.node_summaries import NodeSummaries, NotASummaryError
from gdi_pipelines.storage.reference_catalogue import load_catalogue
from gdi_pipelines_tests.defs.federated_node import COUNTRIES, FederatedNode
from gdi_pipelines_tests.domain.aggregates.suppression_audit import feasible_ranges

KEYS = ["variant_id"]


def test_every_run_succeeded_and_checks_passed(federated: FederatedNode) -> None:
    assert [r.success for r in federated.runs] == [True] * len(federated.runs)
    # WARN checks may fail on synthetic data; no blocking one did (all runs succeeded)
    assert all(c.severity == "WARN" for r in federated.runs for c in r.checks if not c.passed)


def test_failing_samples_are_left_out_with_their_reason(federated: FederatedNode) -> None:
    for country in COUNTRIES:
        qc = federated.node_table(country, "sample_qc")
        summaries = federated.node_table(country, "country_variant_summaries")
        failing = qc.filter(~pl.col("qc_pass"))
        assert (failing["qc_fail_reasons"].list.len() > 0).all()
        per_batch = qc.group_by("batch_id").agg(passing=pl.col("qc_pass").sum())
        counted = summaries.group_by("batch_id").agg(pl.col("n_samples").max())
        joined = per_batch.join(counted, on="batch_id")
        assert (joined["passing"] == joined["n_samples"]).all(), country
    assert sum(federated.node_table(c, "sample_qc")["qc_pass"].not_().sum() for c in COUNTRIES)


def _genome(node: FederatedNode) -> dict:
    """The synthetic reference's own PARs: its chrY is short, inside GRCh38's real PAR1."""
    return {"par_regions": load_catalogue(node.settings.reference).par_regions()}


def _node_inputs(node: FederatedNode, country: str, relabel: str | None = None):
    def table(name: str) -> pl.LazyFrame:
        frame = node.node_table(country, name).lazy()
        if relabel is None:
            return frame
        # one country, every batch still its own (batches genotype different sites)
        batch = pl.concat_str("country", "batch_id", separator="-")
        return frame.with_columns(batch_id=batch, country=pl.lit(relabel))

    return table("harmonised_variants"), table("variant_sites"), table("sample_qc")


def test_the_fixture_summarises_and_pools_a_region_at_a_time(federated: FederatedNode):
    """The equalities below hold across region boundaries only if the regions are many."""
    contigs = federated.node_table("SE", "country_variant_summaries")["chrom"].n_unique()
    event = federated.instance.get_latest_materialization_event(
        dg.AssetKey("country_variant_summaries")
    )
    assert event.asset_materialization.metadata["regions"].value > 2 * contigs


def test_country_totals_of_two_batches_equal_one_pass_over_both(federated: FederatedNode):
    stored = federated.node_table("SE", "country_variant_summaries")
    assert stored["batch_id"].n_unique() == 2
    totals = country_totals(stored.lazy()).collect()
    direct = variant_summaries(*_node_inputs(federated, "SE"), **_genome(federated)).collect()
    assert_frame_equal(totals.sort(KEYS), direct.sort(KEYS), check_column_order=False)


def test_pooled_figures_equal_the_figures_on_all_samples_together(federated: FederatedNode):
    pooled = federated.federation_table("cross_country_aggregates")
    frames = [_node_inputs(federated, c, relabel="ZZ") for c in COUNTRIES]
    inputs = (pl.concat([f[i] for f in frames]) for i in range(3))
    together = variant_summaries(*inputs, **_genome(federated))
    together = together.collect().rename({"n_hom_alt": "nhomalt"})
    figures = ["AC", "AN", "AF", "nhomalt", "AC_XX", "AN_XX", "AC_XY", "AN_XY"]
    joined = pooled.select(KEYS + figures).join(
        together.select(KEYS + figures), on=KEYS, how="left", suffix="_all"
    )
    assert pooled.height > 500 and joined["AC_all"].null_count() == 0
    for column in figures:
        assert (joined[column] == joined[f"{column}_all"]).all(), column
    # every variant genotyped in enough samples made it into the pool
    enough = together.filter(pl.col("n_samples") >= 20)
    assert set(enough["variant_id"]) == set(pooled["variant_id"])


def test_federation_reads_nothing_but_the_node_summaries(federated, monkeypatch):
    with pytest.raises(NotASummaryError, match="harmonised_variants"):
        NodeSummaries(federated.settings.nodes).read("harmonised_variants")
    opened: list[str] = []
    for module, name in ((pl, "scan_delta"), (pl, "read_delta")):
        original = getattr(module, name)

        def record(source, *args, _original=original, **kwargs):
            opened.append(str(source))
            return _original(source, *args, **kwargs)

        monkeypatch.setattr(module, name, record)
    original_init = deltalake.DeltaTable.__init__

    def record_init(self, table_uri, *args, **kwargs):
        opened.append(str(table_uri))
        original_init(self, table_uri, *args, **kwargs)

    monkeypatch.setattr(deltalake.DeltaTable, "__init__", record_init)
    for name, value in federated.environment.items():
        monkeypatch.setenv(name, value)
    before = federated.settings.federation.child("cross_country_aggregates")
    version = deltalake.DeltaTable(before.uri).version()
    assert refresh_federation(federated.defs, federated.instance).success
    federation_zone = federated.settings.federation.uri
    node_reads = {u for u in opened if not u.startswith(federation_zone)}
    assert node_reads, "the federation read the nodes' summaries"
    allowed = ("/country_variant_summaries", "/country_cohort_counts")
    assert all(u.endswith(allowed) for u in node_reads), sorted(node_reads)
    assert deltalake.DeltaTable(before.uri).version() == version + 1


def _text_of_exports(federated: FederatedNode) -> str:
    texts = []
    for path in (federated.home / "warehouse" / "federation" / "exports").rglob("*"):
        if path.suffix == ".gz":
            texts.append(gzip.decompress(path.read_bytes()).decode())
        elif path.suffix == ".json":
            texts.append(path.read_text())
    return "\n".join(texts)


def test_no_person_level_data_in_any_federation_table_or_export(federated: FederatedNode):
    tables = find_tables(federated.settings.federation)
    names = {t.uri.rsplit("/", 1)[-1] for t in tables}
    assert {"cross_country_aggregates", "cohort_summary"} <= names
    secrets = federated.pseudonyms() | federated.raw_sample_ids()
    assert len(secrets) > 100
    for table in tables:
        frame = pl.read_delta(table.uri)
        assert not {c.lower() for c in frame.columns} & PERSON_COLUMNS, table.uri
        assert not [c for c in frame.columns if c.startswith(("dosage", "gt_"))]
        text = frame.select(pl.col(pl.String)).write_csv()
        assert not [s for s in secrets if s in text], table.uri
    exports = _text_of_exports(federated)
    assert exports.count("\n") > 500
    assert not [s for s in secrets if s in exports]
    assert "test-node-key" not in exports


def test_cohort_summary_suppresses_small_cells_and_their_complements(federated):
    summary = federated.federation_table("cohort_summary")
    k = 5
    published = summary.filter(pl.col("n_persons").is_not_null())
    assert not published.filter(pl.col("n_persons").is_between(1, k - 1)).height
    assert summary.filter(pl.col("suppression") == "primary").height > 0
    for (country, sex), table in summary.group_by("country", "sex"):
        rows = [*sorted(set(table["diagnosis_group"]) - {"TOTAL"}), "TOTAL"]
        cols = [*sorted(set(table["phenotype_group"]) - {"TOTAL"}), "TOTAL"]
        grid = [[float("nan")] * len(cols) for _ in rows]
        for d, p, n in table.select("diagnosis_group", "phenotype_group", "n_persons").rows():
            if n is not None:
                grid[rows.index(d)][cols.index(p)] = float(n)
        for entry, (low, high) in feasible_ranges(np.array(grid)).items():
            assert high - low >= 1, f"hidden {entry} of {country} {sex} is pinned"


def test_exports_agree_with_the_table_read_by_bcftools(federated: FederatedNode):
    exports = federated.home / "warehouse" / "federation" / "exports"
    latest = json.loads((exports / "latest.json").read_text())
    table = federated.settings.federation.child("cross_country_aggregates")
    pooled = pl.read_delta(table.uri, version=latest["version"])
    folder = exports / f"v{latest['version']:06d}"
    fields = r"%CHROM-%POS-%REF-%ALT\t%AC\t%AN\t%AF_SE\n"
    vcf = folder / "gdi_sites.vcf.gz"
    query = subprocess.run(["bcftools", "query", "-f", fields, str(vcf)], capture_output=True)
    assert query.returncode == 0, query.stderr.decode()
    rows = [line.split("\t") for line in query.stdout.decode().splitlines()]
    assert len(rows) == pooled.height
    by_id = {r["variant_id"]: r for r in pooled.iter_rows(named=True)}
    for vid, ac, an, af_se in rows:
        row = by_id[vid]
        assert (int(ac), int(an)) == (row["AC"], row["AN"])
        if row["AF_SE"] is None:
            assert af_se == "."
        else:
            assert float(af_se) == pytest.approx(row["AF_SE"], rel=1e-5)
    documents = gzip.decompress((folder / "gdi_beacon_frequencies.jsonl.gz").read_bytes())
    docs = [json.loads(line) for line in documents.decode().splitlines()]
    assert len(docs) == pooled.height
    populations = {
        f["population"] for d in docs for p in d["frequencyInPopulations"] for f in p["frequencies"]
    }
    assert {"GDI", *COUNTRIES} <= populations
    assert Path(f"{vcf}.tbi").exists()


def _latest_materialization(federated: FederatedNode, asset: str, partition: str | None = None):
    partitions = [partition] if partition else None
    records = federated.instance.fetch_materializations(
        dg.AssetRecordsFilter(dg.AssetKey(asset), asset_partitions=partitions), limit=1
    ).records
    assert records, (asset, partition)
    return records[0]


@pytest.mark.parametrize(
    "asset, partition, key, inches",
    [
        ("sample_qc", str(CountryBatch("SE", "b002").key), "qc_plot", (9.0, 5.4)),
        ("cross_country_aggregates", None, "af_plot", (3.0 * len(COUNTRIES), 3.3)),
    ],
)
def test_materializations_show_their_plot_inline_and_keep_it_next_to_the_docs(
    federated: FederatedNode, asset, partition, key, inches
) -> None:
    record = _latest_materialization(federated, asset, partition)
    metadata = record.asset_materialization.metadata
    markdown = metadata[key].value
    found = re.fullmatch(r"!\[[^\]]+\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert found, markdown[:80]
    png = base64.b64decode(found.group(1))
    assert len(png) <= EMBED_LIMIT
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    assert picture.size == (round(inches[0] * DPI), round(inches[1] * DPI))
    path = Path(metadata[f"{key}_uri"].value)
    assert path.read_bytes() == png
    assert record.run_id in path.name and path.parent.name == "plots"
    assert path.is_relative_to(federated.settings.warehouse.uri)
    assert "_docs" in path.parts and asset in path.parts
    if partition:
        assert "SE_b002" in path.name and "batch_id=b002" in path.parts
