"""Comparing two warehouses up to id stability (test helpers, no tests here).

A warehouse built night by night keeps each person's first id; a full rebuild of the
same landing mints ids afresh. Two warehouses are "the same up to id stability" when
linkage puts the same identities together and every table is equal once each person
id and key is replaced by the person's smallest identity.

One value is the clock's, not the data's: a reference file carries no date, so its
delivery date is the day it was loaded (ingest/loader.py). Two warehouses loaded either
side of midnight (UTC) differ there and nowhere else, so the comparison reads it as
"the load date" (`LOAD_DATE`).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project import contract, duckdb_connection
from dagster_project.settings import Settings

# What a reference file's delivery date reads as (above), and the tables of such files.
LOAD_DATE = "<the day the reference file was loaded>"
UNDATED_TABLES = ", ".join(f"'{t.name}'" for t in contract.TABLES if t.snapshot)


def clock_free_delivery_date() -> str:
    """A table's delivery_date (with its table_name beside it) as text, LOAD_DATE for undated files."""
    return f"case when table_name in ({UNDATED_TABLES}) then '{LOAD_DATE}' else delivery_date::varchar end"


def connect(database: Path) -> duckdb.DuckDBPyConnection:
    """A connection configured as the run's (dbt in process may hold the database open: DuckDB
    refuses a second connection with another configuration)."""
    return duckdb_connection.connect(Settings.from_env(warehouse_dir=database.parent, require_key=False), database)


def canonical_tables(database: Path) -> dict[str, str]:
    """Every intermediate and mart table, person ids and keys replaced by the person's
    smallest identity, rows as text, sorted, joined."""
    con = connect(database)
    try:
        con.execute("""create temp table canon as
            select p.person_id, p.person_key, min(r.source_dataset || ':' || r.source_person_id) as canon
            from linkage.person p join linkage.record_person r using (person_id) group by all""")
        tables = con.execute("""select table_schema, table_name from information_schema.tables
                                where table_schema in ('intermediate', 'marts') and table_type = 'BASE TABLE'
                                order by all""").fetchall()
        out = {}
        for schema, name in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, name]).fetchall()]
            parts = []
            for column in columns:
                if column == "person_id":
                    parts.append("(select canon from canon where canon.person_id = t.person_id)")
                elif column == "person_key":
                    parts.append("(select canon from canon where canon.person_key = t.person_key)")
                elif column == "delivery_date" and "table_name" in columns:   # data_quality
                    parts.append(clock_free_delivery_date())
                elif column.endswith("event_id"):   # journey: death|<person_key>
                    parts.append(f"""case when {column} like 'death|%' then 'death|' || (select canon from canon
                                     where canon.person_key = split_part({column}, '|', 2)) else {column} end""")
                else:
                    parts.append(f'"{column}"')
            rows = con.execute(f"""select coalesce(string_agg(line, chr(10) order by line), '') from (
                select concat_ws(chr(31), {', '.join(f"coalesce(({p})::varchar, '<null>')" for p in parts)}) as line
                from {schema}.{name} t)""").fetchone()[0]
            out[f"{schema}.{name}"] = rows
        return out
    finally:
        con.close()


def staging_rows(database: Path) -> dict[str, list[tuple]]:
    """Every staging table of an event source, rows sorted, load ids left out (a warehouse
    loaded night by night numbers its loads otherwise than one that loaded all at once)."""
    con = connect(database)
    try:
        names = [n for (n,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'staging' "
            "and table_type = 'BASE TABLE' and table_name not like 'stg_reference%' order by 1").fetchall()]
        return {n: con.execute(f"select * exclude (_load_id) from staging.{n} order by all").fetchall() for n in names}
    finally:
        con.close()


def people(database: Path) -> set[frozenset[str]]:
    con = connect(database)
    try:
        groups = con.execute("select list(source_dataset || ':' || source_person_id) "
                             "from linkage.record_person group by person_id").fetchall()
    finally:
        con.close()
    return {frozenset(g) for (g,) in groups}


def linkage_scores(database: Path) -> tuple[list[tuple], list[tuple]]:
    """record_person's match probability and rule per identity (person ids left out), and
    linkage's pair cache (pair_cache.py) with identity numbers replaced by the identities:
    an incremental warehouse must hold the very values a full rebuild computes."""
    con = connect(database)
    try:
        scores = con.execute("select source_dataset, source_person_id, match_probability, match_rule "
                             "from linkage.record_person order by all").fetchall()
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'linkage' "
            "and table_name = 'pair_comparison' and column_name not in ('identity_l', 'identity_r') "
            "order by ordinal_position").fetchall()]
        pairs = con.execute(f"""
            select a.source_dataset || ':' || a.source_person_id, b.source_dataset || ':' || b.source_person_id,
                   {', '.join(f'p."{c}"' for c in columns)}
            from linkage.pair_comparison p
            join linkage.pair_identity a on a.identity_id = p.identity_l
            join linkage.pair_identity b on b.identity_id = p.identity_r
            order by all""").fetchall()
    finally:
        con.close()
    return scores, pairs


def analyst_copy(version: Path) -> dict[str, tuple]:
    """Each table of an analyst copy's version folder: rows sorted, columns with types and comments,
    the table comment, Parquet rows sorted and the Parquet schema with its descriptions."""
    import pyarrow.parquet as pq

    from dagster_project.publish.core import ANALYST_TABLES

    db = duckdb.connect(str(version / "carejourney.duckdb"), read_only=True)
    out = {}
    for table in ANALYST_TABLES:
        rows = sorted(db.execute(f"select * from marts.{table}").fetchall(), key=repr)
        columns = db.execute("select column_name, data_type, comment from duckdb_columns() "
                             "where table_name = ? order by column_index", [table]).fetchall()
        comment = db.execute("select comment from duckdb_tables() where table_name = ?", [table]).fetchone()
        parquet = pq.read_table(version / f"{table}.parquet")
        out[table] = (rows, columns, comment, sorted(map(repr, parquet.to_pylist())), parquet.schema)
    db.close()
    return out
