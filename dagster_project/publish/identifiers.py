"""Find identifiers in a published database before anyone can read it.

Three defences. By name: columns that hold identifiers in the warehouse are
dropped from what is published. By value: every column of every published table
is compared with the NHS numbers, names, dates of birth, postcodes and source
person ids that sit in the current raw records and in linkage.source_person. By
token: every text value is cut into words, digit runs, dates and postcode shapes,
and each piece is compared with the same identifiers, so an identifier inside
free text is caught too ("SMITH_ALICE_12031940", "ref Alice Smith LS1 4AB"),
not only a cell that is exactly one. Words of the data dictionary (code labels,
metric definitions, table descriptions: text we wrote) are never a hit, so a
person called "Max" does not block "Short Term Support: ST-Max". A hit stops
publication; the message names the table, column, kind and count (never the value).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from dagster_project import contract
from dagster_project.dbt_macros import render_macro
from dagster_project.sql import quote_ident

# Column names that are identifiers wherever they appear (compared lower-cased).
IDENTIFIER_COLUMNS = frozenset({
    "nhs_number", "newnhsno", "nhsnumber", "nhs number", "first_name", "last_name", "first name",
    "last name", "name", "full_name", "date_of_birth", "dob", "personbirthdate", "date of birth",
    "postcode", "homeadd", "postcode_history", "source_person_id", "person_id", "lopatid",
    "localpatientid", "la person unique identifier",
})

# A date column that equals the same person's date of birth on more than this share
# of its rows is a date of birth under another name. (A handful of matches happen
# in real data: an event recorded on a birthday, a DOB keyed as the event date.)
DOB_COLUMN_SHARE = 0.01


@dataclass(frozen=True)
class Finding:
    table: str
    column: str
    kind: str
    n_rows: int

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.n_rows} row(s) hold a {self.kind}"


def identifier_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if c.lower() in IDENTIFIER_COLUMNS]


# The relation of linkage.source_person's identity columns (the fourth identity source).
SOURCE_PERSON = "source_person"
_SOURCE_PERSON_COLUMNS = ("nhs_number", "first_name", "last_name", "date_of_birth", "postcode", "source_person_id")


def identity_sources_sql() -> dict[str, str]:
    """{identity source: SQL of its identity columns, one row per record}: each current raw source table
    (contract.SOURCE_PERSON_ID) and linkage.source_person, the only inputs of the identifier tables.

    Read distinct: a person's identity repeats on every record of theirs (episodes, contacts),
    and every identifier part (value_parts, token_parts) is a row-by-row expression of one
    source row, so one row per identity gives the same values from a fraction of the rows
    (1M people: both tables 17.9 -> 13.0 s CPU; bench/delivery_night_profile.md). Each source
    is read once for both tables (it would otherwise be read in up to nine places).
    """
    sources = {}
    for table_name, id_columns in contract.SOURCE_PERSON_ID.values():
        table = contract.TABLES_BY_NAME[table_name]
        wanted = [*id_columns, table.nhs_number_column, table.birth_date_column, table.postcode_column,
                  *(c for c in ("First Name", "Last Name") if c in table.column_names)]
        columns = ", ".join(quote_ident(c) for c in dict.fromkeys(wanted))
        sources[table_name] = f"select {columns} from raw_current.{table_name}"
    sources[SOURCE_PERSON] = f"select {', '.join(_SOURCE_PERSON_COLUMNS)} from linkage.source_person"
    return sources


def read_identity_sources(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """{identity source: a temp table of its distinct identity columns} (identity_sources_sql), each read once."""
    sources = {}
    for source, sql in identity_sources_sql().items():
        sources[source] = f"_published_current_{source}"
        con.execute(f"create or replace temp table {sources[source]} as select distinct * from ({sql})")
    return sources


def drop_identity_sources(con: duckdb.DuckDBPyConnection, sources: dict[str, str]) -> None:
    for temp_table in sources.values():
        con.execute(f"drop table if exists {temp_table}")


def _with_own_sources(con: duckdb.DuckDBPyConnection, build: Callable[..., str], name: str) -> str:
    """build(con, name, sources) from its own reading of the identity sources, dropped after."""
    sources = read_identity_sources(con)
    try:
        return build(con, name, sources)
    finally:
        drop_identity_sources(con, sources)


def build_identifier_tables(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(build_identifier_table, build_identifier_tokens), built whole from one reading of the sources."""
    sources = read_identity_sources(con)
    try:
        return build_identifier_table(con, sources=sources), build_identifier_tokens(con, sources=sources)
    finally:
        drop_identity_sources(con, sources)


