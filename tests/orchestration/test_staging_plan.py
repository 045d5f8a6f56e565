"""Which seeds and staging folders an incremental night's dbt half before linkage leaves alone
(runs/staging_plan.py), on a hand-made ledger and baseline; and that dbt's selection then
drops exactly their models and tests, keeping a changed source's tests to the seeds."""
from __future__ import annotations

import shutil

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from dagster_project.dbt.assets import BEFORE_LINKAGE
from dagster_project.dbt.project import dbt_project
from dagster_project.ingest.schema import ensure_schema
from dagster_project.runs import incremental, nothing_new, staging_plan
from dagster_project.settings import DBT_PROJECT_DIR, Settings

KEY = "5e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b" "6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f"


@pytest.fixture
def warehouse(tmp_path):
    settings = Settings.from_env(tmp_path / "landing", tmp_path / "warehouse", None, pseudo_key=KEY)
    settings.warehouse_dir.mkdir()
    con = duckdb.connect(str(settings.warehouse_db))
    ensure_schema(con)
    for load_id, table in enumerate(("hes_apc", "asc_cld", "csds_cyp001_mpi", "csds_cyp201_care_contact",
                                     "postcode_directory"), start=1):
        _ledger(con, load_id, table)
    yield settings, con
    con.close()


def _ledger(con, load_id: int, table: str, status: str = "loaded") -> None:
    con.execute("""insert into ops.load_ledger (load_id, source, table_name, file_name, file_path, sha256,
                                                size_bytes, status, started_at, finished_at)
                   values (?, 'x', ?, ?, ?, ?, 1, ?, now()::timestamp, now()::timestamp)""",
                [load_id, table, f"{table}_{load_id}.csv", f"/landing/{table}_{load_id}.csv", str(load_id), status])


def _baseline(con, settings: Settings, max_load_id: int, code: str | None = None) -> None:
    con.execute("create schema if not exists ops")
    con.execute(f"""create or replace table {incremental.BASELINE} (built_at timestamp, max_load_id bigint,
                    as_of_date date, settings_fingerprint varchar, code_fingerprint varchar, key_fingerprint varchar)""")
    con.execute(f"insert into {incremental.BASELINE} values (now()::timestamp, ?, null, ?, ?, 'k')",
                [max_load_id, nothing_new.settings_fingerprint(settings), code or nothing_new.code_fingerprint()])


def test_no_baseline_builds_everything(warehouse):
    settings, con = warehouse
    plan = staging_plan.plan_staging(con, settings, dbt_project.manifest_path)
    assert plan.unchanged == () and plan.exclude_selectors() == []


def test_only_sources_loaded_since_the_baseline_are_built_and_tested(warehouse):
    settings, con = warehouse
    _baseline(con, settings, max_load_id=5)
    _ledger(con, 6, "hes_apc")
    _ledger(con, 7, "csds_cyp101_referral", status="rejected")   # a refused file counts as a change too
    plan = staging_plan.plan_staging(con, settings, dbt_project.manifest_path)
    assert plan.unchanged == ("asc_cld", "reference")
    assert plan.exclude_selectors() == ["resource_type:seed", "path:models/staging/asc_cld",
                                        "path:models/staging/reference"]
    assert "since load 5" in plan.reason


def test_nothing_is_left_out_when_every_source_loaded_or_the_code_changed(warehouse):
    settings, con = warehouse
    _baseline(con, settings, max_load_id=0)
    assert staging_plan.plan_staging(con, settings, dbt_project.manifest_path).unchanged == ()
    _baseline(con, settings, max_load_id=5, code="an older release")
    assert staging_plan.plan_staging(con, settings, dbt_project.manifest_path).unchanged == ()


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
