"""The identifier scans read a whole table in one query; each finding must still name its own column."""
from __future__ import annotations

import duckdb

from dagster_project.publish import identifiers


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    # twelve columns, so positions c10/c11 sort before c2 as text: the mapping back must not care
    columns = ", ".join(f"'plain {i}' as \"col {i}\"" for i in range(10))
    note = '"odd ""note"'  # a column name with a double quote in it
    con.execute(f"create table marts.wide as select {columns}, 9434765919::BIGINT as \"count: n\", "
                f"'seen at LS1 4AP today' as {note} union all select {columns}, 1, 'nothing'")
    con.execute("create table marts.keyed as select repeat('a', 64) as person_key, 'Alice' as label")
    con.execute("create temp table ids (value varchar, kind varchar)")
    con.execute("insert into ids values ('9434765919', 'NHS number'), ('Alice', 'name')")
    con.execute("create temp table toks (token varchar, kind varchar)")
    con.execute("insert into toks values ('ls14ap', 'postcode'), ('alice', 'name'), ('plain', 'name')")
    con.execute("create temp table toks_allowed as select 'plain' as token")
    return con


def test_value_findings_name_the_column_that_holds_the_value():
    con = _connection()
    found = identifiers.scan_database(con, "memory", "marts", "ids")
    assert [(f.table, f.column, f.kind, f.n_rows) for f in found] == [
        ("keyed", "label", "name", 1),
        ("wide", "count: n", "NHS number", 1),
    ]


def test_token_findings_name_the_column_and_skip_only_pseudonym_columns():
    con = _connection()
    found = identifiers.scan_tokens(con, "memory", "marts", "toks")
    assert [(f.table, f.column, f.kind, f.n_rows) for f in found] == [
        ("keyed", "label", "name inside its text (distinct values)", 1),
        ("wide", 'odd "note', "postcode inside its text (distinct values)", 1),
    ]


def test_a_cqc_location_id_is_a_code_not_an_nhs_number_in_text():
    """A provider id whose digits happen to equal someone's NHS number is not a leak (at 1M
    people 7 chance matches refused a night; at 100k, seed 42, one); the same digits in other
    text still are, and so is the id's very shape outside a provider code column."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.journey as select * from (values ('1-9434765919', 'seen 9434765919', 'x'),"
                " ('1-1234567890', 'nothing', '1-9434765919')) t(provider_code, note, service_type)")
    con.execute("create temp table toks as select '9434765919' as token, 'NHS number' as kind")
    con.execute("create temp table toks_allowed as select 'plain' as token")
    found = identifiers.scan_tokens(con, "memory", "marts", "toks")
    assert [(f.table, f.column, f.kind, f.n_rows) for f in found] == [
        ("journey", "note", "NHS number inside its text (distinct values)", 1),
        ("journey", "service_type", "NHS number inside its text (distinct values)", 1),
    ]


def test_pseudonym_columns_are_compared_whenever_an_identifier_could_equal_a_pseudonym():
    """The value scan leaves out columns of nothing but 64-hex pseudonyms only while no
    identifier is itself 64-hex; a key column holding anything else is always compared."""
    con = duckdb.connect()
    con.execute("create schema marts")
    hexed, other = "ab" * 32, "cd" * 32
    con.execute(f"create table marts.journey as select * from (values ('{hexed}', '{other}', 'x'),"
                f" ('{other}', 'SMITH01', 'y')) t(person_key, spell_id, service)")
    con.execute("create temp table ids (value varchar, kind varchar)")
    con.execute("insert into ids values ('SMITH01', 'source person id')")
    found = identifiers.scan_database(con, "memory", "marts", "ids")
    assert [(f.table, f.column, f.kind, f.n_rows) for f in found] == [
        ("journey", "spell_id", "source person id", 1)]     # not all hex: compared
    con.execute(f"insert into ids values ('{hexed}', 'source person id')")
    found = identifiers.scan_database(con, "memory", "marts", "ids")
    assert [(f.table, f.column, f.kind, f.n_rows) for f in found] == [
        ("journey", "person_key", "source person id", 1),   # a 64-hex identifier: compared
        ("journey", "spell_id", "source person id", 1)]


def test_findings_count_every_row_and_every_distinct_text_whatever_the_column_type():
    """The value scan compares each column's distinct values and the token scan each distinct
    text: a value repeated on many rows still counts every row (tokens: once per distinct
    text), in columns of any type compared as text, nulls never."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.events as select * from (values
        (9434765919::bigint, date '1940-03-12', 'Alice', 'ref alice', 0.0::double),
        (9434765919, date '1940-03-12', 'Alice', 'ref alice', 0.0),
        (9434765919, null, 'Bob', 'Ref Alice', '-0.0'::double),
        (1, date '2020-01-01', null, null, null)) t(n, d, label, note, x)""")
    con.execute("create temp table ids (value varchar, kind varchar)")
    con.execute("insert into ids values ('9434765919', 'NHS number'), ('1940-03-12', 'postcode'), ('Alice', 'name'),"
                " ('-0.0', 'source person id')")   # -0.0 equals 0.0 as a DOUBLE but prints apart
    found = identifiers.scan_database(con, "memory", "marts", "ids")
    assert [(f.column, f.kind, f.n_rows) for f in found] == [
        ("n", "NHS number", 3), ("d", "postcode", 2), ("label", "name", 2), ("x", "source person id", 1)]
    con.execute("create temp table toks as select 'alice' as token, 'name' as kind")
    con.execute("create temp table toks_allowed as select 'plain' as token")
    found = identifiers.scan_tokens(con, "memory", "marts", "toks")
    assert [(f.column, f.kind, f.n_rows) for f in found] == [
        ("label", "name inside its text (distinct values)", 1),
        ("note", "name inside its text (distinct values)", 1)]   # 'ref alice' and 'Ref Alice' cut alike