# Which rows of the parts are identifier values / tokens (row by row, so a kept table's
# counts may add and remove rows: publish/kept_identifiers.py).
VALUE_KEPT = "value is not null and length(trim(value)) > 1"
TOKEN_KEPT = "token is not null and (kind <> 'NHS number' or length(token) = 10) and length(token) > 1"


def value_parts(sources: dict[str, str]) -> str:
    """SQL of rows (value, kind), one per identifier value each source row carries (a multiset:
    the same value may come from many rows). sources: {identity source: relation with its
    columns} (identity_sources_sql), e.g. every current identity or only the changed ones."""
    parts: list[str] = []
    for dataset, (table_name, _) in contract.SOURCE_PERSON_ID.items():
        table = contract.TABLES_BY_NAME[table_name]
        src = sources[table_name]
        parts.append(f"select {contract.source_person_id_sql(dataset)}, 'source person id' from {src}")
        nhs = render_macro("clean_nhs_number", quote_ident(table.nhs_number_column))
        # Only 10-digit numbers: shorter garbage ("123") would collide with any count.
        parts.append(f"select {nhs}, 'NHS number' from {src} where length({nhs}) = 10")
        parts.append(f"select trim({quote_ident(table.nhs_number_column)}), 'NHS number' from {src}"
                     f" where length({nhs}) = 10")
        parts.append(f"select trim({quote_ident(table.birth_date_column)}), 'date of birth' from {src}")
        parts.append(f"select trim({quote_ident(table.postcode_column)}), 'postcode' from {src}")
        postcode = quote_ident(table.postcode_column)
        parts.append(f"select {render_macro('normalise_postcode', postcode)}, 'postcode' from {src}")
        for name_column in ("First Name", "Last Name"):
            if name_column in table.column_names:
                parts.append(f"select trim({quote_ident(name_column)}), 'name' from {src}")
    person = sources[SOURCE_PERSON]
    parts += [
        f"select nhs_number, 'NHS number' from {person} where length(nhs_number) = 10",
        f"select first_name, 'name' from {person}",
        f"select last_name, 'name' from {person}",
        f"select strftime(date_of_birth, '%Y-%m-%d'), 'date of birth' from {person}",
        f"select strftime(date_of_birth, '%d/%m/%Y'), 'date of birth' from {person}",
        f"select postcode, 'postcode' from {person}",
        f"select source_person_id, 'source person id' from {person}",
    ]
    union = "\nunion all\n".join(parts)
    return f"select value, kind from ({union}) t(value, kind) where {VALUE_KEPT}"


def build_identifier_table(con: duckdb.DuckDBPyConnection, name: str = "_published_identifiers",
                           sources: dict[str, str] | None = None) -> str:
    """A temp table (value, kind) of every identifier value the warehouse holds, built whole
    (sources: see build_identifier_tables; read here when not given)."""
    if sources is None:
        return _with_own_sources(con, build_identifier_table, name)
    con.execute(f"create or replace temp table {name} as select distinct value, kind from ({value_parts(sources)})")
    return name


# Pieces of a text value compared with identifier tokens (RE2; \\b keeps a piece from
# starting or ending inside a longer word, so a 64-hex pseudonym never yields one).
_DATE_PIECES = r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b|\b\d{4}-\d{2}-\d{2}\b"
_NHS_PIECES = r"\b\d{3} \d{3} \d{4}\b"
_POSTCODE_PIECES = r"\b[a-z]{1,2}[0-9][a-z0-9]? ?[0-9][a-z]{2}\b"
_WORD_SPLIT = "[^a-z0-9]+"
# Shortest pieces worth comparing: two-letter names exist (Li, Ng); local ids of
# fewer than four characters would collide with codes.
MIN_NAME_TOKEN, MIN_ID_TOKEN = 2, 4
DOB_TEXT_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d%m%Y", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y")
# The data dictionary's text, whose words are never identifiers (see the module docstring).
DICTIONARY_TEXT = {"code_labels": ("code", "label"), "metric_definitions": ("title", "description", "numerator",
                   "denominator", "time_window"), "readme": ("holds",)}
_PSEUDONYM = "^[0-9a-f]{64}$"
# A CQC location ID ("1-" and 8 to 11 digits, CLD's "Provider CQC Location ID") is a care
# location's public registration, not free text: cut into words, its digit run would be
# compared with NHS numbers and match a few by chance (7 of 67,024 provider ids at 1M
# people; at 100k, seed 42, "1-6097144075" against a CSDS patient's number), refusing
# every night. Such an id is not cut only where the contract puts it, in a provider code
# column (outputs.md: journey.provider_code); the same value in any other column, or the
# same digits inside any other text, still are.
_CQC_LOCATION_ID = "^1-[0-9]{8,11}$"
PROVIDER_CODE_COLUMNS = frozenset({"provider_code"})


