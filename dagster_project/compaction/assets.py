"""The `ops/warehouse_compaction` asset: last in the nightly job (compact.py says why)."""
import dagster as dg

from dagster_project.resources import CarejourneyResource, WarehouseGuard

REPORT = dg.AssetKey(["published", "report"])


@dg.asset(
    key=dg.AssetKey(["ops", "warehouse_compaction"]),
    group_name="maintenance",
    deps=[REPORT],
    description="Reclaims the warehouse's deleted rows (a DuckDB vacuum) once they are a large share of "
                "some table (dagster_project/compaction/compact.py); last, after publishing.",
)
def warehouse_compaction(context: dg.AssetExecutionContext, carejourney: CarejourneyResource,
                         warehouse_guard: WarehouseGuard) -> dg.MaterializeResult:
    from dagster_project.compaction.compact import compact_if_due

    result = compact_if_due(carejourney.settings_paths_only())
    context.log.info(f"warehouse compaction: {result.describe()}")
    return dg.MaterializeResult(metadata={
        "vacuumed": result.vacuumed,
        "worst_table": result.worst_table or "",
        "deleted_share_before": result.worst_share,
        "deleted_share_after": result.worst_share_after,
    })


assets = [warehouse_compaction]

# The compaction concern as Dagster loads it (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets)
