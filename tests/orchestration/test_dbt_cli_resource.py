"""The nightly job's dbt resource knows its dbt's version without starting dbt (and without
dbt asking PyPI for the latest release); a dbt from elsewhere is still asked. A night's
dbt build leaves the unit tests to the test suite unless CAREJOURNEY_DBT_UNIT_TESTS says,
and writes no debug log file."""
from __future__ import annotations

import importlib.metadata

import dagster_dbt.core.resource
import pytest
from packaging import version

from dagster_project.dbt.assets import build_args, dbt_resource
from dagster_project.dbt.cli_resource import CarejourneyDbtCliResource
from dagster_project.dbt.project import dbt_project
from dagster_project.settings import DBT_PROJECT_DIR, Settings, SettingsError


def test_this_environments_dbt_version_comes_from_its_package(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args}")
    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    assert dbt_resource()._cli_version == version.parse(importlib.metadata.version("dbt-core"))


def test_a_dbt_from_elsewhere_is_asked(tmp_path):
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\necho 'Core:\n  - installed: 1.9.4'\n")
    other.chmod(0o755)
    resource = CarejourneyDbtCliResource(project_dir=str(dbt_project.project_dir), dbt_executable=str(other))
    assert resource._cli_version == version.parse("1.9.4")


@pytest.mark.parametrize(("value", "runs_unit_tests"), [(None, False), ("0", False), ("1", True), ("true", True)])
def test_a_nights_dbt_build_leaves_unit_tests_out_unless_told(tmp_path, monkeypatch, value, runs_unit_tests):
    # CAREJOURNEY_DBT_UNIT_TESTS=1: the night's dbt builds run the unit tests too (the
    # two-engine test proves them on Spark that way); unset, they are left to the test suite
    if value is None:
        monkeypatch.delenv("CAREJOURNEY_DBT_UNIT_TESTS", raising=False)
    else:
        monkeypatch.setenv("CAREJOURNEY_DBT_UNIT_TESTS", value)
    settings = Settings.from_env(tmp_path / "landing", tmp_path / "warehouse", pseudo_key="ab" * 32)
    args = build_args(settings, target="spark")
    assert args[:3] == ["build", "--target", "spark"]
    excluded = [args[i + 1] for i, arg in enumerate(args) if arg == "--exclude-resource-type"]
    assert excluded == ([] if runs_unit_tests else ["unit_test"])


def test_a_unit_tests_setting_that_is_neither_on_nor_off_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREJOURNEY_DBT_UNIT_TESTS", "sometimes")
    with pytest.raises(SettingsError, match="CAREJOURNEY_DBT_UNIT_TESTS='sometimes' is neither on nor off"):
        Settings.from_env(tmp_path / "landing", tmp_path / "warehouse", pseudo_key="ab" * 32)


def test_no_dbt_adapter_is_loaded_in_the_dagster_process(monkeypatch):
    """dagster-dbt's adapter handle (only for fetch_row_counts / fetch_column_metadata) costs
    seconds per dbt step; the nightly job's resource skips it (cli_resource.py)."""
    import dbt.config.runtime

    def no_profile(*args, **kwargs):
        raise AssertionError("loaded dbt's profile in the Dagster process")
    monkeypatch.setattr(dbt.config.runtime, "load_profile", no_profile)
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None


def test_a_nights_dbt_build_writes_no_debug_log_file(tmp_path):
    """dbt formats every debug event for its file log (dbt.log) whatever is read of it; the
    night's events reach the run's log through stdout (dagster-dbt). dbt itself parses the
    arguments: the flag is where and as dbt accepts it."""
    from dbt.cli.main import cli

    settings = Settings.from_env(tmp_path / "landing", tmp_path / "warehouse", pseudo_key="ab" * 32)
    args = [*build_args(settings), "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    context = cli.make_context("dbt", list(args))
    sub_name, sub_command, sub_args = cli.resolve_command(context, list(args))
    params = sub_command.make_context(sub_name, sub_args, parent=context).params
    assert sub_name == "build" and params["log_level_file"] == "none"