def _words_sql(expression: str, source: str, min_length: int) -> str:
    """The words of a text column as rows `token` (lower case, at least min_length characters)."""
    return (f"select token from (select unnest(regexp_split_to_array(lower(trim({expression})), "
            f"'{_WORD_SPLIT}')) as token from {source}) w where length(token) >= {min_length}")


def token_parts(sources: dict[str, str]) -> str:
    """SQL of rows (token, kind), one per piece an identifier leaves in free text, per source row
    (a multiset; sources as for value_parts)."""
    parts: list[str] = []
    person = sources[SOURCE_PERSON]
    names = [(person, "first_name"), (person, "last_name")]
    for table_name, id_columns in contract.SOURCE_PERSON_ID.values():
        table = contract.TABLES_BY_NAME[table_name]
        src = sources[table_name]
        names += [(src, quote_ident(c)) for c in ("First Name", "Last Name") if c in table.column_names]
        # the local id (the last part of the source person id); the sender's code is public
        local_ids = _words_sql(quote_ident(id_columns[-1]), src, MIN_ID_TOKEN)
        parts.append(f"select token, 'source person id' from ({local_ids})")
        nhs, postcode = quote_ident(table.nhs_number_column), quote_ident(table.postcode_column)
        parts.append(f"select {render_macro('clean_nhs_number', nhs)}, 'NHS number' from {src}")
        parts.append(f"select lower({render_macro('compact_postcode', postcode)}), 'postcode' from {src}")
    parts += [f"select token, 'name' from ({_words_sql(col, src, MIN_NAME_TOKEN)})" for src, col in names]
    parts.append(f"select nhs_number, 'NHS number' from {person}")
    parts.append(f"select lower({render_macro('compact_postcode', 'postcode')}), 'postcode' from {person}")
    parts += [f"select strftime(date_of_birth, '{f}'), 'date of birth' from {person}" for f in DOB_TEXT_FORMATS]
    union = "\nunion all\n".join(parts)
    return f"select token, kind from ({union}) t(token, kind) where {TOKEN_KEPT}"


def build_identifier_tokens(con: duckdb.DuckDBPyConnection, name: str = "_published_identifier_tokens",
                            sources: dict[str, str] | None = None) -> str:
    """A temp table (token, kind) of the pieces an identifier leaves in free text, built whole,
    and one (`name`_allowed) of the dictionary's words (sources as for build_identifier_table)."""
    if sources is None:
        return _with_own_sources(con, build_identifier_tokens, name)
    con.execute(f"create or replace temp table {name} as select distinct token, kind from ({token_parts(sources)})")
    build_allowed_tokens(con, name)
    return name


def build_allowed_tokens(con: duckdb.DuckDBPyConnection, tokens: str) -> str:
    """The temp table `tokens`_allowed: the data dictionary's words (never a hit in scan_tokens)."""
    dictionary = [_words_sql(quote_ident(c), f"marts.{table}", 1)
                  for table, columns in DICTIONARY_TEXT.items() if _table_exists(con, "marts", table)
                  for c in columns]
    con.execute(f"create or replace temp table {tokens}_allowed as select distinct token from ("
                + ("\nunion all\n".join(dictionary) or "select null::varchar as token where false") + ") t")
    return f"{tokens}_allowed"


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
                            " and table_catalog = current_database()", [schema, table]).fetchall()[0][0])


def _pieces_sql(relation: str, columns: list[str]) -> str:
    """(position, value, piece) for every distinct text value of each column (named by its
    position in `columns`): words, spaced NHS numbers, dates, postcodes."""
    # each column's distinct values (a few hundred codes over millions of rows) before cutting
    distinct = "\n                   union all ".join(
        f"select distinct 'c{i}' as position, value from (select lower(cast({quote_ident(c)} as varchar)) "
        f"as value from {relation}) t where value is not null"
        + (f" and not regexp_full_match(value, '{_CQC_LOCATION_ID}')" if c.lower() in PROVIDER_CODE_COLUMNS else "")
        for i, c in enumerate(columns))
    return f"""
        with v as ({distinct})
        select position, value, unnest(regexp_split_to_array(value, '{_WORD_SPLIT}')) as piece from v
        union all select position, value, replace(unnest(regexp_extract_all(value, '{_NHS_PIECES}')), ' ', '')
                  from v
        union all select position, value, unnest(regexp_extract_all(value, '{_DATE_PIECES}')) from v
        union all select position, value, replace(unnest(regexp_extract_all(value, '{_POSTCODE_PIECES}')), ' ', '')
                  from v"""


