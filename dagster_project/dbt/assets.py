"""dbt models as Dagster assets, in two halves around linkage.

Staging (and the seeds it needs) runs before linkage, which reads the staging models;
everything else reads linkage's output. Two @dbt_assets with complementary
selections keep that order explicit and the graph acyclic at op level.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project import duckdb_connection, private_files
from dagster_project.dbt.cli_resource import CarejourneyDbtCliResource
from dagster_project.dbt.project import (
    dbt_executable,
    dbt_project,
    manifest_for_loading,
)
from dagster_project.dbt.translator import CarejourneyDbtTranslator
from dagster_project.engine import exchange
from dagster_project.resources import CarejourneyResource, EngineResource, WarehouseGuard
from dagster_project.runs import incremental, staging_plan
from dagster_project.settings import Settings

# int_run__as_of (staging and the ledger only) is built before linkage too, so the
# incremental plan (runs/incremental.py) knows tonight's as-of date; and the linkage
# input (models/intermediate/linkage: linkage.source_person), which linkage reads.
BEFORE_LINKAGE = ("resource_type:seed path:models/staging path:models/intermediate/run"
                  " path:models/intermediate/linkage")


def dbt_target_dir(settings: Settings) -> Path:
    """Where a run's dbt writes its artifacts (run_results, compiled SQL, partial-parse state):
    inside its warehouse, so two warehouses run from one install never overwrite each other's
    (they did in the package's dbt/target: one run read the other's manifest and failed). The
    manifest Dagster loads the assets from stays where it is prepared (dbt/project.py)."""
    return settings.warehouse_dir / "dbt_target"
_translator = CarejourneyDbtTranslator()
_manifest = manifest_for_loading()


def dbt_resource() -> DbtCliResource:
    return CarejourneyDbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir),
                          dbt_executable=dbt_executable())


def build_args(settings: Settings, plan: incremental.NightPlan | None = None,
               incremental_models: bool = True, target: str | None = None,
               extra_vars: dict[str, Any] | None = None, full_refresh: bool = False) -> list[str]:
    """The arguments of one nightly `dbt build` (tests replaying nights use them too).
    Per-person models (macro incremental_by_person) and event staging models (macro
    incremental_by_record) are incremental unless `incremental_models` is off (then
    tables, rebuilt whole); a full night's plan or `full_refresh` (the half before
    linkage when staging cannot start from the baseline) adds --full-refresh. Both halves
    pass the same vars: dbt re-parses the whole project when the vars differ from its
    last invocation's."""
    # dbt runs in another process (the run's worker: engine/run_worker.py): the warehouse
    # reaches its profile (dbt/profiles.yml) and the as-of date its models (null = latest
    # in data) as vars of this invocation, never through this process's environment. Usage
    # stats and "buildable" indirect selection (a test runs in the half where all its
    # parents are built) are dbt_project.yml flags.
    run_vars: dict[str, Any] = {"warehouse_dir": str(settings.warehouse_dir), **duckdb_connection.dbt_vars(settings)}
    if settings.as_of:
        run_vars["as_of_date"] = settings.as_of.isoformat()
    run_vars["carejourney_incremental"] = incremental_models
    # (dbt re-parses in full when the vars differ from its last run's: once per new warehouse.)
    run_vars.update(extra_vars or {})
    args = ["build", "--vars", json.dumps(run_vars, sort_keys=True)]
    if not settings.dbt_unit_tests:
        # Unit tests pin SQL logic on fixtures: the test suite runs them, a night need not
        # (CAREJOURNEY_DBT_UNIT_TESTS=1 runs them in the night's builds, gating their models).
        args[1:1] = ["--exclude-resource-type", "unit_test"]
    if target is not None:
        args[1:1] = ["--target", target]
    if full_refresh or (plan is not None and plan.full):
        args.append("--full-refresh")
    # No dbt.log: dbt formats every debug event (each statement's SQL, each node's
    # timing) as a JSON line for its file log whatever is read of it; dagster-dbt reads
    # stdout's events, which carry every node's result and error into the run's log.
    # (About 1 s CPU of a dbt half after linkage, measured on a 100k replay.)
    args += ["--log-level-file", "none"]
    return args


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, carejourney: CarejourneyResource,
           engine: EngineResource, before_linkage: bool, plan: incremental.NightPlan | None = None,
           incremental_models: bool = True, exclude: list[str] | None = None,
           full_refresh: bool = False) -> Iterator[Any]:
    settings = carejourney.settings()
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    bring_back: tuple[str, ...] = ()
    spark_vars: dict[str, Any] = {}
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
        spark_vars = engine.dbt_vars(register, bring_back)
    args = build_args(settings, plan, incremental_models, target=engine.dbt_target(), extra_vars=spark_vars,
                      full_refresh=full_refresh)
    if exclude:
        args += ["--exclude", " ".join(exclude)]  # dagster-dbt folds it into its selection
    # The warehouse's own target folder keeps dbt's partial-parse state between its runs
    # (one run at a time per warehouse: warehouse_lock.py).
    target = dbt_target_dir(settings)
    # dbt runs inside the run's worker (engine.dbt_cli), on a local Spark run in its one JVM.
    yield from engine.dbt_cli(dbt).cli(args, context=context, target_path=target).stream()
    # Each half's node timings kept beside dbt's run_results.json (which the next
    # invocation overwrites): where a night's dbt time goes (bench/bench_incremental.py).
    results = target / "run_results.json"
    if results.exists():
        shutil.copyfile(results, target / f"run_results_{'before' if before_linkage else 'after'}_linkage.json")
    # dbt writes some artifacts (partial_parse.msgpack) world-readable whatever the umask;
    # compiled SQL names the warehouse's tables, so they stay as private as the warehouse
    private_files.tighten_tree(target)
    if bring_back:
        with carejourney.connect() as con:
            brought = exchange.bring_back(con, settings, bring_back)
        context.log.info(f"read back from Spark into {settings.warehouse_db}: {', '.join(brought) or 'nothing'}")


