"""`carejourney query "SQL"`: read-only SQL against the published copy (aggregates),
or with --analyst the analyst copy (pseudonymised person-level marts), or with
--internal the whole warehouse; printed as a table or as CSV."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys

import duckdb

from dagster_project import warehouse_lock
from dagster_project.exit_codes import ExitCode
from dagster_project.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("query", help="run read-only SQL against the published marts",
                                   description=__doc__)
    parser.add_argument("sql", help='e.g. "select * from marts.system_metrics limit 10"')
    copy = parser.add_mutually_exclusive_group()
    copy.add_argument("--analyst", action="store_true",
                      help="query the analyst copy (person, journey, hospital_spell: pseudonymised person-level "
                           "rows; approved analysts only) instead of the published aggregates")
    copy.add_argument("--internal", action="store_true",
                      help="query warehouse.duckdb (identifiable; engineers only) instead of the published copy")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--max-rows", type=int, default=200, help="rows shown as a table (CSV prints all)")
    parser.set_defaults(func=run)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_table(columns: list[str], rows: list[tuple], max_rows: int) -> str:
    shown = [[_text(v) for v in row] for row in rows[:max_rows]]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    line = lambda cells: "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=False)).rstrip()
    out = [line(columns), line(["-" * w for w in widths]), *(line(r) for r in shown)]
    more = len(rows) - len(shown)
    not_shown = f", {more} not shown; use --csv" if more > 0 else ""
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{not_shown})")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(warehouse_dir=args.warehouse, require_key=False)
    if args.internal:
        database, what = settings.warehouse_db, "warehouse"
    elif args.analyst:
        database, what = settings.analyst_db, "analyst copy"
    else:
        database, what = settings.published_db, "published copy"
    if not database.exists():
        print(f"carejourney query: no {what} at {database}: run `carejourney run` first "
              "(or point --warehouse / CAREJOURNEY_WAREHOUSE_DIR at it)", file=sys.stderr)
        return 2
    # read_only: no statement can change the file; no external access: no ATTACH or COPY TO elsewhere.
    # Plain, not duckdb_connection: an analyst's session, not a run; it may be a reader of
    # published/ who cannot write the warehouse's spill folder (DuckDB's defaults apply).
    try:
        con = duckdb.connect(str(database), read_only=True, config={"enable_external_access": False})
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        # DuckDB lets no reader in while a run writes warehouse.duckdb.
        print(f"carejourney query: {database} is being written: "
              f"{warehouse_lock.describe_holder(warehouse_lock.holder(settings.warehouse_dir))}. "
              "Query it again when that run has finished; the published copy can be queried meanwhile "
              "(drop --internal).", file=sys.stderr)
        return ExitCode.CANNOT_START
    try:
        cursor = con.execute(args.sql)
        if cursor.description is None:
            return 0
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        print(f"carejourney query: the query failed on {database.name}: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    try:
        if args.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([[_text(v) for v in row] for row in rows])
        else:
            print(format_table(columns, rows, args.max_rows))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): that is its choice, not an error. Point stdout
        # at /dev/null so the interpreter's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0
