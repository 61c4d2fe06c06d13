"""The landing-zone sensor: complete new batches become partitions and runs, once each."""

import json

import dagster as dg

from gdi_pipelines.defs.jobs import INGEST_JOB
from gdi_pipelines.defs.partitions import BATCHES, CountryBatch
from gdi_pipelines.defs.resources import PlatformResource
from gdi_pipelines.storage.landing import discover_batches


def landing_zone_sensor(minimum_interval_seconds: int = 60) -> dg.SensorDefinition:
    """Lists every node's landing zone (local or S3). The cursor maps `COUNTRY/BATCH` to the
    manifest digest it was run for: a batch runs once, again only if its manifest changes.
    A batch without its manifest, or whose files are not all there yet, waits."""

    @dg.sensor(
        name="landing_zone_sensor",
        job_name=INGEST_JOB,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Registers complete new batches as partitions and requests their ingest.",
    )
    def sensor(context: dg.SensorEvaluationContext, platform: PlatformResource):
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        known = set(context.instance.get_dynamic_partitions(BATCHES.name))
        new_ids: set[str] = set()
        requests, waiting = [], []
        for node in platform.settings().nodes:
            for batch in discover_batches(node):
                key = f"{batch.country}/{batch.batch_id}"
                if not batch.complete:
                    waiting.append(f"{key} ({batch.problem or 'files still arriving'})")
                    continue
                if seen.get(key) == batch.manifest_sha256:
                    continue
                if batch.batch_id not in known:
                    new_ids.add(batch.batch_id)
                seen[key] = batch.manifest_sha256
                requests.append(
                    dg.RunRequest(
                        run_key=f"{key}@{batch.manifest_sha256[:16]}",
                        partition_key=CountryBatch(batch.country, batch.batch_id).key,
                        tags={"gdi/country": batch.country, "gdi/batch": batch.batch_id},
                    )
                )
        if waiting:
            context.log.info(f"waiting for {len(waiting)} batch(es): {'; '.join(waiting)}")
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[BATCHES.build_add_request(sorted(new_ids))]
            if new_ids
            else [],
            cursor=json.dumps(seen, sort_keys=True),
            skip_reason=None if requests else "no complete new batch",
        )

    return sensor
