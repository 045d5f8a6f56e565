"""Hand-made staging tables (the docs/architecture.md 'dbt staging' interface) in DuckDB.

Linkage tests build staging.stg_* themselves so they do not depend on ingest or dbt.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dagster_project import nhs_number


@dataclass
class Rec:
    """One staging record (an episode, a CLD event or a CSDS MPI row)."""

    source_dataset: str          # hes_apc | asc_cld | csds
    source_person_id: str
    nhs: str | None
    dob: str | None              # YYYY-MM-DD
    sex: str                     # M / F / U
    postcode: str | None
    first_name: str | None = None
    last_name: str | None = None
    la_code: str | None = None
    delivery: str = "2024-01-01"
    extra: dict = field(default_factory=dict)


def make_nhs(seed: int) -> str:
    """A valid NHS number derived from an integer (skips ones without a check digit)."""
    n = 400000000 + seed * 7
    while True:
        nine = f"{n:09d}"
        digit = nhs_number.check_digit(nine)
        if digit is not None:
            return nine + str(digit)
        n += 1


def break_checksum(number: str) -> str:
    last = (int(number[9]) + 1) % 10
    return number[:9] + str(last)


_TYPES = {"date_of_birth": "date", "_delivery_date": "date", "_line_number": "bigint"}
COMMON = ["source_dataset", "source_person_id", "nhs_number", "nhs_number_status", "date_of_birth",
          "sex", "postcode", "_delivery_date", "_file_name", "_line_number"]


def create_staging(con: duckdb.DuckDBPyConnection, records: list[Rec]) -> None:
    con.execute("create schema if not exists staging")
    rows = []
    for line, r in enumerate(records, start=2):
        rows.append({
            "source_dataset": r.source_dataset,
            "source_person_id": r.source_person_id,
            "nhs_number": nhs_number.clean(r.nhs) or None,
            "nhs_number_status": nhs_number.status(r.nhs),
            "date_of_birth": dt.date.fromisoformat(r.dob) if r.dob else None,
            "sex": r.sex,
            "postcode": r.postcode,
            "first_name": r.first_name,
            "last_name": r.last_name,
            "la_code": r.la_code,
            "resident_la_code": r.la_code,
            "_delivery_date": dt.date.fromisoformat(r.delivery),
            "_file_name": f"{r.source_dataset}_{r.delivery.replace('-', '')}.csv",
            "_line_number": line,
        })
    columns = COMMON + ["first_name", "last_name", "la_code", "resident_la_code"]
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.astype(object).where(frame.notna(), None)
    con.register("_fixture", frame)
    try:
        selects = {
            "stg_hes_apc__episodes": ("hes_apc", COMMON + ["resident_la_code"]),
            "stg_asc_cld__events": ("asc_cld", COMMON + ["first_name", "last_name", "la_code"]),
            "stg_csds__mpi": ("csds", COMMON),
        }
        for table, (source, cols) in selects.items():
            typed = ", ".join(f"cast({c} as {_TYPES.get(c, 'varchar')}) as {c}" for c in cols)
            con.execute(
                f"create or replace table staging.{table} as select {typed}"
                " from _fixture where source_dataset = ?",
                [source],
            )
    finally:
        con.unregister("_fixture")
