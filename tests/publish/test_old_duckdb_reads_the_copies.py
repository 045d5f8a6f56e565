"""Both copies open in DuckDB 1.1 (what BI tools and drivers embed), every table read whole.

The old DuckDB lives in its own virtual environment beside the project's
(`.venv/compat-duckdb-1.1`, made by `python3 dev.py` set-up), so nothing is
downloaded while tests run. Without it the test is skipped with the reason,
except in CI (CI=true), where a missing environment is a failure.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dagster_project.publish.core import publish

COMPAT_PYTHON = Path(sys.prefix) / "compat-duckdb-1.1" / "bin" / "python"

# Runs under the old DuckDB: every table of marts, whole, from the database and its
# Parquet file, with the table's COMMENT; prints {table: [rows, parquet rows, comment]}.
READ_EVERYTHING = textwrap.dedent("""
    import json, sys, duckdb
    out = {"version": duckdb.__version__}
    for path in sys.argv[1:]:
        con = duckdb.connect(path, read_only=True)
        folder = path.rsplit("/", 1)[0]
        for table, comment in con.execute(
                "select table_name, comment from duckdb_tables() where schema_name = 'marts'").fetchall():
            rows = con.execute(f"select * from marts.{table}").fetchall()
            parquet = con.execute(f"select * from read_parquet('{folder}/{table}.parquet')").fetchall()
            out[table] = [len(rows), len(parquet), comment]
        con.close()
    print(json.dumps(out))
""")


@pytest.fixture
def compat_python() -> Path:
    if not COMPAT_PYTHON.exists():
        message = (f"no DuckDB 1.1 environment at {COMPAT_PYTHON.parent.parent}: run `python3 dev.py test` "
                   "(its set-up creates it)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return COMPAT_PYTHON


def test_duckdb_1_1_reads_every_table_of_both_copies(con, settings, compat_python):
    result = publish(settings, con)
    completed = subprocess.run([str(compat_python), "-c", READ_EVERYTHING, str(settings.published_db),
                                str(settings.analyst_db)], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    read = json.loads(completed.stdout)
    assert read.pop("version").startswith("1.1.")
    assert {t: n for t, (n, _, _) in read.items()} == result.row_counts  # every table, whole
    assert {t: n for t, (_, n, _) in read.items()} == result.row_counts  # and its Parquet file
    assert all(comment for _, _, comment in read.values())
