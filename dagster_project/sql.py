"""SQL text helpers: the one home for quoting names and values into DuckDB SQL.

Contract column names hold spaces, colons and quotes ("LA Code", "Client ID: Local"),
and file names and seed values may hold quotes, so every identifier and literal that
Python writes into SQL goes through these functions.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def quote_ident(name: str) -> str:
    """A SQL identifier: double-quoted, inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal: single-quoted, inner single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def qualified(*parts: str) -> str:
    """A qualified name, each part quoted: qualified('marts', 'person') -> "marts"."person"."""
    return ".".join(quote_ident(p) for p in parts)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether schema.table exists (in any database the connection has attached). fetchall: a
    fetchone would leave the result open, and DuckDB then refuses the connection's next query."""
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, table]).fetchall()[0][0])
