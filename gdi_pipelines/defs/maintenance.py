"""Weekly Delta maintenance of every node and federation table."""

import dagster as dg

from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.storage.maintenance import find_tables, maintain

MAINTENANCE_JOB = "delta_maintenance"


class MaintenanceConfig(dg.Config):
    retention_days: int = 30  # time travel stays possible this far back


@dg.op(description="Compact small files and vacuum unreferenced ones in every Delta table.")
def compact_and_vacuum(
    context: dg.OpExecutionContext, config: MaintenanceConfig, platform: PlatformResource
) -> dg.Output:
    settings = platform.settings()
    roots = [node.warehouse for node in settings.nodes] + [settings.warehouse.child("federation")]
    results = [
        maintain(table, config.retention_days) for root in roots for table in find_tables(root)
    ]
    for r in results:
        context.log.info(
            f"{r.table_uri}: v{r.version_before} -> v{r.version_after}, "
            f"{r.files_compacted} file(s) compacted, {r.files_vacuumed} vacuumed"
        )
    return dg.Output(
        len(results),
        metadata={
            "tables": len(results),
            "files_compacted": sum(r.files_compacted for r in results),
            "files_vacuumed": sum(r.files_vacuumed for r in results),
            "retention_days": config.retention_days,
        },
    )


@dg.job(name=MAINTENANCE_JOB, description="Compaction and vacuum of every Delta table.")
def delta_maintenance():
    compact_and_vacuum()


weekly_maintenance = dg.ScheduleDefinition(
    name="weekly_delta_maintenance",
    job=delta_maintenance,
    cron_schedule="0 3 * * 0",  # Sunday 03:00
    execution_timezone="Europe/Stockholm",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
