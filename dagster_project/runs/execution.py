"""Run the nightly Dagster job in process: one line per step on the terminal, the rest to the log.

Whatever happens inside (a crashed step, a full disk that also stops the log from
being written, an exception in Dagster itself) ends in a RunSummary with the step
named, never in a bare traceback: the caller prints it and exits with its code.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

from dagster_project import progress
from dagster_project.runs.summary import (
    RunSummary,
    describe_exception,
    figures,
    is_machine_failure,
    summarise,
)
from dagster_project.settings import Settings


class TolerantLog(io.TextIOBase):
    """A log file that stops writing, instead of raising, once the disk refuses it:
    a full disk must not turn into an exception inside whichever step happened to log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failure: OSError | None = None
        try:
            self._handle: io.TextIOBase | None = path.open("w", encoding="utf-8")
        except OSError as exc:
            self._handle, self.failure = None, exc

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._handle is not None:
            try:
                self._handle.write(text)
            except OSError as exc:
                self.failure = exc
                self._close_quietly()
        return len(text)

    def flush(self) -> None:
        if self._handle is not None:
            try:
                self._handle.flush()
            except OSError as exc:
                self.failure = exc
                self._close_quietly()

    def _close_quietly(self) -> None:
        handle, self._handle = self._handle, None
        with contextlib.suppress(OSError):
            handle.close()

    def close(self) -> None:
        self.flush()
        if self._handle is not None:
            self._close_quietly()
        super().close()


def run_job(settings: Settings):
    """Execute the nightly job for these settings (the seam tests replace); returns Dagster's result."""
    import dagster as dg  # imported here so `carejourney --help` stays fast

    from dagster_project.dbt.project import prepare_if_stale

    prepare_if_stale()  # the dbt assets load from the manifest: current before the definitions load
    from dagster_project.definitions import build_definitions
    from dagster_project.jobs import NIGHTLY_JOB_NAME
    from dagster_project.resources import CarejourneyResource
    from dagster_project.runs.instance import lean_ephemeral_instance

    resource = CarejourneyResource(
        landing_dir=str(settings.landing_dir), warehouse_dir=str(settings.warehouse_dir),
        as_of=settings.as_of.isoformat() if settings.as_of else "", demo=settings.demo,
        engine=settings.engine)
    job = build_definitions(resource).resolve_job_def(NIGHTLY_JOB_NAME)
    # DAGSTER_HOME: the deployment's instance; else an in-memory one (runs/instance.py)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else lean_ephemeral_instance()
    return job.execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"loggers": {"progress": {}, "console": {"config": {"log_level": "INFO"}}}},
        tags={"carejourney/as_of": settings.as_of.isoformat() if settings.as_of else "latest-in-data",
              "carejourney/trigger": "cli"},
    )


def execute(settings: Settings) -> RunSummary:
    """Run the nightly job in process for these settings; print progress; return the summary."""
    print(f"carejourney nightly run\n  landing   {settings.landing_dir}\n  warehouse {settings.warehouse_dir}\n"
          f"  as-of     {settings.as_of or 'latest event date, bounded by the latest delivery date'}\n"
          f"  engine    {_engine_line(settings)}", flush=True)
    started = time.time()
    log_path = settings.reports_dir / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    try:
        settings.reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return crashed(settings, started, "preparing the reports folder", exc)
    log = TolerantLog(log_path)
    print(f"  full log  {log_path}", flush=True)
    # The terminal gets one line per step; dbt's and Dagster's full output go to the log.
    progress.OUTPUT = sys.stdout
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            result = run_job(settings)
        summary = summarise(result, settings, started)
    except Exception as exc:
        summary = crashed(settings, started, "the nightly job", exc)
    finally:
        log.close()
    summary.log_path = log_path
    if log.failure is not None:
        summary.notes.append(f"the log stopped at {describe_exception(log.failure)}")
        summary.machine_failure = summary.machine_failure or is_machine_failure(log.failure)
    return summary


def _engine_line(settings: Settings) -> str:
    if settings.on_spark:
        return (f"spark (master {settings.spark.master}, tables in {settings.spark_dir}); "
                "ingest, gates and publish on DuckDB")
    return "duckdb"


def crashed(settings: Settings, started: float, step: str, exc: BaseException) -> RunSummary:
    """The summary of a run that an exception stopped outside any Dagster step."""
    return RunSummary(settings=settings, seconds=time.time() - started, success=False, published=False,
                      failed_steps=[f"{step}: {describe_exception(exc)}"], figures=figures(settings, started),
                      machine_failure=is_machine_failure(exc))
