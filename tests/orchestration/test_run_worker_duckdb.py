"""On DuckDB the run's dbt commands run in the run's worker (engine/run_worker.py), which
gives the warehouse back after each: DuckDB admits one process writing a file, and the
Dagster process opens the warehouse between the two dbt steps. The nightly run's own use of
it (both dbt steps in one worker, gone with the run) is checked on the end-to-end night
(test_nightly_e2e.py)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.dbt.assets import dbt_resource
from dagster_project.dbt.project import dbt_project
from dagster_project.engine.run_worker import STEP_DBT, STEPS_LOG
from dagster_project.resources import CarejourneyResource, EngineResource


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_dbt_command_in_the_worker_leaves_the_warehouse_free_for_the_run(tmp_path: Path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    engine = EngineResource(carejourney=CarejourneyResource(landing_dir=str(landing), warehouse_dir=str(warehouse)))
    with dg.build_resources({"engine": engine}) as resources:
        dbt = resources.engine.dbt_cli(dbt_resource())
        worker = resources.engine.run_worker()
        # `dbt debug` opens the profile's database (its connection test): the warehouse file
        debug = subprocess.run(
            [dbt.dbt_executable, "debug", "--project-dir", str(dbt_project.project_dir),
             "--profiles-dir", str(dbt_project.profiles_dir),
             "--vars", json.dumps({"warehouse_dir": str(warehouse)})],
            capture_output=True, text=True, check=False, timeout=300)
        assert debug.returncode == 0, debug.stdout + debug.stderr
        assert "All checks passed" in debug.stdout, debug.stdout
        assert (warehouse / "warehouse.duckdb").exists()
        assert _alive(worker.pid)
        # The worker lives on; the warehouse is this process's to write again.
        with duckdb.connect(str(warehouse / "warehouse.duckdb")) as con:
            con.execute("create table written_after_dbt as select 1 as x")
        [step] = [json.loads(line) for line in (warehouse / "reports" / "duckdb" / STEPS_LOG).read_text().splitlines()]
        assert step["step"] == STEP_DBT and step["engine"] == "duckdb" and step["exit"] == 0
        assert step["worker_pid"] == worker.pid
    worker.process.wait(timeout=60)  # the resource's teardown stopped it
    assert not _alive(worker.pid)
