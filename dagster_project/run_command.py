"""`carejourney run`: the whole nightly job, in process, with a summary and an exit status.

This module is the command: its options, and the order of the checks made before
anything is touched (the checks themselves live in runs/start.py, shared with runs
Dagster starts). The job itself runs in runs/execution.py, its summary is runs/summary.py,
and the "nothing new" check is runs/nothing_new.py. Exit status: exit_codes.py.

Order, each step refusing with exit 2 and touching nothing: settings; landing
folder readable; secret strong (keys.py; --demo exempt); reader groups exist; the
warehouse lock (warehouse_lock.py); then, holding the lock, the warehouse made
private, the key's fingerprint checked against the warehouse's (--rotate-key to
re-key on purpose), the nothing-new check (--full-refresh skips it, and makes the
night a full rebuild rather than an incremental one: runs/incremental.py), and the job.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import duckdb

from dagster_project import duckdb_connection, private_files, warehouse_lock
from dagster_project.exit_codes import ExitCode
from dagster_project.runs import nothing_new, start
from dagster_project.runs.start import landing_problem  # noqa: F401 - named here by callers and tests
from dagster_project.settings import Settings, SettingsError

OUTCOMES = {ExitCode.OK: "published", ExitCode.GATE_FAILED: "gate_failed",
            ExitCode.CANNOT_START: "cannot_start", ExitCode.STEP_CRASHED: "crashed"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the whole nightly job in process (no daemon needed)",
        description="Load new deliveries, link people, build marts, run quality gates and publish.")
    parser.add_argument("--landing", help="landing folder (env CAREJOURNEY_LANDING_DIR; default data/landing)")
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--as-of", help="as-of date YYYY-MM-DD, not after today or the latest delivery date "
                                        "(env CAREJOURNEY_AS_OF; default: latest event date, bounded by the "
                                        "latest delivery date)")
    parser.add_argument("--demo", action="store_true",
                        help="demonstration run: make up a pseudonymisation secret if none is set "
                             "(and accept a weak one)")
    parser.add_argument("--rotate-key", action="store_true",
                        help="the secret changed on purpose: re-key every person_key and record the rotation")
    parser.add_argument("--full-refresh", action="store_true",
                        help="run the whole job even if nothing changed since the last published run, "
                             "rebuilding every person (not only those changed since the last build)")
    parser.set_defaults(func=run)


def cannot_start(command: str, problem: object) -> ExitCode:
    print(f"carejourney {command}: cannot start: {problem}\n"
          f"  exit status {int(ExitCode.CANNOT_START)}: {ExitCode.CANNOT_START.meaning}; "
          "nothing was changed and the published copy is untouched", file=sys.stderr)
    return ExitCode.CANNOT_START


def prepare(command: str, settings: Settings) -> ExitCode | None:
    """The checks shared by `run` and `publish` before the lock: None when they pass."""
    try:
        start.check_secret_and_groups(settings)
    except start.CannotStart as exc:
        return cannot_start(command, exc)
    return None


def check_key(command: str, settings: Settings, rotate: bool) -> ExitCode | None:
    """Record the key's fingerprint, or refuse a changed key (exit 2) unless rotating."""
    try:
        start.check_key(settings, rotate)
    except start.CannotStart as exc:
        return cannot_start(command, exc)
    return None


def run(args: argparse.Namespace) -> int:
    private_files.apply_private_umask()
    try:
        # Paths first: overlapping folders are refused before anything (a demo key) is written.
        paths = Settings.from_env(args.landing, args.warehouse, args.as_of, require_key=False)
        problem = start.paths_problem(paths.landing_dir, paths.warehouse_dir)
        if problem:
            return cannot_start("run", problem)
        settings = Settings.from_env(args.landing, args.warehouse, args.as_of, demo=args.demo)
        wait = warehouse_lock.wait_seconds_from_env()
    except (SettingsError, ValueError) as exc:
        return cannot_start("run", exc)
    try:
        start.check_settings(settings)
        # Holding the lock for the whole night; the job's WarehouseGuard finds it held here.
        with start.holding(settings, "run", rotate=args.rotate_key, wait_seconds=wait):
            return run_holding_lock(settings, full_refresh=args.full_refresh)
    except start.CannotStart as exc:
        return cannot_start("run", exc)
    except Exception as exc:
        from dagster_project.runs import execution

        summary = execution.crashed(settings, time.time(), "run", exc)
        print(summary.text(), flush=True)
        return summary.exit_code


def run_holding_lock(settings: Settings, *, full_refresh: bool) -> ExitCode:
    started = time.time()
    try:
        inputs = nothing_new.run_inputs(settings)
    except OSError as exc:
        return cannot_start("run", f"cannot read the landing folder {settings.landing_dir}: {exc}")
    built_by = None if full_refresh else nothing_new.unchanged_since(settings, inputs)
    if built_by is not None:
        _record(settings, lambda con: nothing_new.record_run(
            con, inputs, started_at=started, command="run", outcome="nothing_new", exit_code=int(ExitCode.OK),
            published_version=nothing_new.published_version_name(settings), note=f"same inputs as run {built_by}"))
        print(f"carejourney nightly run: nothing new since run {built_by}; published copy unchanged "
              f"({settings.published_db}).\n  Same landing files ({inputs.n_landing_entries} entries), "
              "settings, code, linkage model and key; --full-refresh runs the whole job anyway.\n"
              f"  exit status {int(ExitCode.OK)}: {ExitCode.OK.meaning}", flush=True)
        return ExitCode.OK
    run_ids: list[int] = []
    if full_refresh:
        # Rebuild every model from all history, not only the people changed since the last build.
        from dagster_project.runs import incremental

        problem = _record(settings, incremental.forget_baseline)
        if problem:
            return cannot_start("run", f"--full-refresh could not be recorded: {problem}")
    _record(settings, lambda con: run_ids.append(nothing_new.record_run(
        con, inputs, started_at=started, command="run", outcome="running", exit_code=None,
        published_version=None, note="full refresh" if full_refresh else "")))
    # imported only now: a no-op night never pays for importing Dagster
    from dagster_project.runs import execution

    summary = execution.execute(settings)
    code = summary.exit_code
    problem = _record(settings, lambda con: nothing_new.finish_run(
        con, run_ids[0], outcome=OUTCOMES[code], exit_code=int(code),
        published_version=nothing_new.published_version_name(settings),
        note="full refresh" if full_refresh else "")) if run_ids else "this run could not be recorded in ops.run_log"
    if problem:
        summary.notes.append(f"{problem}; the next run will not skip")
    print(summary.text(), flush=True)
    return code


def _record(settings: Settings, write: Callable[[duckdb.DuckDBPyConnection], object]) -> str | None:
    """Write to ops.run_log; a message (never an exception) if the warehouse cannot take it."""
    try:
        con = duckdb_connection.connect(settings)
        try:
            write(con)
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        return f"this run could not be recorded in ops.run_log ({exc})"
    return None
