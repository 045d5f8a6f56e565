"""Publish builds both identifier tables from one reading of raw_current: the same values as
building each alone, and nothing left behind."""
from __future__ import annotations

from dagster_project.publish import identifiers


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def test_one_reading_gives_what_each_builder_gives_alone(con):
    values, tokens = identifiers.build_identifier_tables(con)
    together = {"values": _rows(con, values), "tokens": _rows(con, tokens), "allowed": _rows(con, tokens + "_allowed")}
    alone_values = identifiers.build_identifier_table(con, "_alone_identifiers")
    alone_tokens = identifiers.build_identifier_tokens(con, "_alone_tokens")
    assert together == {"values": _rows(con, alone_values), "tokens": _rows(con, alone_tokens),
                        "allowed": _rows(con, alone_tokens + "_allowed")}
    assert together["values"] and together["tokens"]
    left = con.execute("select table_name from duckdb_tables() where temporary "
                       "and table_name like '_published_current_%'").fetchall()
    assert left == []
