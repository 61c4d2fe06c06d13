"""`clinical_phenotypes`: three national clinical formats into one validated model."""

import warnings
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from gdi_pipelines.config.locations import join_uri
from gdi_pipelines.defs.batch import open_batch
from gdi_pipelines.defs.expectations import suite_checks, validate_staged
from gdi_pipelines.defs.gating import check_result, check_specs, gate_and_publish
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.defs.retries import retry_transient_storage
from gdi_pipelines.domain.clinical import (
    DEFAULT_MAPPINGS,
    PERSON_SCHEMA,
    REJECT_SCHEMA,
    ClinicalFile,
    SourceFormat,
    gates,
    read_clinical_files,
    records_to_frame,
    rejects_to_frame,
    replacements_to_frame,
)
from gdi_pipelines.domain.manifest import FileFormat, FileKind
from gdi_pipelines.domain.pseudonym import Redactor
from gdi_pipelines.storage.delta import TableRef

TABLE = "clinical_phenotypes"
REJECTS_TABLE = "clinical_rejects"
_FORMATS = {
    FileFormat.PHENOPACKET: SourceFormat.PHENOPACKET,
    FileFormat.CSV: SourceFormat.CSV,
    FileFormat.FHIR: SourceFormat.FHIR,
}
_KEYS = pl.Schema({"country": pl.String, "batch_id": pl.String})
SCHEMA = pl.Schema(
    {**_KEYS, "sample": pl.String, **{k: v for k, v in PERSON_SCHEMA.items() if k != "sample_id"}}
)
REJECTS_SCHEMA = pl.Schema({**_KEYS, **REJECT_SCHEMA, "action": pl.String})
DESCRIPTIONS = {
    "sample": "keyed pseudonym of the lab sample id (same as in every table of the node)",
    "sex_at_birth": "female, male, other or unknown",
    "administrative_gender": "female, male, other or unknown",
    "year_of_birth": "year only; full dates are never kept",
    "age_band": "decade of age at the reference year (90+ pooled)",
    "country_of_origin": "ISO 3166-1 alpha-2",
    "diagnoses": "ICD-10, ORPHA, OMIM or MONDO CURIEs with labels",
    "observed_hpo": "HPO terms observed (current ids, obsolete ones replaced)",
    "excluded_hpo": "HPO terms explicitly excluded",
    "hpo_ancestors": "observed terms and all their HPO ancestors: filter on any ancestor",
    "affected": "affected status when the source tells",
    "disease_onset": "HPO onset term or ISO 8601 age at onset",
    "consent_codes": "GA4GH DUO codes where the source gives them",
    "source_format": "phenopacket, csv or fhir",
}


class ClinicalConfig(dg.Config):
    csv_mapping: str | None = None  # a key of DEFAULT_MAPPINGS; default: the node's country


def _redacted(frame: pl.DataFrame, redact: Redactor, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).map_elements(redact, return_dtype=pl.String) for c in columns
    )


def reject_rows(batch, where, redact: Redactor) -> pl.DataFrame:
    rejected = rejects_to_frame(batch.rejects).with_columns(action=pl.lit("rejected"))
    replaced = replacements_to_frame(batch.replacements).select(
        "source_file",
        "record",
        "field",
        pl.col("old_id").alias("value"),
        pl.format("{}: {}", pl.col("reason"), pl.col("new_id")).alias("reason"),
        action=pl.lit("replaced"),
    )
    rows = pl.concat([rejected, replaced]).with_columns(
        country=pl.lit(where.country), batch_id=pl.lit(where.batch_id)
    )
    return _redacted(rows, redact, ["source_file", "record", "value", "reason"])


