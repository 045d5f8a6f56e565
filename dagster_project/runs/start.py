"""The checks every path into the nightly job makes before it touches anything (one home).

`carejourney run`, `carejourney publish`, and a run Dagster starts (UI, `nightly`
schedule, `new_delivery_sensor`; resources.WarehouseGuard) all go through here:

  1. paths_problem: landing and warehouse folders apart (before a demo key is written);
  2. check_settings: DAGSTER_HOME (if set) an existing folder, landing folder readable,
     as-of not after today or the latest delivery date, secret strong (keys.py; a demo run exempt), reader groups exist;
  3. holding(): the warehouse lock (warehouse_lock.py), then, holding it, the spill
     files a killed run left removed (duckdb_connection.remove_leftover_spill_files), the
     warehouse made private with its reader groups let through to published/ and
     analyst/ only (private_files.py), and the key's fingerprint checked against the
     warehouse's (a changed key refused unless rotating).
Each refusal is a CannotStart whose message says what is wrong and what to do; the
commands turn it into exit 2, a Dagster run fails at its start with it.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dagster_project import duckdb_connection, keys, private_files, warehouse_lock
from dagster_project.contract import SOURCES
from dagster_project.settings import Settings


class CannotStart(RuntimeError):
    """A run cannot start; the message names what is wrong and what to do (exit 2)."""


def landing_problem(landing: Path) -> str | None:
    """Why the landing folder cannot be read, or None if it can."""
    if not landing.exists():
        return (f"landing folder {landing} does not exist: point --landing or CAREJOURNEY_LANDING_DIR "
                "at the deliveries (or make demo data with `carejourney generate`)")
    if not landing.is_dir():
        return f"landing folder {landing} is not a folder"
    if not os.access(landing, os.R_OK | os.X_OK):
        return f"landing folder {landing} is not readable by this user: fix its permissions"
    present = [s for s in SOURCES if (landing / s).is_dir()]
    if not present:
        return (f"landing folder {landing} holds none of {', '.join(s + '/' for s in SOURCES)}: "
                "is it the right folder? (layout: ../shared/contract/inputs.md)")
    unreadable = [s for s in present if not os.access(landing / s, os.R_OK | os.X_OK)]
    if unreadable:
        return f"landing subfolders {', '.join(unreadable)} of {landing} are not readable: fix their permissions"
    return None


def paths_problem(landing: Path, warehouse: Path) -> str | None:
    """Landing and warehouse must not overlap (checked before anything, a demo key included, is written)."""
    from dagster_project.ingest.preflight import overlap_problem

    return overlap_problem(landing, warehouse)


def check_secret_and_groups(settings: Settings) -> None:
    """CannotStart for a weak secret (unless a demo) or a reader group that cannot be used."""
    try:
        keys.require_strong(settings.pseudo_key, settings.demo)
        private_files.check_groups(settings)
    except (keys.WeakKeyError, private_files.GroupError) as exc:
        raise CannotStart(str(exc)) from None
    weakness = keys.secret_problem(settings.pseudo_key) if settings.demo else None
    if weakness:
        print(f"DEMO RUN: CAREJOURNEY_PSEUDO_KEY is weak ({weakness}); accepted only because of --demo.", flush=True)


def dagster_home_problem() -> str | None:
    """DAGSTER_HOME, when set, must be an existing folder: Dagster keeps its run history there and
    would otherwise fail the job at its start (runs/execution.py reads the same variable)."""
    home = os.environ.get("DAGSTER_HOME")
    if home and not Path(home).is_dir():
        return (f"DAGSTER_HOME={home} is not an existing folder (Dagster keeps the run history there): "
                f"create it (mkdir -p {home}) or unset DAGSTER_HOME to run without keeping a run history")
    return None


def check_settings(settings: Settings) -> None:
    """Every check that needs no lock, for a run over the landing folder: CannotStart if one fails."""
    from dagster_project.ingest.preflight import as_of_problem

    problem = (paths_problem(settings.landing_dir, settings.warehouse_dir)
               or dagster_home_problem()
               or landing_problem(settings.landing_dir)
               or as_of_problem(settings))
    if not problem and settings.on_spark:
        from dagster_project.engine.spark_session import spark_problem

        problem = spark_problem(settings)
    if problem:
        raise CannotStart(problem)
    check_secret_and_groups(settings)


def check_key(settings: Settings, rotate: bool) -> keys.KeyCheck:
    """Record the key's fingerprint, or CannotStart for a changed key unless rotating."""
    con = duckdb_connection.connect(settings)
    try:
        check = keys.check_and_record(con, settings.pseudo_key, rotate)
    except keys.KeyChangedError as exc:
        raise CannotStart(str(exc)) from None
    finally:
        con.close()
    if check.rotated_from:
        print(f"KEY ROTATED: fingerprint {check.rotated_from[:12]}... -> {check.fingerprint[:12]}...; "
              "every person_key changes with this run (recorded in ops.key_rotation).", flush=True)
    return check


def remove_leftover_spill_files(settings: Settings) -> None:
    """The spill files a killed run left (CannotStart if they cannot be removed); says so when there were any."""
    try:
        removed = duckdb_connection.remove_leftover_spill_files(settings)
    except OSError as exc:
        raise CannotStart(f"cannot remove the spill files a killed run left in {settings.duckdb_temp_dir}: "
                          f"{exc}; remove that folder by hand and start again") from None
    if removed:
        print(f"Removed {removed} DuckDB spill file(s) a run that did not finish left in "
              f"{settings.duckdb_temp_dir}.", flush=True)


def secure_warehouse(settings: Settings) -> None:
    """The warehouse private, its reader groups let through to their copies (CannotStart if it cannot be)."""
    try:
        private_files.secure_warehouse(settings)
    except OSError as exc:
        raise CannotStart(f"cannot make the warehouse folder {settings.warehouse_dir} private: {exc}") from None


@contextlib.contextmanager
def holding(settings: Settings, command: str, *, rotate: bool = False,
            wait_seconds: float | None = None) -> Iterator[keys.KeyCheck]:
    """Hold the warehouse lock for the block, after making the warehouse private and checking the key.

    CannotStart if another run holds the warehouse (after wait_seconds, default
    CAREJOURNEY_LOCK_WAIT_SECONDS), or the warehouse cannot be secured, or the key changed.
    """
    with contextlib.ExitStack() as stack:
        # Taken here, not re-entered: this process has no connection open that could be spilling.
        newly_locked = not warehouse_lock.held_by_this_process(settings.warehouse_dir)
        try:
            wait = warehouse_lock.wait_seconds_from_env() if wait_seconds is None else wait_seconds
            stack.enter_context(warehouse_lock.hold(settings.warehouse_dir, command, wait))
        except (warehouse_lock.LockError, ValueError) as exc:
            raise CannotStart(str(exc)) from None
        if newly_locked:
            remove_leftover_spill_files(settings)
        secure_warehouse(settings)
        yield check_key(settings, rotate)