def _pseudonym_columns(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[str]:
    """The columns of relation named as keys (person_key, *_id) that hold nothing but 64-hex values."""
    keyed = [c for c in columns if c == "person_key" or c.endswith("_id")]
    if not keyed:
        return []
    others = con.execute("select " + ", ".join(
        f"count(*) filter (where {quote_ident(c)} is not null"
        f" and not regexp_full_match(cast({quote_ident(c)} as varchar), '{_PSEUDONYM}'))"
        for c in keyed) + f" from {relation}").fetchone()
    return [c for c, n in zip(keyed, others, strict=True) if n == 0]


def scan_tokens(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, tokens: str,
                pseudonyms: dict[str, list[str]] | None = None) -> list[Finding]:
    """Every text column of catalog.schema, cut into pieces, checked against the identifier tokens
    (one query per table: each text column's distinct values, each cut once). pseudonyms:
    the pseudonym columns a scan_database of the same copy found (each table's found once)."""
    findings: list[Finding] = []
    columns = con.execute(
        "select table_name, column_name from information_schema.columns where table_catalog = ?"
        " and table_schema = ? and data_type = 'VARCHAR' order by table_name, ordinal_position",
        [catalog, schema]).fetchall()
    by_table: dict[str, list[str]] = {}
    for table, column in columns:
        by_table.setdefault(table, []).append(column)
    for table, table_columns in by_table.items():
        relation = f"{quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(table)}"
        # keyed pseudonyms: a column of nothing but 64-hex values has nothing else to read in it
        if pseudonyms is not None and table in pseudonyms:
            hex_only = set(pseudonyms[table])
        else:
            hex_only = set(_pseudonym_columns(con, relation, table_columns))
        table_columns = [c for c in table_columns if c not in hex_only]
        if not table_columns:
            continue
        for position, kind, n in con.execute(f"""
                select p.position, i.kind, count(distinct p.value) from ({_pieces_sql(relation, table_columns)}) p
                join {tokens} i on p.piece = i.token
                where p.piece not in (select token from {tokens}_allowed)
                group by p.position, i.kind order by p.position, i.kind""").fetchall():
            column = table_columns[int(position[1:])]
            findings.append(Finding(table, column, f"{kind} inside its text (distinct values)", n))
    findings.sort(key=lambda f: (f.table, columns.index((f.table, f.column))))
    return findings


def scan_database(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, identifiers: str,
                  pseudonyms: dict[str, list[str]] | None = None) -> list[Finding]:
    """Every column of every table in catalog.schema, checked against the identifier table.

    One query per table, not per column: each column's distinct values as text, with
    the number of rows holding each (_identifier_hits), joined once with the identifier
    table, so the identifiers' hash table is built once per table and probed once per
    distinct value instead of once per cell.
    pseudonyms, when given, receives each table's pseudonym columns for a scan_tokens of the
    same copy (the check costs as much as the token scan itself at 1M people).
    """
    findings: list[Finding] = []
    columns = con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_catalog = ? and table_schema = ? order by table_name, ordinal_position",
        [catalog, schema]).fetchall()
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in columns:
        by_table.setdefault(table, []).append((column, data_type))
    # a date column of a table with person_key is also judged against the same person's dates of birth
    dated = [(f"{quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(table)}", column)
             for table, table_columns in by_table.items() if "person_key" in {c for c, _ in table_columns}
             for column, data_type in table_columns if data_type == "DATE"]
    dob_table = _person_dob_table(con, dated) if dated else None
    # A cell of a pseudonym column (nothing but 64-hex values) can equal only an identifier
    # that is itself 64-hex: while the identifier table holds none, those columns (a fifth
    # of the analyst copy's cells) need not be compared value by value.
    hex_identifiers = con.execute(
        f"select count(*) from {identifiers} where length(value) = 64 and regexp_full_match(value, '{_PSEUDONYM}')"
    ).fetchone()[0]
    for table, table_columns in by_table.items():
        where = f"{quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(table)}"
        compared = list(table_columns)
        if not hex_identifiers:
            skipped = _pseudonym_columns(con, where, [c for c, _ in table_columns])
            if pseudonyms is not None:
                pseudonyms[table] = skipped
            compared = [(c, t) for c, t in compared if c not in skipped]
        hits = _identifier_hits(con, where, compared, identifiers) if compared else {}
        for column, data_type in table_columns:
            if column.lower() in IDENTIFIER_COLUMNS:
                findings.append(Finding(table, column, "identifier column name", -1))
            # Any column, whatever its type, compared as text: numbers stored as BIGINT
            # or dates stored as VARCHAR are caught the same way.
            for kind, n in hits.get(column, []):
                if kind == "date of birth" and data_type == "DATE":
                    continue  # judged per person below: any event date may equal someone's birthday
                findings.append(Finding(table, column, kind, n))
            if (where, column) in dated:
                findings += _same_person_dob(con, where, table, column, dob_table)
    return findings