def build_clinical_defs(partitions: dg.MultiPartitionsDefinition) -> dg.Definitions:
    @dg.asset(
        name=TABLE,
        partitions_def=partitions,
        group_name="clinical",
        kinds={"delta", "polars"},
        owners=["team:clinical-data"],
        check_specs=check_specs(TABLE, gates.CHECKS + suite_checks(TABLE)),
        description=(
            "One row per person from the batch's clinical export (Phenopackets v2, national CSV, "
            "FHIR R4), validated against HPO and WHO ICD-10, keyed by the node pseudonym. "
            f"Rejected records and replaced terms go to `{REJECTS_TABLE}`."
        ),
    )
    @retry_transient_storage
    def clinical_phenotypes(
        context: dg.AssetExecutionContext, config: ClinicalConfig, platform: PlatformResource
    ):
        scope = open_batch(context, platform)
        where, manifest = scope.where, scope.manifest
        pseudonyms, redact, store, folder = (
            scope.pseudonyms,
            scope.redact,
            scope.store,
            scope.folder,
        )
        files = []
        for entry in manifest.files_of(FileKind.CLINICAL):
            with store.open_read(join_uri(folder, entry.path)) as stream:
                files.append(
                    ClinicalFile(stream.read(), redact(entry.path), _FORMATS[entry.format])
                )
        mapping_key = config.csv_mapping or where.country
        batch = read_clinical_files(
            files,
            pseudonymise=scope.pseudonymiser(),
            reference_year=datetime.now(UTC).year,
            csv_mapping=DEFAULT_MAPPINGS.get(mapping_key),
        )
        persons = records_to_frame(batch.records).rename({"sample_id": "sample"})
        persons = _redacted(persons, redact, ["source_file", "source_record"]).with_columns(
            country=pl.lit(where.country), batch_id=pl.lit(where.batch_id)
        )
        rejected = reject_rows(batch, where, redact)
        context.log.info(
            f"{len(files)} clinical file(s): {persons.height} persons, "
            f"{rejected.height} rejects or replacements"
        )
        publisher = scope.publisher(TABLE, SCHEMA, descriptions=DESCRIPTIONS)
        publisher.stage(persons)
        staged = publisher.staged().collect()
        outcomes = [
            gates.pseudonyms(staged),
            gates.sex_vocabulary(staged),
            gates.birth_years(staged),
            gates.ontology_codes(staged),
            gates.no_identifiers(staged, list(pseudonyms)),
            gates.coverage(staged, list(pseudonyms.values())),
            *validate_staged(
                publisher.staged(),
                TABLE,
                {"expected_rows": len(manifest.samples)},
                scope.docs(TABLE),
                scope.run_id,
                context.log,
            ),
            gates.rejects(rejected),
        ]
        yield from gate_and_publish(
            context, publisher, outcomes, {"persons": staged.height, "rejects": rejected.height}
        )
        rejects_publisher = scope.publisher(REJECTS_TABLE, REJECTS_SCHEMA)
        rejects_publisher.stage(rejected)
        rejects_publisher.publish()

    # partitioned asset checks are a Dagster preview feature; we rely on it knowingly
    warnings.filterwarnings("ignore", "Specifying a partitions_def on an AssetCheckSpec")

    @dg.asset_check(
        asset=clinical_phenotypes,
        name=gates.GENOTYPES,
        description=gates.GENOTYPES_DESCRIPTION,
        additional_deps=["harmonised_variants"],
        partitions_def=partitions,
    )
    def persons_match_genotyped_samples(
        context: dg.AssetCheckExecutionContext, platform: PlatformResource
    ) -> dg.AssetCheckResult:
        keys = context.partition_key.keys_by_dimension
        node = platform.node(keys["country"])
        batch = pl.col("batch_id") == keys["batch"]
        persons = TableRef(node.warehouse.child(TABLE)).scan().filter(batch)
        genotyped = TableRef(node.warehouse.child("variant_samples")).scan().filter(batch)
        return check_result(
            gates.genotype_coverage(
                set(persons.select("sample").collect()["sample"]),
                set(genotyped.select("sample").collect()["sample"]),
            )
        )

    return dg.Definitions(
        assets=[clinical_phenotypes], asset_checks=[persons_match_genotyped_samples]
    )
