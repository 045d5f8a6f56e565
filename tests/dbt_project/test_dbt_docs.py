"""`dbt docs generate` builds, and the marts are documented column by column with
declared types (what analysts and BI tools read in the docs site)."""
from __future__ import annotations

import json

from dbt_runner import BUILD_VARS, run_dbt

JOURNEY_MARTS = ("person", "journey", "pathway_transitions", "data_quality")


def test_docs_generate_builds_a_catalog_of_every_mart(dbt_build):
    assert dbt_build.returncode == 0, "the build failed; see test_dbt_build"
    completed = run_dbt(["docs", "generate", "--no-compile", "--vars", BUILD_VARS],
                        dbt_build.warehouse_db.parent, dbt_build.work_dir)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
    catalog = json.loads((dbt_build.work_dir / "target" / "catalog.json").read_text())
    in_catalog = {node["metadata"]["name"] for node in catalog["nodes"].values()
                  if node["metadata"]["schema"] == "marts"}
    assert set(JOURNEY_MARTS) <= in_catalog


def test_every_mart_column_is_described_typed_and_contract_enforced(dbt_build):
    manifest = json.loads((dbt_build.work_dir / "target" / "manifest.json").read_text())
    marts = {n["name"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["name"] in JOURNEY_MARTS}
    assert set(marts) == set(JOURNEY_MARTS)
    for name, node in marts.items():
        assert node["config"]["contract"]["enforced"], f"{name}: contract not enforced"
        assert node["description"].strip(), f"{name}: no description"
        for column in node["columns"].values():
            assert column["description"].strip(), f"{name}.{column['name']}: no description"
            assert column["data_type"], f"{name}.{column['name']}: no data_type"


def test_exposures_declare_the_bi_consumers(dbt_build):
    manifest = json.loads((dbt_build.work_dir / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"carejourney_report", "analyst_sql"} <= set(exposures)
    depends = {ref for e in exposures.values() for ref in e["depends_on"]["nodes"]}
    assert {f"model.carejourney.{m}" for m in ("journey", "person", "pathway_transitions")} <= depends
