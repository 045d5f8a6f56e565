from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the hand-made landing helpers

from dagster_project.ingest.run import IngestSummary, ingest_landing
from dagster_project.settings import Settings


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def settings(tmp_path: Path, landing: Path) -> Settings:
    return Settings.from_env(landing_dir=landing, warehouse_dir=tmp_path / "warehouse", pseudo_key="test-key")


@pytest.fixture
def con(settings: Settings):
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(settings.warehouse_db))
    yield connection
    connection.close()


@pytest.fixture
def ingest(settings: Settings, con: duckdb.DuckDBPyConnection):
    def run() -> IngestSummary:
        return ingest_landing(settings, con)
    return run
