"""Fixtures for the quality gates: a good tiny warehouse and settings pointing at it."""
from __future__ import annotations

import pytest

from dagster_project.settings import Settings
from warehouse_fixture import PSEUDO_KEY, build_warehouse


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                             pseudo_key=PSEUDO_KEY)


@pytest.fixture
def con(settings):
    connection = build_warehouse(settings.warehouse_db)
    yield connection
    connection.close()
