"""How dbt resources are named in the Dagster asset graph.

Models and seeds are keyed by [schema, name] (staging/stg_..., marts/journey; a model
building a linkage table by the table: linkage/source_person), and
sources by [source, table] (raw_current/hes_apc, linkage/record_person), which are
exactly the keys the ingest and linkage assets produce: that is what joins
ingest -> dbt staging -> linkage -> dbt intermediate/marts into one graph.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LINKAGE_SCHEMA = "linkage"
# Dagster asset groups per layer, by dbt schema.
_GROUP_BY_SCHEMA = {"seeds": "dbt_seeds", "staging": "dbt_staging",
                    "intermediate": "dbt_intermediate", "marts": "dbt_marts", LINKAGE_SCHEMA: "linkage"}


class CarejourneyDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # dbt data tests become Dagster asset checks on the model they test.
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        config = dbt_resource_props.get("config", {})
        schema = config.get("schema") or dbt_resource_props["schema"]
        # A dbt model building a linkage table (model int_linkage__source_person, alias
        # source_person) is keyed by the table, linkage/source_person, as the linkage assets
        # name it; elsewhere the model name (marts keep theirs: publish keys marts by model).
        name = (config.get("alias") if schema == LINKAGE_SCHEMA else None) or dbt_resource_props["name"]
        return dg.AssetKey([schema, name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get("schema")
        return _GROUP_BY_SCHEMA.get(schema, "dbt")