# Types whose equal values always print alike (equality is identity): a column of one is
# grouped in its own type and only its distinct values are cast to text. Any other type
# (DOUBLE: -0.0 = 0.0 print differently) is grouped by its text.
_GROUPED_IN_TYPE = frozenset({"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                              "USMALLINT", "UINTEGER", "UBIGINT", "DATE", "VARCHAR"})


def _identifier_hits(con: duckdb.DuckDBPyConnection, where: str, columns: list[tuple[str, str]],
                     identifiers: str) -> dict[str, list[tuple[str, int]]]:
    """{column: [(kind, rows whose value, as text, is an identifier of that kind)]} for one table
    (columns: [(name, type)]).

    Each column's distinct values are compared, with the number of rows holding each: the
    same rows counted as comparing every cell (a cell is an identifier exactly when its
    value, as text, is), but the big probe of the identifier table is made once per
    distinct value. The analyst copy's columns are mostly codes, small counts and
    month-start dates (a few hundred values over millions of rows), and grouping a
    column on a small hash table costs far less than probing the identifiers with every
    cell (1M people: 8.2 -> 0.7 s CPU; bench/delivery_night_profile.md). Values are merged
    only where they are equal in a type whose equal values print alike (_GROUPED_IN_TYPE);
    two groups printing alike both count."""
    grouped = []
    # the cells are named by position: column names may be anything
    for i, (column, data_type) in enumerate(columns):
        c = quote_ident(column)
        if data_type in _GROUPED_IN_TYPE:
            grouped.append(f"select {i} as position, cast(v as varchar) as cell, n from "
                           f"(select {c} as v, count(*) as n from {where} where {c} is not null group by v) g")
        else:
            grouped.append(f"select {i} as position, cell, count(*) as n from (select cast({c} as varchar) "
                           f"as cell from {where}) t where cell is not null group by cell")
    union = "\nunion all\n".join(grouped)
    rows = con.execute(f"""
        select u.position, i.kind, sum(u.n)::bigint from ({union}) u
        join {identifiers} i on u.cell = i.value
        group by u.position, i.kind order by u.position, i.kind""").fetchall()
    hits: dict[str, list[tuple[str, int]]] = {}
    for position, kind, n in rows:
        hits.setdefault(columns[position][0], []).append((kind, n))
    return hits


def _person_dob_table(con: duckdb.DuckDBPyConnection, date_columns: list[tuple[str, str]],
                      name: str = "_published_person_dob") -> str:
    """A temp table (person_key, date_of_birth) of every person's recorded dates of birth that
    some cell of date_columns ([(relation, column)], the columns _same_person_dob judges)
    holds, built once per scan. A date no cell holds can match no row: leaving it out
    changes no count, and the join each column makes is then built on a few thousand rows
    (the analyst copy's dates are the first of a month) instead of a million people's."""
    dates = "\n        union ".join(f"select {quote_ident(c)} as d from {where}" for where, c in date_columns)
    con.execute(f"""
        create or replace temp table {name} as
        select distinct p.person_key, sp.date_of_birth from linkage.person p
        join linkage.record_person rp using (person_id)
        join linkage.source_person sp using (source_dataset, source_person_id)
        where sp.date_of_birth in (select d from ({dates}) held where d is not null)""")
    return name


def _same_person_dob(con: duckdb.DuckDBPyConnection, where: str, table: str, column: str,
                     dob_table: str) -> list[Finding]:
    matched, total = con.execute(f"""
        select count(*) filter (where exists (select 1 from {dob_table} d where d.person_key = t.person_key
                                              and d.date_of_birth = t.{quote_ident(column)})),
               count(t.{quote_ident(column)})
        from {where} t""").fetchone()
    if total and matched / total > DOB_COLUMN_SHARE:
        return [Finding(table, column, f"date of birth of the same person ({matched} of {total} rows)", matched)]
    return []
