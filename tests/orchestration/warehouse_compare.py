"""Comparing two warehouses up to id stability (test helpers, no tests here).

A warehouse built night by night keeps each person's first id; a full rebuild of the
same landing mints ids afresh. Two warehouses are "the same up to id stability" when
linkage puts the same identities together and every table is equal once each person
id and key is replaced by the person's smallest identity.
"""
from __future__ import annotations

from pathlib import Path

import duckdb


def canonical_tables(database: Path) -> dict[str, str]:
    """Every intermediate and mart table, person ids and keys replaced by the person's
    smallest identity, rows as text, sorted, joined."""
    con = duckdb.connect(str(database))  # (dbt in process may hold it: same configuration)
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


def people(database: Path) -> set[frozenset[str]]:
    con = duckdb.connect(str(database))  # (dbt in process may hold it: same configuration)
    try:
        groups = con.execute("select list(source_dataset || ':' || source_person_id) "
                             "from linkage.record_person group by person_id").fetchall()
    finally:
        con.close()
    return {frozenset(g) for (g,) in groups}
