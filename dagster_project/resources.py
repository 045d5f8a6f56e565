"""Dagster resources shared by every concern: settings and the warehouse connection."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import duckdb

from dagster_project.retries import retry_transient
from dagster_project.settings import Settings


class CarejourneyResource(dg.ConfigurableResource):
    """Where the landing folder and the warehouse are, and the run's secret and as-of date.

    Empty strings mean "from the environment, else the default" (see settings.py), so
    the same Definitions serve `dagster dev`, the schedule and `carejourney run`.
    """

    landing_dir: str = ""
    warehouse_dir: str = ""
    as_of: str = ""
    pseudo_key: str = ""
    demo: bool = False

    def settings(self) -> Settings:
        return Settings.from_env(
            landing_dir=self.landing_dir or None,
            warehouse_dir=self.warehouse_dir or None,
            as_of=self.as_of or None,
            pseudo_key=self.pseudo_key or None,
            demo=self.demo,
        )

    def settings_paths_only(self) -> Settings:
        """Paths and as-of only: for callers that never need the secret (sensor, query)."""
        return Settings.from_env(
            landing_dir=self.landing_dir or None,
            warehouse_dir=self.warehouse_dir or None,
            as_of=self.as_of or None,
            require_key=False,
        )

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to warehouse.duckdb, closed afterwards (DuckDB has one writer)."""
        path = self.settings().warehouse_db
        path.parent.mkdir(parents=True, exist_ok=True)
        with retry_transient(f"the warehouse {path}"):
            con = duckdb.connect(str(path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
