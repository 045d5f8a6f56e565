"""Publish tests reuse the quality tests' tiny warehouse (one fixture, one truth)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "quality"))

from dagster_project.settings import Settings  # noqa: E402
from dagster_project.quality import gx_runner  # noqa: E402
from warehouse_fixture import PSEUDO_KEY, build_warehouse  # noqa: E402


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
