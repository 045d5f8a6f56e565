"""The nightly job's dbt resource knows its dbt's version without starting dbt (and without
dbt asking PyPI for the latest release); a dbt from elsewhere is still asked."""
from __future__ import annotations

import importlib.metadata

import dagster_dbt.core.resource
from packaging import version

from dagster_project.dbt.assets import dbt_resource
from dagster_project.dbt.cli_resource import CarejourneyDbtCliResource
from dagster_project.dbt.project import dbt_project


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
