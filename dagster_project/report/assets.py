"""The `published/report` asset: the report of the version just published."""
import dagster as dg

from dagster_project.resources import CarejourneyResource, WarehouseGuard

PUBLISHED = dg.AssetKey(["published", "carejourney"])
KEY = dg.AssetKey(["published", "report"])


@dg.asset(
    key=KEY,
    group_name="publish",
    deps=[PUBLISHED],
    description="published/report/index.html: SPC charts (Making Data Count) and funnel plots per metric, "
                "pathway Sankeys and data quality, drawn from the published copy only; one self-contained "
                "page written into the published version it describes.",
)
def published_report(context: dg.AssetExecutionContext, carejourney: CarejourneyResource,
                     warehouse_guard: WarehouseGuard) -> dg.MaterializeResult:
    from dagster_project.report.build import write_report

    settings = carejourney.settings_paths_only()
    result = write_report(settings)
    context.log.info(f"report {result.path}: {result.charts} charts, {result.metrics} metrics")
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(result.path)),
        "published_version": result.version_dir.name,
        "charts": result.charts,
        "metrics": result.metrics,
        "size_bytes": result.size_bytes,
    })


assets = [published_report]

# The report concern as Dagster loads it (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets)
