"""The `published/carejourney` asset: runs only when every upstream gate passed."""

import dagster as dg

from dagster_project.publish.core import PUBLISHED_TABLES, publish
from dagster_project.resources import CarejourneyResource


@dg.asset(
    key=dg.AssetKey(["published", "carejourney"]),
    group_name="publish",
    deps=[dg.AssetKey(["marts", t]) for t in PUBLISHED_TABLES],
    description="The analysts' copy: de-identified, opted-out people removed, small numbers "
                "suppressed; published/carejourney.duckdb + one Parquet per table, swapped in atomically.",
)
def published_carejourney(context: dg.AssetExecutionContext,
                          carejourney: CarejourneyResource) -> dg.MaterializeResult:
    settings = carejourney.settings()
    with carejourney.connect() as con:
        result = publish(settings, con)
    context.log.info(result.summary())
    return dg.MaterializeResult(metadata={
        "published_db": dg.MetadataValue.path(str(settings.published_db)),
        "version_dir": dg.MetadataValue.path(str(result.version_dir)),
        **{f"rows_{t}": n for t, n in result.row_counts.items()},
        **{f"suppressed_{t}": n for t, n in result.suppressed_rows.items()},
        "dropped_identifier_columns": str(result.dropped_columns or "none"),
    })


assets = [published_carejourney]
