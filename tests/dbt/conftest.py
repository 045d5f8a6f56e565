"""One dbt build of the hand-made fixture warehouse per test session.

The build runs the whole project (seeds, models, data tests, unit tests) the way the
nightly job does, but against tmp files: warehouse, dbt target and logs all live under
pytest's tmp dir, so parallel work in the repo's dbt/target is never touched.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

import dbt_fixture_warehouse

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


@dataclass(frozen=True)
class DbtBuild:
    warehouse_db: Path
    returncode: int
    output: str
    results: list[dict]

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse_db), read_only=True)


def run_dbt(args: list[str], warehouse_dir: Path, work_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        str(DBT_EXECUTABLE), *args,
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> DbtBuild:
    root = tmp_path_factory.mktemp("dbt_fixture")
    warehouse_dir = root / "warehouse"
    dbt_fixture_warehouse.build(warehouse_dir / "warehouse.duckdb")
    # Tests meant for full-size data (e.g. every metric has a complete-year value)
    # cannot hold on four people; they are switched off here, on only for real builds.
    completed = run_dbt(
        ["build", "--vars", json.dumps({"carejourney_full_size_tests_enabled": False})],
        warehouse_dir, root,
    )
    results_file = root / "target" / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    return DbtBuild(warehouse_dir / "warehouse.duckdb", completed.returncode,
                    completed.stdout + completed.stderr, results)
