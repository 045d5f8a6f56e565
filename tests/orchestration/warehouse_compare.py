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


def _create_canon(con: duckdb.DuckDBPyConnection) -> None:
    """temp table canon: each person's id and key with the person's smallest identity."""
    con.execute("""create temp table canon as
        select p.person_id, p.person_key, min(r.source_dataset || ':' || r.source_person_id) as canon
        from linkage.person p join linkage.record_person r using (person_id) group by all""")


def _canonical_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Each intermediate and mart table, and a query of one column `line`: the table's rows as
    text, person ids and keys replaced by the person's smallest identity (needs _create_canon)."""
    tables = con.execute("""select table_schema, table_name from information_schema.tables
                            where table_schema in ('intermediate', 'marts') and table_type = 'BASE TABLE'
                            order by all""").fetchall()
    out = []
    for schema, name in tables:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema, name]).fetchall()]
        parts, joins = [], []
        for i, column in enumerate(columns):
            if column == "person_id":
                joins.append(f"left join canon c{i} on c{i}.person_id = t.person_id")
                parts.append(f"c{i}.canon")
            elif column == "person_key":
                joins.append(f"left join canon c{i} on c{i}.person_key = t.person_key")
                parts.append(f"c{i}.canon")
            elif column == "delivery_date" and "table_name" in columns:   # data_quality
                parts.append(clock_free_delivery_date())
            elif column.endswith("event_id"):   # journey: death|<person_key>
                joins.append(f"left join canon c{i} on t.{column} like 'death|%' "
                             f"and c{i}.person_key = split_part(t.{column}, '|', 2)")
                parts.append(f"case when t.{column} like 'death|%' then 'death|' || c{i}.canon else t.{column} end")
            else:
                parts.append(f't."{column}"')
        line = "concat_ws(chr(31), " + ", ".join(f"coalesce(({p})::varchar, '<null>')" for p in parts) + ")"
        out.append((f"{schema}.{name}", f"select {line} as line from {schema}.{name} t {' '.join(joins)}"))
    return out


def canonical_tables(database: Path) -> dict[str, str]:
    """Every intermediate and mart table, person ids and keys replaced by the person's
    smallest identity, rows as text, sorted, joined."""
    con = connect(database)
    try:
        _create_canon(con)
        return {name: con.execute(f"select coalesce(string_agg(line, chr(10) order by line), '') from ({query})")
                .fetchone()[0] for name, query in _canonical_tables(con)}
    finally:
        con.close()


def table_checksums(database: Path) -> dict[str, tuple[int, int]]:
    """canonical_tables and staging_rows for warehouses too large to hold as text: each table's
    rows and the sum of its rows' 64-bit hashes (order-free; two tables that differ in any row
    differ here but for a hash collision), with linkage's groups of identities as one more entry.
    For a benchmark's million people; the tests compare canonical_tables, which names the rows."""
    con = connect(database)
    try:
        _create_canon(con)
        out = {name: con.execute(f"select count(*), coalesce(sum(hash(line)::hugeint), 0) from ({query})").fetchone()
               for name, query in _canonical_tables(con)}
        out |= {name: con.execute(f"select count(*), coalesce(sum(hash(r::varchar)::hugeint), 0) from ({query}) r")
                .fetchone() for name, query in _staging_tables(con)}
        out["linkage.record_person (identities put together)"] = con.execute("""
            select count(*), coalesce(sum(hash(identities)::hugeint), 0) from (
                select list(source_dataset || ':' || source_person_id order by source_dataset, source_person_id)
                       as identities
                from linkage.record_person group by person_id)""").fetchone()
        return out
    finally:
        con.close()


def _staging_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Each staging table of an event source and a query of its rows, load ids left out (a
    warehouse loaded night by night numbers its loads otherwise than one that loaded all at once)."""
    names = [n for (n,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'staging' "
        "and table_type = 'BASE TABLE' and table_name not like 'stg_reference%' order by 1").fetchall()]
    return [(f"staging.{n}", f"select * exclude (_load_id) from staging.{n}") for n in names]


def staging_rows(database: Path) -> dict[str, list[tuple]]:
    """Every staging table of an event source, rows sorted, load ids left out."""
    con = connect(database)
    try:
        return {name.removeprefix("staging."): con.execute(f"{query} order by all").fetchall()
                for name, query in _staging_tables(con)}
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


def analyst_checksums(version: Path) -> dict[str, tuple[int, int]]:
    """analyst_copy's rows for copies too large to hold in Python: for each table of the copy's
    database and for its Parquet file, the rows and the sum of the rows' hashes (order-free)."""
    from dagster_project.publish.core import ANALYST_TABLES

    db = duckdb.connect(str(version / "carejourney.duckdb"), read_only=True)
    try:
        out = {}
        for table in ANALYST_TABLES:
            out[f"{table} (database)"] = db.execute(
                f"select count(*), coalesce(sum(hash(t::varchar)::hugeint), 0) from marts.{table} t").fetchone()
            out[f"{table} (Parquet)"] = db.execute(
                "select count(*), coalesce(sum(hash(t::varchar)::hugeint), 0) from read_parquet(?) t",
                [str(version / f"{table}.parquet")]).fetchone()
        return out
    finally:
        db.close()

