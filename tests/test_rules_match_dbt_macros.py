"""Rules Python must apply equal the dbt macros staging applies, run through DuckDB:
postcode normalisation (dagster_project/postcode.py) and NHS number cleaning
(dagster_project/nhs_number.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import jinja2
import pytest

from dagster_project import nhs_number, postcode

MACROS = Path(__file__).resolve().parents[1] / "dbt" / "macros"

AWKWARD = [
    "ls1  4ap", "LS14AP", " ls1 4ap ", "ls1\t4ap", "LS1\n4AP", "ec1a1bb", "EC1A 1BB", "m1 1aa", "M11AA",
    "b1", "b12", "b123", "L14A", "UNKNOWN", "", "   ", "\t", None, "ls1-4ap", "SW1A 0AA extra", "gir0aa",
]


def _duckdb_dispatch():
    """dbt's `adapter.dispatch` as dbt-duckdb resolves it (the linter's stand-in, dbt/sqlfluff_library)."""
    spec = importlib.util.spec_from_file_location("sqlfluff_adapter", MACROS.parent / "sqlfluff_library" / "adapter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def macro_sql(column: str, macro: str = "normalise_postcode") -> str:
    """The macro rendered as dbt-duckdb would render it: its file plus the portable
    macros it calls (dbt/macros/portable/, dispatched to their DuckDB form)."""
    # wherever the macro lives under dbt/macros (exactly one file defines it)
    [source] = [p.read_text() for p in MACROS.rglob("*.sql") if f"macro {macro}(" in p.read_text()]
    portable = "".join(p.read_text() for p in sorted((MACROS / "portable").glob("*.sql"))
                       if "adapter.dispatch" in p.read_text())
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    environment.globals.update({"adapter": _duckdb_dispatch(), "return": lambda value: value})
    return str(getattr(environment.from_string(source + portable).module, macro)(column))


@pytest.mark.parametrize("raw", AWKWARD)
def test_python_normalise_equals_the_dbt_macro(raw):
    query = "select {} from (select ?::varchar as x)"
    dbt_value = duckdb.sql(query.format(macro_sql("x")), params=[raw]).fetchall()[0][0]
    python_value = duckdb.sql(query.format(postcode.normalise_sql("x")), params=[raw]).fetchall()[0][0]
    assert python_value == dbt_value


def test_the_rendered_macro_is_the_real_rule():
    # guards the test above against rendering an empty macro (which would compare nothing)
    assert duckdb.sql(f"select {macro_sql(repr('ls1  4ap'))}").fetchall()[0][0] == "LS1 4AP"


@pytest.mark.parametrize("raw, expected", [("ls1\t4ap", "LS14AP"), (None, ""), (" m1 1aa ", "M11AA")])
def test_compact_form_is_what_ingest_compares_with_the_directory(raw, expected):
    assert duckdb.sql(f"select {postcode.compact_sql('x')} from (select ?::varchar as x)",
                      params=[raw]).fetchall()[0][0] == expected


@pytest.mark.parametrize("raw", ["943 476 5919", "943-476-5919", "943\t476\t5919", " 9434765919 ", "", None,
                                 "943.476.5919", "abc"])
def test_nhs_number_cleaning_equals_the_dbt_macro(raw):
    query = "select {} from (select ?::varchar as x)"
    dbt_value = duckdb.sql(query.format(macro_sql("x", "clean_nhs_number")), params=[raw]).fetchall()[0][0]
    python_sql = duckdb.sql(query.format(f"nullif({nhs_number.clean_sql('x')}, '')"), params=[raw]).fetchall()[0][0]
    assert python_sql == dbt_value == (nhs_number.clean(raw) or None)
