"""dbt models as Dagster assets, in two halves around linkage.

Staging (and the seeds it needs) runs before linkage, which reads staging views;
everything else reads linkage's output. Two @dbt_assets with complementary
selections keep that order explicit and the graph acyclic at op level.
"""

import json
import os
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.dbt.project import dbt_executable, dbt_project, ensure_manifest
from dagster_project.dbt.translator import CarejourneyDbtTranslator
from dagster_project.resources import CarejourneyResource
from dagster_project.settings import DBT_PROJECT_DIR

BEFORE_LINKAGE = "resource_type:seed path:models/staging"
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"
_translator = CarejourneyDbtTranslator()
_manifest = ensure_manifest()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.profiles_dir),
                          dbt_executable=dbt_executable())


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource,
           carejourney: CarejourneyResource) -> Iterator[Any]:
    settings = carejourney.settings()
    # dbt runs as a subprocess: it finds the warehouse through the environment
    # (dbt/profiles.yml), and the as-of date through a var (null = latest in data).
    os.environ["CAREJOURNEY_WAREHOUSE_DIR"] = str(settings.warehouse_dir)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    # A test runs in the half where all its parents are built (a relationship from a
    # mart to a seed runs after linkage, not before it): dbt's "buildable" selection.
    os.environ["DBT_INDIRECT_SELECTION"] = "buildable"
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    # Unit tests pin SQL logic on fixtures: the test suite runs them, a nightly run need not.
    args = ["build", "--exclude-resource-type", "unit_test"]
    if settings.as_of:  # --vars invalidates dbt's partial parse, so only when there is one
        args += ["--vars", json.dumps({"as_of_date": settings.as_of.isoformat()})]
    # The project's own target/ keeps dbt's partial-parse state between runs (steps run
    # one at a time in the nightly job, so they never share it concurrently).
    yield from dbt.cli(args, context=context, target_path=DBT_TARGET_DIR).stream()


@dbt_assets(manifest=_manifest, select=BEFORE_LINKAGE, name="dbt_before_linkage",
            dagster_dbt_translator=_translator, project=dbt_project)
def dbt_before_linkage(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                       carejourney: CarejourneyResource) -> Iterator[Any]:
    yield from _build(context, dbt, carejourney)


@dbt_assets(manifest=_manifest, exclude=BEFORE_LINKAGE, name="dbt_after_linkage",
            dagster_dbt_translator=_translator, project=dbt_project)
def dbt_after_linkage(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                      carejourney: CarejourneyResource) -> Iterator[Any]:
    yield from _build(context, dbt, carejourney)


assets = [dbt_before_linkage, dbt_after_linkage]
asset_checks: list = []
