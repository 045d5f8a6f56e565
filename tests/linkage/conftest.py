from __future__ import annotations

import duckdb
import pytest

from dagster_project.settings import Settings


@pytest.fixture
def con():
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                             pseudo_key="test-secret")
