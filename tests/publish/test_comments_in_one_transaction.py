"""COMMENT ON every table and column of a copy in one transaction: all land, or none and the error."""
from __future__ import annotations

import duckdb
import pytest

from dagster_project.publish import documentation


def _attached(tmp_path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{tmp_path / 'copy.duckdb'}' as copy (storage_version 'v1.1.0')")
    con.execute("create schema copy.marts")
    con.execute("create table copy.marts.person as select 1 as \"n people\", 'x' as sex")
    return con


def test_every_comment_lands_quotes_and_all(tmp_path):
    con = _attached(tmp_path)
    documentation.comment(con, "copy.marts.person", documentation.TableDoc(
        "One row per person's record", {"n people": "How many 'people'", "sex": "Sex; as recorded"}))
    assert con.execute("select comment from duckdb_tables() where database_name = 'copy'").fetchall() == [
        ("One row per person's record",)]
    assert con.execute("select column_name, comment from duckdb_columns() where database_name = 'copy' "
                       "order by column_index").fetchall() == [("n people", "How many 'people'"),
                                                              ("sex", "Sex; as recorded")]


def test_a_failing_comment_leaves_none_and_the_connection_usable(tmp_path):
    con = _attached(tmp_path)
    with pytest.raises(duckdb.Error, match="no_such_column"):
        documentation.comment(con, "copy.marts.person", documentation.TableDoc(
            "described", {"sex": "Sex", "no_such_column": "nothing"}))
    assert con.execute("select comment from duckdb_tables() where database_name = 'copy'").fetchall() in (
        [(None,)], [("",)])
    assert con.execute("select count(*) from duckdb_columns() where database_name = 'copy' "
                       "and coalesce(comment, '') <> ''").fetchone()[0] == 0
    con.execute("create table copy.marts.after as select 1 as x")   # no transaction left open
