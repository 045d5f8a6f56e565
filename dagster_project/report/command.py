"""`carejourney report`: write the published copy's report (SPC, funnels, pathways, data quality).

Exit 0: written; 2: cannot start (no published copy, or one this version cannot
read); 3: the report crashed (the published data is untouched either way).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dagster_project.exit_codes import ExitCode
from dagster_project.report.published_data import ReportInputError
from dagster_project.settings import Settings, SettingsError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write published/report/index.html from the published copy",
        description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--out", help="write the page here instead of into the published version")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dagster_project.report.build import (
        write_report,  # plotly is slow to import: only when used
    )

    try:
        settings = Settings.from_env(warehouse_dir=args.warehouse, require_key=False)
    except SettingsError as exc:
        print(f"carejourney report: cannot start: {exc}", file=sys.stderr)
        return ExitCode.CANNOT_START
    try:
        result = write_report(settings, out=Path(args.out) if args.out else None)
    except ReportInputError as exc:
        print(f"carejourney report: cannot start: {exc}", file=sys.stderr)
        return ExitCode.CANNOT_START
    except Exception as exc:
        print(f"carejourney report: the report crashed on {settings.published_dir}: {type(exc).__name__}: {exc}. "
              "The published copy is untouched; rerun with the same command after fixing, or report the bug.",
              file=sys.stderr)
        return ExitCode.STEP_CRASHED
    print(f"report: {result.path} ({result.metrics} metrics, {result.charts} charts, "
          f"{result.size_bytes / 1e6:.1f} MB, published version {result.version_dir.name})")
    return ExitCode.OK
