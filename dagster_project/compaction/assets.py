"""Compaction as Dagster runs it (compact.py says why): the `ops/warehouse_compaction` asset,
last in the nightly job with the nightly's safety share, and a weekly job of its own with
the compaction share, outside the nightly window."""
import dagster as dg

from dagster_project.compaction.compact import COMPACT_AT_DEAD_SHARE, NIGHTLY_SAFETY_SHARE
from dagster_project.report.assets import KEY as REPORT
from dagster_project.resources import CarejourneyResource, WarehouseGuard

KEY = dg.AssetKey(["ops", "warehouse_compaction"])
JOB_NAME = "warehouse_compaction"


class CompactionConfig(dg.Config):
    # vacuum once some table holds this share of deleted rows (the nightly job's default)
    at_dead_share: float = NIGHTLY_SAFETY_SHARE


@dg.asset(
    key=KEY,
    group_name="maintenance",
    deps=[REPORT],
    description="Reclaims the warehouse's deleted rows (a DuckDB vacuum) once they are a large share of "
                "some table (dagster_project/compaction/compact.py): in the nightly job, last and only past "
                "its safety share; in the weekly warehouse_compaction job, past the compaction share.",
)
def warehouse_compaction(context: dg.AssetExecutionContext, config: CompactionConfig,
                         carejourney: CarejourneyResource, warehouse_guard: WarehouseGuard) -> dg.MaterializeResult:
    from dagster_project.compaction.compact import compact_if_due

    result = compact_if_due(carejourney.settings_paths_only(), at_share=config.at_dead_share)
    context.log.info(f"warehouse compaction: {result.describe()}")
    return dg.MaterializeResult(metadata={
        "vacuumed": result.vacuumed,
        "at_dead_share": result.share,
        "worst_table": result.worst_table or "",
        "deleted_share_before": result.worst_share,
        "deleted_share_after": result.worst_share_after,
    })


compaction_job = dg.define_asset_job(
    name=JOB_NAME,
    selection=dg.AssetSelection.assets(KEY),
    executor_def=dg.in_process_executor,
    config={"ops": {"ops__warehouse_compaction": {"config": {"at_dead_share": COMPACT_AT_DEAD_SHARE}}}},
    description="Vacuum the warehouse once deleted rows are a large share of some table, outside the nightly window.",
    tags={"carejourney/job": "compaction"},
)

# Sunday 13:00 London time: far from the nightly run (02:00), which it cannot overlap
# anyway (each run holds the warehouse lock: resources.WarehouseGuard).
compaction_schedule = dg.ScheduleDefinition(
    name="warehouse_compaction_sunday_1300_london", job=compaction_job, cron_schedule="0 13 * * 0",
    execution_timezone="Europe/London", default_status=dg.DefaultScheduleStatus.RUNNING)

assets = [warehouse_compaction]

# The compaction concern as Dagster loads it (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets, jobs=[compaction_job], schedules=[compaction_schedule])
