"""Dagster resources shared by every concern: settings and the warehouse connection."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from dagster_project import duckdb_connection
from dagster_project.retries import retry_transient
from dagster_project.settings import Settings

if TYPE_CHECKING:
    from dagster_dbt import DbtCliResource

    from dagster_project.engine.run_worker import RunWorker


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
    engine: str = ""     # duckdb | spark; "" = CAREJOURNEY_ENGINE, else duckdb

    def settings(self) -> Settings:
        return Settings.from_env(
            landing_dir=self.landing_dir or None,
            warehouse_dir=self.warehouse_dir or None,
            as_of=self.as_of or None,
            pseudo_key=self.pseudo_key or None,
            demo=self.demo,
            engine=self.engine or None,
        )

    def settings_paths_only(self) -> Settings:
        """Paths and as-of only: for callers that never need the secret (sensor, query)."""
        return Settings.from_env(
            landing_dir=self.landing_dir or None,
            warehouse_dir=self.warehouse_dir or None,
            as_of=self.as_of or None,
            require_key=False,
            engine=self.engine or None,
        )

    def start_problem(self) -> str | None:
        """Why a nightly run with these settings would be refused at its start, or None:
        the checks that need no lock (runs/start.py), for the schedule and the sensor."""
        from dagster_project.runs import start
        from dagster_project.settings import SettingsError

        try:
            start.check_settings(self.settings())
        except (SettingsError, start.CannotStart) as exc:
            return str(exc)
        return None

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to warehouse.duckdb, closed afterwards (DuckDB has one writer), with
        the run's DuckDB settings (duckdb_connection.py)."""
        settings = self.settings()
        path = settings.warehouse_db
        path.parent.mkdir(parents=True, exist_ok=True)
        with retry_transient(f"the warehouse {path}"):
            con = duckdb_connection.connect(settings, path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class WarehouseGuard(dg.ConfigurableResource):
    """What makes a run Dagster starts (UI, schedule, sensor) as safe as `carejourney run`.

    Every nightly step requires this resource, so Dagster sets it up once when the
    run's first step starts and tears it down when the run ends (the nightly job runs
    in process: one run worker holds it for the whole run). Setting up makes the same
    start checks as the commands (runs/start.py: folders apart, landing readable,
    as-of bounded, secret strong, reader groups, then the warehouse lock, the warehouse
    made private with its groups let through, the key's fingerprint) and holds the
    lock until teardown; if the run worker dies, the kernel releases the lock with it.
    A refused check fails the run before any step runs, naming what is wrong.
    Under `carejourney run` the command holds the lock and has made these checks
    already (warehouse_lock is re-entrant per process), so this goes straight on.
    A key rotation is the command's business (`carejourney run --rotate-key`).
    """

    carejourney: CarejourneyResource
    _held: contextlib.ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from dagster_project import warehouse_lock
        from dagster_project.runs import start

        settings = self.carejourney.settings()
        if warehouse_lock.held_by_this_process(settings.warehouse_dir):
            return
        run = context.run
        command = f"Dagster run {run.run_id[:8]} of {run.job_name}" if run else "Dagster run"
        start.check_settings(settings)
        stack = contextlib.ExitStack()
        stack.enter_context(start.holding(settings, command))
        self._held = stack
        context.log.info(f"holding the warehouse lock {warehouse_lock.lock_path(settings.warehouse_dir)} "
                         "for this run; start checks passed")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None


class EngineResource(dg.ConfigurableResource):
    """Where dbt builds and linkage scores: DuckDB (the warehouse itself) or Spark
    (Settings.engine, CAREJOURNEY_ENGINE). The job's steps are the same on both; they ask
    this resource which engine runs and how to reach it (README "Running on Spark")."""

    carejourney: CarejourneyResource

    def settings(self) -> Settings:
        return self.carejourney.settings_paths_only()

    @property
    def on_spark(self) -> bool:
        return self.settings().on_spark

    @property
    def name(self) -> str:
        return self.settings().engine

    def dbt_target(self) -> str:
        """The dbt/profiles.yml target of this engine (a Databricks cluster: the deployment's
        own `databricks` output, README "Running on Spark")."""
        from dagster_project.engine.spark_session import on_databricks

        settings = self.settings()
        if not settings.on_spark:
            return "warehouse"
        return "databricks" if on_databricks(settings) else "spark"

    def dbt_vars(self, register: dict[str, str], bring_back: tuple[str, ...]) -> dict:
        """The vars a Spark dbt build needs: the session's settings, the Parquet folders to
        register as tables first, and where to export the schemas DuckDB reads back."""
        from dagster_project.engine import exchange, spark_session

        settings = self.settings()
        return {**spark_session.dbt_spark_vars(settings), "spark_exchange_in": register,
                "spark_exchange_out": str(exchange.out_dir(settings)),
                "spark_exchange_out_schemas": list(bring_back)}

    _worker: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """The nightly run starts its slow imports at once, so that they overlap ingest: dbt's
        in its worker, Great Expectations' (for the gates, in this process) on a thread."""
        from dagster_project.jobs import NIGHTLY_JOB_NAME
        from dagster_project.quality import gx_runner

        if context.run is None or context.run.job_name != NIGHTLY_JOB_NAME:
            return
        gx_runner.import_gx_in_background()
        if self._uses_worker():
            self.run_worker()

    def _uses_worker(self) -> bool:
        """dbt runs in the run's worker, except on a Databricks cluster (dbt's own connection there)."""
        from dagster_project.engine.spark_session import on_databricks

        return not on_databricks(self.settings())

    def run_worker(self) -> RunWorker:
        """The run's worker (engine/run_worker.py): one process for every dbt command of the run
        (and, on Spark, one Spark session, one JVM, for every Spark step), started at the
        nightly run's start or at the run's first dbt or Spark step, stopped when the run ends
        (teardown_after_execution; the nightly job runs in process, so Dagster sets this
        resource up once per run)."""
        from dagster_project.engine.run_worker import RunWorker, worker_log_dir

        if self._worker is None:
            settings = self.settings()
            self._worker = RunWorker(settings, worker_log_dir(settings))
        return self._worker

    def run_spark_step(self, step: str, **request: str) -> dict:
        """A Spark step in the run's worker; its result."""
        return self.run_worker().run_step(step, **request)

    def dbt_cli(self, dbt: DbtCliResource) -> DbtCliResource:
        """The dbt resource a dbt step runs with: dbt runs inside the run's worker (its executable
        hands the command over: engine/dbt_client.py), on Spark in the worker's JVM."""
        if not self._uses_worker():
            return dbt
        from dagster_project.dbt.cli_resource import CarejourneyDbtCliResource

        worker = self.run_worker()
        worker.wait_until_listening()
        return CarejourneyDbtCliResource(project_dir=dbt.project_dir, profiles_dir=dbt.profiles_dir,
                                         dbt_executable=str(worker.dbt_executable))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.stop()


def run_resources(carejourney: CarejourneyResource) -> dict[str, dg.ConfigurableResource]:
    """The resources every carejourney step needs: its settings, its engine, and the guard it runs under."""
    return {"carejourney": carejourney, "warehouse_guard": WarehouseGuard(carejourney=carejourney),
            "engine": EngineResource(carejourney=carejourney)}
