"""One dbt build of the hand-made fixture warehouse per test session; the SQL lint beside the suite.

The build runs the whole project (seeds, models, data tests, unit tests) the way the
nightly job does, but against tmp files: warehouse, dbt target and logs all live under
pytest's tmp dir, so parallel work in the repo's dbt/target is never touched.

SQLFluff needs minutes of CPU on one core and nothing from the other tests: when the
session collects the lint test, the lint starts at once in a subprocess (one process:
the suite keeps the other core) and the test, moved to the end of the session, reads
its result. Under pytest-xdist (`python3 dev.py test`) the lint test starts it itself,
first thing on its worker (tests/conftest.py orders the work).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import dbt_fixture_warehouse
import duckdb
import pytest
from dbt_runner import BUILD_VARS, DBT_PROJECT, run_dbt

SQLFLUFF = Path(sys.executable).with_name("sqlfluff")
SQL_LINT_TEST = "test_sql_lint.py::test_dbt_models_and_macros_lint_clean"


@dataclass
class SqlLint:
    """SQLFluff running in the background; its output goes to files (a pipe left unread
    would fill and stall it)."""
    process: subprocess.Popen
    stdout: IO[str]
    stderr: IO[str]

    def result(self, timeout: float) -> tuple[int, str, str]:
        """Wait for the lint: (exit code, JSON report, stderr)."""
        returncode = self.process.wait(timeout=timeout)
        self.stdout.seek(0)
        self.stderr.seek(0)
        return returncode, self.stdout.read(), self.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stdout.close()
        self.stderr.close()


_SQL_LINT = pytest.StashKey[SqlLint]()


def _start_sql_lint() -> SqlLint:
    # closed by SqlLint.stop at the session's end
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # noqa: SIM115
    process = subprocess.Popen(
        [str(SQLFLUFF), "lint", "models", "macros", "--format", "json", "--processes", "1",
         "--disable-progress-bar", "--nocolor"],
        cwd=DBT_PROJECT, stdout=out, stderr=err, text=True,
    )
    return SqlLint(process, out, err)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under pytest-xdist every worker collects every test: the lint then runs in its test,
    # on whichever worker gets it, beside the other worker's tests (tests/conftest.py).
    if hasattr(config, "workerinput"):
        return
    lint = [item for item in items if item.nodeid.endswith(SQL_LINT_TEST)]
    if lint and not config.option.collectonly:
        items[:] = [item for item in items if item not in lint] + lint
        config.stash[_SQL_LINT] = _start_sql_lint()


def pytest_sessionfinish(session: pytest.Session) -> None:
    lint = session.config.stash.get(_SQL_LINT, None)
    if lint is not None:  # killed only if the session stopped before the lint test waited for it
        lint.stop()


@pytest.fixture
def sql_lint(request: pytest.FixtureRequest) -> SqlLint:
    """The SQLFluff run started at collection (see the module docstring); under
    pytest-xdist started here."""
    if _SQL_LINT not in request.config.stash:
        request.config.stash[_SQL_LINT] = _start_sql_lint()
    return request.config.stash[_SQL_LINT]


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
