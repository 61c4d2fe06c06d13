"""Assembles the code location; settings are read when Dagster loads it, not at import."""

import dagster as dg

from gdi_pipelines.config import load_settings
from gdi_pipelines.defs.clinical import build_clinical_defs
from gdi_pipelines.defs.federation import build_federation_defs
from gdi_pipelines.defs.jobs import ingest_job
from gdi_pipelines.defs.maintenance import delta_maintenance, weekly_maintenance
from gdi_pipelines.defs.partitions import country_batch_partitions
from gdi_pipelines.defs.resources import platform_resource_from_env
from gdi_pipelines.defs.sensors import landing_zone_sensor
from gdi_pipelines.defs.sequencing import build_sequencing_defs
from gdi_pipelines.defs.summaries import build_summaries_defs
from gdi_pipelines.defs.variants import build_variants_defs


def _executor(name: str) -> dg.ExecutorDefinition:
    if name == "k8s":
        from dagster_k8s import k8s_job_executor  # only deployments on Kubernetes need it

        return k8s_job_executor
    return dg.in_process_executor if name == "in_process" else step_processes


# One process per step, forked from a server that imported the heavy modules once
step_processes = dg.multiprocess_executor.configured(
    lambda config: {
        **config,
        "start_method": {"forkserver": {"preload_modules": ["gdi_pipelines.defs.step_preload"]}},
    },
    name="multiprocess",
    config_schema={
        "max_concurrent": dg.Field(int, is_required=False, description="0: one per CPU"),
    },
)


def build_definitions(countries: tuple[str, ...], executor: str = "multiprocess") -> dg.Definitions:
    partitions = country_batch_partitions(countries)
    return dg.Definitions.merge(
        build_sequencing_defs(partitions),
        build_clinical_defs(partitions),
        build_variants_defs(partitions),
        build_summaries_defs(partitions),
        build_federation_defs(),
        dg.Definitions(
            jobs=[ingest_job(partitions), delta_maintenance],
            schedules=[weekly_maintenance],
            sensors=[landing_zone_sensor()],
            resources={"platform": platform_resource_from_env()},
            executor=_executor(executor),
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_settings()
    return build_definitions(settings.countries, settings.executor)
