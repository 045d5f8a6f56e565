"""The `published/carejourney` asset: runs only when every upstream gate passed."""

import dagster as dg

from dagster_project.publish.core import MART_TABLES, MARTS, publish
from dagster_project.resources import CarejourneyResource, WarehouseGuard


@dg.asset(
    key=dg.AssetKey(["published", "carejourney"]),
    group_name="publish",
    deps=[dg.AssetKey(["marts", MARTS[t].model]) for t in MART_TABLES],
    description="The two copies readers get, swapped in atomically after every gate passed: "
                "published/ (aggregates and the data dictionary, small numbers suppressed, for "
                "dashboards) and analyst/ (person-level marts, pseudonymised, for approved analysts); "
                "carejourney.duckdb + one Parquet per table in each.",
)
def published_carejourney(context: dg.AssetExecutionContext,
                          carejourney: CarejourneyResource, warehouse_guard: WarehouseGuard) -> dg.MaterializeResult:
    settings = carejourney.settings()
    with carejourney.connect() as con:
        result = publish(settings, con)
    context.log.info(result.summary())
    return dg.MaterializeResult(metadata={
        "published_db": dg.MetadataValue.path(str(settings.published_db)),
        "analyst_db": dg.MetadataValue.path(str(settings.analyst_db)),
        "version_dir": dg.MetadataValue.path(str(result.version_dir)),
        **{f"rows_{t}": n for t, n in result.row_counts.items()},
        **{f"suppressed_{t}": n for t, n in result.suppressed_rows.items()},
        "dropped_identifier_columns": str(result.dropped_columns or "none"),
    })


assets = [published_carejourney]

# The publish concern as Dagster loads it (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets)
