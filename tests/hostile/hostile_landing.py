"""Helpers for the hostile-input tests: a landing, a warehouse and ingest, hand-made.

The valid rows and the CSV writer are the ingest tests' (tests/ingest/landing.py, one
home); this module only adds what the hostile cases need on top.
"""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

_TESTS = Path(__file__).resolve().parent.parent
for folder in ("ingest", "quality"):  # landing.py (rows), warehouse_fixture.py (a good build)
    if str(_TESTS / folder) not in sys.path:
        sys.path.insert(0, str(_TESTS / folder))

from gate_fixtures import (
    _no_data_docs,  # the quality tests' autouse fixture: no Data Docs rendering
)
from landing import CLD_ROW, HES_ROW, VALID_NHS, csv_text, rows, write, write_postcodes

from dagster_project import nhs_number
from dagster_project.ingest.run import IngestSummary, ingest_landing
from dagster_project.settings import Settings

__all__ = [
    "CLD_ROW",
    "HES_ROW",
    "VALID_NHS",
    "Night",
    "_no_data_docs",
    "csv_text",
    "hes_rows",
    "ledger",
    "nhs_numbers",
    "rows",
    "write",
    "write_postcodes",
]


def nhs_numbers(n: int) -> list[str]:
    """n distinct valid NHS numbers (Modulus 11), for opt-out lists."""
    found: list[str] = []
    candidate = 400000000
    while len(found) < n:
        check = nhs_number.check_digit(str(candidate))
        if check is not None:
            found.append(f"{candidate}{check}")
        candidate += 1
    return found


def hes_rows(n: int, **changes: str) -> list[dict[str, str]]:
    """n valid HES episodes (distinct EPIKEY and spell), with the same changes on each."""
    return [{**HES_ROW, "EPIKEY": f"E{i}", "PROVSPNOPS": f"S{i}", **changes} for i in range(n)]


class Night:
    """One landing folder and one warehouse, ingested night after night."""

    def __init__(self, root: Path):
        self.landing = root / "landing"
        self.landing.mkdir(parents=True)
        self.settings = Settings.from_env(landing_dir=self.landing, warehouse_dir=root / "warehouse",
                                          pseudo_key="test-key")
        self.settings.warehouse_dir.mkdir(parents=True)
        self.con = duckdb.connect(str(self.settings.warehouse_db))

    def ingest(self) -> IngestSummary:
        return ingest_landing(self.settings, self.con)

    def write_opt_out(self, numbers: list[str], name: str = "national_data_opt_out.csv") -> Path:
        text = "NHS_NUMBER\n" + "".join(f"{n}\n" for n in numbers)
        return write(self.landing, "reference", name, text)

    def close(self) -> None:
        self.con.close()


def ledger(con: duckdb.DuckDBPyConnection, file_name: str) -> tuple:
    """(source, table_name, delivery_date, status, reason) of a file's latest ledger row."""
    return con.execute(
        "select source, table_name, delivery_date, status, reason from ops.load_ledger "
        "where file_name = ? order by load_id desc limit 1", [file_name]).fetchone()
