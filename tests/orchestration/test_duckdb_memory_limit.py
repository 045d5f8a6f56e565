"""The run's DuckDB memory limit: one setting, on every connection and in dbt's profile."""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
import yaml
from dbt.config.renderer import ProfileRenderer
from dbt_common.context import set_invocation_context

from dagster_project import duckdb_connection
from dagster_project.dbt.assets import build_args
from dagster_project.resources import CarejourneyResource
from dagster_project.settings import DBT_PROJECT_DIR, DEFAULT_DUCKDB_MEMORY_LIMIT, PROJECT_ROOT, Settings, SettingsError

STRONG_KEY = "ab" * 32


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str | None) -> Settings:
    if limit is None:
        monkeypatch.delenv("CAREJOURNEY_DUCKDB_MEMORY_LIMIT", raising=False)
    else:
        monkeypatch.setenv("CAREJOURNEY_DUCKDB_MEMORY_LIMIT", limit)
    return Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                             pseudo_key=STRONG_KEY)


def _limit_and_temp(con) -> tuple[str, str]:
    return con.execute("select current_setting('memory_limit'), current_setting('temp_directory')").fetchone()


def test_default_and_environment(tmp_path, monkeypatch):
    assert _settings(tmp_path, monkeypatch, None).duckdb_memory_limit == DEFAULT_DUCKDB_MEMORY_LIMIT
    assert _settings(tmp_path, monkeypatch, "1500MB").duckdb_memory_limit == "1500MB"


@pytest.mark.parametrize("junk", ["lots", "80%", "3", "-1GB", "3 GB please"])
def test_a_limit_duckdb_would_not_read_is_refused_naming_the_variable(tmp_path, monkeypatch, junk):
    with pytest.raises(SettingsError, match="CAREJOURNEY_DUCKDB_MEMORY_LIMIT"):
        _settings(tmp_path, monkeypatch, junk)


def test_every_kind_of_connection_takes_the_limit_and_spills_inside_the_warehouse(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, "1500MB")
    settings.warehouse_dir.mkdir(parents=True)
    with duckdb_connection.connect(settings) as con:
        limit, temp = _limit_and_temp(con)
    # DuckDB reports 1500MB (decimal) in binary units: 1.3 GiB, not its 80%-of-RAM default
    assert limit == "1.3 GiB"
    assert Path(temp) == settings.duckdb_temp_dir and settings.duckdb_temp_dir.is_relative_to(settings.warehouse_dir)
    with duckdb_connection.connect(settings, read_only=True) as con:
        assert _limit_and_temp(con) == (limit, temp)
    with duckdb_connection.connect_in_memory(settings) as con:
        assert _limit_and_temp(con) == (limit, temp)
    resource = CarejourneyResource(landing_dir=str(tmp_path / "landing"), warehouse_dir=str(settings.warehouse_dir),
                                   pseudo_key=STRONG_KEY)
    with resource.connect() as con:  # what the run's steps use
        assert _limit_and_temp(con) == (limit, temp)


def _rendered_duckdb_profile(cli_vars: dict[str, str]) -> dict[str, str]:
    """dbt/profiles.yml's DuckDB config_options as dbt renders them for an invocation with
    `cli_vars` and this process's environment."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    set_invocation_context(dict(os.environ))
    rendered = ProfileRenderer(cli_vars).render_data(profile["carejourney"]["outputs"]["warehouse"])
    return rendered["config_options"]


def test_dbt_gets_the_same_settings_through_its_profile(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, "1500MB")
    args = build_args(settings)
    run_vars = json.loads(args[args.index("--vars") + 1])
    assert run_vars["duckdb_memory_limit"] == "1500MB"
    assert run_vars["duckdb_temp_directory"] == str(settings.duckdb_temp_dir)
    assert _rendered_duckdb_profile(run_vars) == duckdb_connection.duckdb_config(settings)


@pytest.mark.parametrize("limit", [None, "1500MB"])
def test_dbt_run_by_hand_without_the_runs_vars_gets_the_runs_limit_and_spill_folder(tmp_path, monkeypatch, limit):
    """dbt/README.md's way to run dbt by hand: the warehouse from CAREJOURNEY_WAREHOUSE_DIR,
    no vars. The profile's fallback is the run's default (Settings), not DuckDB's 80% of RAM
    and its own temp folder: the test fails if the two defaults diverge."""
    settings = _settings(tmp_path, monkeypatch, limit)
    monkeypatch.setenv("CAREJOURNEY_WAREHOUSE_DIR", str(settings.warehouse_dir))
    assert _rendered_duckdb_profile({}) == duckdb_connection.duckdb_config(settings)


# The modules that may open DuckDB without duckdb_connection, and why (each says so beside
# its connect). Any other module of the package opening a plain duckdb.connect would
# escape the run's memory limit and spill folder.
PLAIN_CONNECT_ALLOWED = {
    "dagster_project/duckdb_connection.py": "the one module that configures connections",
    "dagster_project/linkage/stable_ids.py": "in memory without a warehouse: unit tests only",
    "dagster_project/generate/generator.py": "generate: not a run, its own limit and scratch folder",
    "dagster_project/generate/calibration.py": "reads a finished warehouse after the run (tests, bench)",
    "dagster_project/query_command.py": "an analyst's read-only session, not a run",
}


def _plain_connects(source: str) -> list[int]:
    """Lines calling duckdb.connect (or a connect imported from duckdb)."""
    tree = ast.parse(source)
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == "duckdb" for alias in node.names if alias.name == "connect"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "connect" and isinstance(func.value, ast.Name)
                and func.value.id == "duckdb") or (isinstance(func, ast.Name) and func.id in imported):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_plain_connect():
    assert _plain_connects("import duckdb\ncon = duckdb.connect()\n") == [2]
    assert _plain_connects("from duckdb import connect as c\nc(':memory:')\n") == [2]
    assert _plain_connects("con = duckdb_connection.connect(settings)\n") == []


def test_every_duckdb_connection_of_the_package_goes_through_duckdb_connection():
    found = {}
    for path in sorted((PROJECT_ROOT / "dagster_project").rglob("*.py")):
        module = path.relative_to(PROJECT_ROOT).as_posix()
        lines = _plain_connects(path.read_text())
        if lines and module not in PLAIN_CONNECT_ALLOWED:
            found[module] = lines
    assert not found, (f"plain duckdb.connect outside duckdb_connection.py: {found}; open it with "
                       "duckdb_connection.connect / connect_in_memory (or a cursor of a configured "
                       "connection), or justify it beside the call and in PLAIN_CONNECT_ALLOWED")
    stale = [m for m in PLAIN_CONNECT_ALLOWED if not _plain_connects((PROJECT_ROOT / m).read_text())]
    assert not stale, f"allowed but no longer connecting plainly: {stale}; drop them from PLAIN_CONNECT_ALLOWED"
