"""`carejourney accept-reference`: confirm that a reference table really shrank.

The raw_reference gate stops publication when a reference file (the opt-out list
above all) loses more than a set share of its rows against the version before it:
usually a truncated or wrong file. When the sender confirms the shrink is real, the
operator accepts that one load here; the acceptance is recorded (who, when, why) in
ops.accepted_reference_changes and the next run publishes. A later file is judged
afresh: acceptance is for one load, never for a table.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from dagster_project import contract, duckdb_connection
from dagster_project.exit_codes import ExitCode
from dagster_project.ingest.schema import ensure_schema
from dagster_project.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    tables = [t.name for t in contract.TABLES if t.snapshot]
    parser = subparsers.add_parser(
        "accept-reference", help="accept that a reference table (e.g. the opt-out list) really shrank",
        description="Record that the latest load of a reference table is right although it is much "
                    "smaller than the version before it (the raw_reference gate then lets it publish).")
    parser.add_argument("table", choices=tables, help="reference table whose latest load to accept")
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--reason", help="why (e.g. who confirmed it); kept with the acceptance")
    parser.set_defaults(func=accept)


def accept(args: argparse.Namespace) -> int:
    settings = Settings.from_env(warehouse_dir=args.warehouse, require_key=False)
    if not settings.warehouse_db.exists():
        print(f"carejourney accept-reference: no warehouse at {settings.warehouse_db}", file=sys.stderr)
        return ExitCode.CANNOT_START
    con = duckdb_connection.connect(settings)
    try:
        latest = con.execute(
            "select load_id, file_name, rows_loaded from ops.load_ledger "
            "where table_name = ? and status = 'loaded' order by load_id desc limit 1", [args.table]).fetchone()
        if latest is None:
            print(f"carejourney accept-reference: {args.table} has no loaded file to accept", file=sys.stderr)
            return ExitCode.CANNOT_START
        ensure_schema(con)
        con.execute("insert into ops.accepted_reference_changes values (?, ?, now()::timestamp, ?, ?)",
                    [latest[0], args.table, getpass.getuser(), args.reason])
    finally:
        con.close()
    print(f"accepted {latest[1]} (load {latest[0]}, {latest[2]} rows) as the current {args.table}; "
          "the next run judges it accepted")
    return ExitCode.OK
