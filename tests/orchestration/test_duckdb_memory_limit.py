"""The run's DuckDB memory limit: one setting, on every connection and in dbt's profile."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dagster_project import duckdb_connection
from dagster_project.dbt.assets import build_args
from dagster_project.resources import CarejourneyResource
from dagster_project.settings import DBT_PROJECT_DIR, DEFAULT_DUCKDB_MEMORY_LIMIT, Settings, SettingsError

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


def test_dbt_gets_the_same_settings_through_its_profile(tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, "1500MB")
    args = build_args(settings)
    run_vars = json.loads(args[args.index("--vars") + 1])
    assert run_vars["duckdb_memory_limit"] == "1500MB"
    assert run_vars["duckdb_temp_directory"] == str(settings.duckdb_temp_dir)
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    duckdb_settings = profile["carejourney"]["outputs"]["warehouse"]["config_options"]
    for name, var in (("memory_limit", "duckdb_memory_limit"), ("temp_directory", "duckdb_temp_directory")):
        assert duckdb_settings[name].startswith("{{ var('" + var + "'"), (name, duckdb_settings[name])
