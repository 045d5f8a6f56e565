"""dbt models as Dagster assets, in two halves around linkage.

Staging (and the seeds it needs) runs before linkage, which reads staging views;
everything else reads linkage's output. Two @dbt_assets with complementary
selections keep that order explicit and the graph acyclic at op level.
"""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.dbt.project import (
    dbt_executable,
    dbt_project,
    manifest_for_loading,
)
from dagster_project.dbt.translator import CarejourneyDbtTranslator
from dagster_project.engine import exchange
from dagster_project.resources import CarejourneyResource, EngineResource, WarehouseGuard

BEFORE_LINKAGE = "resource_type:seed path:models/staging"
DBT_TARGET_DIR = dbt_project.project_dir / dbt_project.target_path  # where the manifest is prepared too
_translator = CarejourneyDbtTranslator()
_manifest = manifest_for_loading()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir),
                          dbt_executable=dbt_executable())


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, carejourney: CarejourneyResource,
           engine: EngineResource, before_linkage: bool) -> Iterator[Any]:
    settings = carejourney.settings()
    # dbt runs as a subprocess: the warehouse reaches its profile (dbt/profiles.yml) and
    # the as-of date its models (null = latest in data) as vars of this invocation, never
    # through this process's environment. Usage stats and "buildable" indirect selection
    # (a test runs in the half where all its parents are built) are dbt_project.yml flags.
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    run_vars = {"warehouse_dir": str(settings.warehouse_dir)}
    if settings.as_of:
        run_vars["as_of_date"] = settings.as_of.isoformat()
    # Unit tests pin SQL logic on fixtures: the test suite runs them, a nightly run need not.
    # (dbt re-parses in full when the vars differ from its last run's: once per new warehouse.)
    bring_back: tuple[str, ...] = ()
    if engine.on_spark:
        # Spark: ingest's tables (before linkage) or linkage's (after it) go over as Parquet
        # and dbt registers them; the schemas DuckDB needs come back (engine/exchange.py).
        if before_linkage:
            register = exchange.land_ingest_tables(settings)
            bring_back = exchange.SCHEMAS_BACK_BEFORE_LINKAGE
        else:
            register = exchange.landed_tables(settings, (exchange.LINKAGE_SCHEMA,))
            bring_back = exchange.SCHEMAS_BACK_AFTER_LINKAGE
        exchange.clear_out(settings, bring_back)
        run_vars.update(engine.dbt_vars(register, bring_back))
    args = ["build", "--exclude-resource-type", "unit_test", "--target", engine.dbt_target(),
            "--vars", json.dumps(run_vars, sort_keys=True)]
    # The project's own target/ keeps dbt's partial-parse state between runs (steps run
    # one at a time in the nightly job, so they never share it concurrently).
    yield from dbt.cli(args, context=context, target_path=DBT_TARGET_DIR).stream()
    if bring_back:
        with carejourney.connect() as con:
            brought = exchange.bring_back(con, settings, bring_back)
        context.log.info(f"read back from Spark into {settings.warehouse_db}: {', '.join(brought) or 'nothing'}")


@dbt_assets(manifest=_manifest, select=BEFORE_LINKAGE, name="dbt_before_linkage",
            dagster_dbt_translator=_translator, project=dbt_project)
def dbt_before_linkage(context: dg.AssetExecutionContext, dbt: DbtCliResource, carejourney: CarejourneyResource,
                       engine: EngineResource, warehouse_guard: WarehouseGuard) -> Iterator[Any]:
    yield from _build(context, dbt, carejourney, engine, before_linkage=True)


@dbt_assets(manifest=_manifest, exclude=BEFORE_LINKAGE, name="dbt_after_linkage",
            dagster_dbt_translator=_translator, project=dbt_project)
def dbt_after_linkage(context: dg.AssetExecutionContext, dbt: DbtCliResource, carejourney: CarejourneyResource,
                      engine: EngineResource, warehouse_guard: WarehouseGuard) -> Iterator[Any]:
    yield from _build(context, dbt, carejourney, engine, before_linkage=False)


assets = [dbt_before_linkage, dbt_after_linkage]
asset_checks: list = []

# dbt as Dagster loads it, with the dbt CLI resource it owns (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets, asset_checks=asset_checks, resources={"dbt": dbt_resource()})
