"""One dbt build of the hand-made fixture warehouse per test session.

The build runs the whole project (seeds, models, data tests, unit tests) the way the
nightly job does, but against tmp files: warehouse, dbt target and logs all live under
pytest's tmp dir, so parallel work in the repo's dbt/target is never touched.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import dbt_fixture_warehouse
import duckdb
import pytest
from dbt_runner import BUILD_VARS, run_dbt


@dataclass(frozen=True)
class DbtBuild:
    warehouse_db: Path
    returncode: int
    output: str
    results: list[dict]
    work_dir: Path          # holds dbt's target/ (manifest, run results) and logs/

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse_db), read_only=True)


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> DbtBuild:
    root = tmp_path_factory.mktemp("dbt_fixture")
    warehouse_dir = root / "warehouse"
    dbt_fixture_warehouse.build(warehouse_dir / "warehouse.duckdb")
    completed = run_dbt(["build", "--vars", BUILD_VARS], warehouse_dir, root)
    results_file = root / "target" / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    return DbtBuild(warehouse_dir / "warehouse.duckdb", completed.returncode,
                    completed.stdout + completed.stderr, results, root)
