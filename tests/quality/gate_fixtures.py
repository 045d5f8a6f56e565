"""Fixtures shared by the quality and publish tests: a good tiny warehouse and settings."""
from __future__ import annotations

import pytest
from warehouse_fixture import PSEUDO_KEY, build_warehouse

from dagster_project.quality import gx_runner
from dagster_project.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                             pseudo_key=PSEUDO_KEY)


@pytest.fixture
def con(settings):
    connection = build_warehouse(settings.warehouse_db)
    yield connection
    connection.close()


@pytest.fixture(autouse=True)
def _no_data_docs(monkeypatch):
    """Skip rendering Data Docs (half of each validation's cost) unless a test asks for them."""
    monkeypatch.setattr(gx_runner, "BUILD_DATA_DOCS", False)


@pytest.fixture
def with_data_docs(monkeypatch, _no_data_docs):
    monkeypatch.setattr(gx_runner, "BUILD_DATA_DOCS", True)