@dbt_assets(manifest=_manifest, select=BEFORE_LINKAGE, name="dbt_before_linkage",
            dagster_dbt_translator=_translator, project=dbt_project)
def dbt_before_linkage(context: dg.AssetExecutionContext, dbt: DbtCliResource, carejourney: CarejourneyResource,
                       engine: EngineResource, warehouse_guard: WarehouseGuard) -> Iterator[Any]:
    exclude: list[str] = []
    full_refresh = False
    if not engine.on_spark:  # on Spark staging models are views: nothing to start from
        with carejourney.connect() as con:
            staging = staging_plan.plan_staging(con, carejourney.settings(), dbt_project.manifest_path)
        # The event staging models rebuild only the records changed since the baseline,
        # unless the plan says staging cannot start from it (runs/staging_plan.py).
        full_refresh = staging.full
    if not (context.is_subset or engine.on_spark):
        # Seeds and the staging of sources with no new load stand as the last complete build
        # left them, tested (runs/staging_plan.py). On Spark every night is a full build.
        context.log.info(f"dbt before linkage: {staging.reason}")
        exclude = staging.exclude_selectors()
        # dbt will not touch them, so dagster-dbt yields nothing for them: their outputs are
        # yielded here, or Dagster would skip every step downstream (the half after linkage);
        # first, as they stand upstream of what dbt builds (outputs go in topological order).
        for node in staging.standing_nodes(dbt_project.manifest_path):
            key = _translator.get_asset_key(node)
            if key in context.selected_asset_keys:
                yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(key),
                                metadata={"not rebuilt": staging.reason})
    yield from _build(context, dbt, carejourney, engine, before_linkage=True, exclude=exclude,
                      full_refresh=full_refresh)


@dbt_assets(manifest=_manifest, exclude=BEFORE_LINKAGE, name="dbt_after_linkage",
            dagster_dbt_translator=_translator, project=dbt_project)
def dbt_after_linkage(context: dg.AssetExecutionContext, dbt: DbtCliResource, carejourney: CarejourneyResource,
                      engine: EngineResource, warehouse_guard: WarehouseGuard) -> Iterator[Any]:
    if context.is_subset or engine.on_spark:
        # Part of the models only (e.g. one mart from the UI): those rebuilt in full, and
        # no new baseline, since the others did not move with them. On Spark the per-person
        # models are tables (macro incremental_by_person): every night is a full build.
        yield from _build(context, dbt, carejourney, engine, before_linkage=False, incremental_models=False)
        return
    settings = carejourney.settings()
    with carejourney.connect() as con:
        plan = incremental.plan_night(con, settings)
    context.log.info(f"dbt after linkage: {plan.mode} build ({plan.reason})")
    yield from _build(context, dbt, carejourney, engine, before_linkage=False, plan=plan)
    # Reached only when the whole build succeeded (a failed one raises): the next
    # night starts from here; a night killed before this line is redone from the old baseline.
    with carejourney.connect() as con:
        incremental.mark_built(con, plan)


assets = [dbt_before_linkage, dbt_after_linkage]
asset_checks: list = []

# dbt as Dagster loads it, with the dbt CLI resource it owns (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets, asset_checks=asset_checks, resources={"dbt": dbt_resource()})
