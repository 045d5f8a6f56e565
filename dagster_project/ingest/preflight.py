"""Checks made before a run touches anything: folders that must not overlap, an as-of
date the deliveries can speak for. Each returns why the run cannot start, or None."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from dagster_project import contract, duckdb_connection
from dagster_project.ingest.discovery import discover
from dagster_project.settings import Settings

# Sources whose file names carry a delivery date (reference files carry none).
DATED_SOURCES = tuple(s for s in contract.SOURCES if s != "reference")


def overlap_problem(landing: Path, warehouse: Path) -> str | None:
    """Landing and warehouse folders must be apart: ingest would read the warehouse's own
    identifiable files (warehouse.duckdb, quarantine/) as deliveries, and quarantine them."""
    landing, warehouse = landing.resolve(), warehouse.resolve()
    if landing == warehouse:
        relation = "is the same folder as"
    elif landing.is_relative_to(warehouse):
        relation = "is inside"
    elif warehouse.is_relative_to(landing):
        relation = "contains"
    else:
        return None
    return (f"landing folder {landing} {relation} the warehouse folder {warehouse}: they must not overlap "
            "(the warehouse's own files would be read as deliveries); point --landing and --warehouse "
            "at separate folders")


def latest_delivery_date(settings: Settings) -> dt.date | None:
    """The latest delivery date any HES/CLD/CSDS file speaks for: in the landing folder's
    file names or in the load ledger (files loaded before and since removed)."""
    dates = [f.delivery_date for f in discover(settings.landing_dir) if f.table is not None and not f.refused]
    if settings.warehouse_db.exists():
        try:
            con = duckdb_connection.connect(settings, read_only=True)
        except duckdb.Error:
            con = None  # held by another process: the landing's names still bound the date
        if con is not None:
            try:
                dates.append(con.execute(
                    "select max(delivery_date) from ops.load_ledger where status = 'loaded' "
                    "and source in (select unnest(?::varchar[]))", [list(DATED_SOURCES)]).fetchone()[0])
            except duckdb.Error:
                pass  # no ledger yet
            finally:
                con.close()
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def as_of_problem(settings: Settings, today: dt.date | None = None) -> str | None:
    """An explicit as-of date after today, or after the latest delivery date, is refused:
    no delivery speaks for those days, so every window ending there would read as empty."""
    as_of = settings.as_of
    if as_of is None:
        return None
    today = today or dt.date.today()
    if as_of > today:
        return f"as-of date {as_of} is after today ({today}): give a date on or before today, or leave --as-of out"
    latest = latest_delivery_date(settings)
    if latest is not None and as_of > latest:
        return (f"as-of date {as_of} is after the latest delivery date {latest}: no delivery covers the days "
                f"after it; give a date on or before {latest}, or leave --as-of out (the default is bounded by it)")
    return None
