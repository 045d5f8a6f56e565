"""Publish tests reuse the quality tests' tiny warehouse (one fixture, one truth)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "quality"))

from dagster_project.settings import Settings  # noqa: E402
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
