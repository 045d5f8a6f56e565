"""`carejourney publish`: run every quality gate, then publish if all pass (no Dagster needed).

For re-publishing an already-built warehouse (e.g. after a threshold was
recalibrated) without re-running the nightly job. Exit 0: published, with its
report; 1: a gate failed or publish refused (the last published copy untouched);
2: cannot start; 3: published, but the report crashed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from dagster_project.publish.core import PublishError, publish
from dagster_project.quality.gates import GATES, run_gate
from dagster_project.settings import Settings, SettingsError

EXIT_OK, EXIT_REFUSED, EXIT_CANNOT_START, EXIT_STEP_CRASHED = 0, 1, 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish", help="run the quality gates on a built warehouse and publish if they pass",
        description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--gates-only", action="store_true", help="run the gates, do not publish")
    parser.add_argument("--demo", action="store_true", help="demo run: use the warehouse's made-up secret")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(warehouse_dir=args.warehouse, demo=args.demo)
    except SettingsError as exc:
        print(f"carejourney publish: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    if not settings.warehouse_db.exists():
        print(f"carejourney publish: no warehouse at {settings.warehouse_db}: run `carejourney run` first",
              file=sys.stderr)
        return EXIT_CANNOT_START
    con = duckdb.connect(str(settings.warehouse_db))
    try:
        results = [run_gate(name, con, settings) for name in GATES]
        for result in results:
            print(("PASS " if result.success else "FAIL ") + result.message, flush=True)
        print(f"Data Docs: {settings.data_docs_dir / 'index.html'}")
        if not all(r.success for r in results):
            print(f"NOT PUBLISHED: {sum(not r.success for r in results)} gate(s) failed; "
                  f"{settings.published_db} untouched", file=sys.stderr)
            return EXIT_REFUSED
        if args.gates_only:
            return EXIT_OK
        try:
            outcome = publish(settings, con)
        except PublishError as exc:
            print(f"NOT PUBLISHED: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        print(outcome.summary())
        return _report(outcome.version_dir, settings)
    finally:
        con.close()


def _report(version_dir: Path, settings: Settings) -> int:
    """As the nightly run does: every publish gets its report, inside the version just published."""
    from dagster_project.report.build import write_report

    try:
        report = write_report(settings.published_dir, version_dir=version_dir)
    except Exception as exc:  # noqa: BLE001 - published already; say so and give the documented exit code
        print(f"published, but the report failed: {type(exc).__name__}: {exc}. "
              "Run `carejourney report` once fixed.", file=sys.stderr)
        return EXIT_STEP_CRASHED
    print(f"report: {report.path}")
    return EXIT_OK
