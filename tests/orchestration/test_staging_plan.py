"""The staging folders runs/staging_plan.py decides on, from the manifest; and that dbt's
selection with the plan's exclusions drops exactly the unchanged folders' models and tests
and the seeds, keeping a changed source's tests (its relationships to the seeds included).
Which folders a night leaves alone: test_incremental_plan.py."""
from __future__ import annotations

import shutil

from dbt.cli.main import dbtRunner

from dagster_project.dbt.assets import BEFORE_LINKAGE
from dagster_project.dbt.project import dbt_project
from dagster_project.runs import staging_plan
from dagster_project.settings import DBT_PROJECT_DIR


def test_every_staging_folder_reads_only_its_raw_tables_and_seeds():
    folders = staging_plan.staging_sources(dbt_project.manifest_path)
    assert folders["csds"] == {"csds_cyp001_mpi", "csds_cyp101_referral", "csds_cyp201_care_contact"}
    assert set(folders) == {"asc_cld", "csds", "hes_apc", "reference"}


def test_dbt_selection_drops_the_unchanged_folders_tests_and_keeps_a_changed_ones(tmp_path):
    """What dbt (indirect selection 'buildable') builds with the plan's exclusions."""
    exclude = staging_plan.StagingPlan(("csds", "reference"), 5, "").exclude_selectors()
    # dbt parse's state (dbt/project.py prepared it, no vars): listing needs no fresh parse
    (tmp_path / "target").mkdir()
    shutil.copy(dbt_project.manifest_path.parent / "partial_parse.msgpack", tmp_path / "target")
    result = dbtRunner().invoke([
        "ls", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet",
        "--resource-types", "model", "seed", "test", "--output", "name",
        "--select", BEFORE_LINKAGE, "--exclude", " ".join(exclude)])
    assert result.success, result.exception
    names = set(result.result)
    assert not {n for n in names if "csds" in n or "stg_reference" in n}
    assert "cld_service_type" not in names and "not_null_metric_definitions_metric_id" not in names  # seeds
    assert {"stg_asc_cld__events", "unique_stg_asc_cld__events_event_id", "stg_hes_apc__episodes",
            "relationships_stg_asc_cld__events_service_type__value__ref_cld_service_type_",
            "int_run__as_of", "int_linkage__source_person"} <= names


def test_the_nodes_left_standing_are_the_seeds_and_the_unchanged_folders_models():
    standing = staging_plan.StagingPlan(("csds",), 5, "").standing_nodes(dbt_project.manifest_path)
    models = {n["name"] for n in standing if n["resource_type"] == "model"}
    # in dependency order (Dagster takes a multi-asset's outputs only so): every node after its parents
    position = {n["unique_id"]: i for i, n in enumerate(standing)}
    assert all(position[parent] < position[n["unique_id"]]
               for n in standing for parent in n["depends_on"].get("nodes", []) if parent in position)
    assert models == {"stg_csds__mpi", "stg_csds__referrals", "stg_csds__care_contacts"}
    assert {"sex_codes", "metric_definitions"} <= {n["name"] for n in standing if n["resource_type"] == "seed"}
    assert staging_plan.StagingPlan((), 5, "").standing_nodes(dbt_project.manifest_path) == []
