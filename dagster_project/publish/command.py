"""`carejourney publish`: run every quality gate, then publish both copies if all pass (no Dagster needed).

For re-publishing an already-built warehouse (e.g. after a threshold was
recalibrated) without re-running the nightly job. Exit status (exit_codes.py): 0
published; 1 a gate failed or publish refused (the last published copy untouched);
2 cannot start (no warehouse, weak or changed secret, another run holds the
warehouse); 3 a gate or publish crashed (a full disk included), naming the step, or
published but the report crashed (`carejourney report` rewrites it).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dagster_project import duckdb_connection, private_files, warehouse_lock
from dagster_project.exit_codes import ExitCode
from dagster_project.publish.core import PublishError, publish
from dagster_project.quality.gates import GATES, run_gate
from dagster_project.run_command import cannot_start, check_key, prepare
from dagster_project.runs import start
from dagster_project.runs.summary import describe_exception
from dagster_project.settings import Settings, SettingsError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish", help="run the quality gates on a built warehouse and publish if they pass",
        description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--gates-only", action="store_true", help="run the gates, do not publish")
    parser.add_argument("--demo", action="store_true",
                        help="demo run: use the warehouse's made-up secret (and accept a weak one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    private_files.apply_private_umask()
    try:
        settings = Settings.from_env(warehouse_dir=args.warehouse, demo=args.demo)
        wait = warehouse_lock.wait_seconds_from_env()
    except (SettingsError, ValueError) as exc:
        return cannot_start("publish", exc)
    if not settings.warehouse_db.exists():
        return cannot_start("publish", f"no warehouse at {settings.warehouse_db}: run `carejourney run` first")
    refused = prepare("publish", settings)
    if refused is not None:
        return refused
    try:
        with warehouse_lock.hold(settings.warehouse_dir, "publish", wait):
            try:
                start.remove_leftover_spill_files(settings)  # newly locked: no connection open yet
            except start.CannotStart as exc:
                return cannot_start("publish", exc)
            private_files.secure_warehouse(settings)
            # publish never re-keys (the nightly run builds person_key): a changed key is refused
            refused = check_key("publish", settings, rotate=False)
            if refused is not None:
                return refused
            return gate_and_publish(settings, gates_only=args.gates_only)
    except warehouse_lock.LockError as exc:
        return cannot_start("publish", exc)


def gate_and_publish(settings: Settings, gates_only: bool) -> ExitCode:
    started = time.time()
    step = "opening the warehouse"
    try:
        con = duckdb_connection.connect(settings)
        try:
            results = []
            for name in GATES:
                step = f"quality gate {name}"
                results.append(run_gate(name, con, settings))
            for result in results:
                print(("PASS " if result.success else "FAIL ") + result.message, flush=True)
            print(f"Data Docs: {settings.data_docs_dir / 'index.html'}")
            if not all(r.success for r in results):
                return _finish(ExitCode.GATE_FAILED, started, settings,
                               f"{sum(not r.success for r in results)} gate(s) failed")
            if gates_only:
                return _finish(ExitCode.OK, started, settings, "gates only: every gate passed, nothing published")
            step = "publish"
            try:
                outcome = publish(settings, con)
            except PublishError as exc:
                return _finish(ExitCode.GATE_FAILED, started, settings, str(exc))
            print(outcome.summary())
            step = "report"
            report = _report(outcome.version_dir, settings)
            return _finish(ExitCode.OK, started, settings, f"published {settings.published_db}; report {report}")
        finally:
            con.close()
    except Exception as exc:
        if step == "report":  # published already: say so, with the documented exit code
            return _finish(ExitCode.STEP_CRASHED, started, settings,
                           f"published {settings.published_db}, but the report crashed: {describe_exception(exc)}; "
                           "run `carejourney report` once fixed", published=True)
        return _finish(ExitCode.STEP_CRASHED, started, settings, f"{step} crashed: {describe_exception(exc)}")


def _report(version_dir: Path, settings: Settings) -> Path:
    """As the nightly run does: every publish gets its report, inside the version just published."""
    from dagster_project.report.build import write_report

    return write_report(settings, version_dir=version_dir).path


def _finish(code: ExitCode, started: float, settings: Settings, what: str, published: bool = False) -> ExitCode:
    stream = sys.stdout if code == ExitCode.OK else sys.stderr
    published = published or (code == ExitCode.OK and "nothing published" not in what)
    headline = "PUBLISHED" if published else "NOT PUBLISHED"
    lines = [f"carejourney publish: {headline}: {what}", f"  took              {time.time() - started:.0f}s"]
    if not published:
        lines.append(f"  published copy    untouched: {settings.published_db} (and {settings.analyst_db})")
    lines.append(f"  exit status       {int(code)}: {code.meaning}")
    print("\n".join(lines), file=stream, flush=True)
    return code
