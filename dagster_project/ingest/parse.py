"""Reading a landed CSV in DuckDB: physical lines -> records -> fields, all set-based.

Why not DuckDB's own CSV parser? It cannot say on which physical line a record
starts (records with quoted newlines span lines), and the contract wants every
raw row and every reject traced to its line. So the file is read once as physical
lines (the CSV reader with one column and no quoting: fast, parallel, handles
BOM, CRLF and gzip), and records and fields are rebuilt in SQL:

* a line with an odd number of double quotes opens (or closes) a quoted field
  that runs over the line break; such spans are found among the few odd lines
  only, and every line is assigned to its span with one ASOF join;
* a record without quotes is split with ``string_split``; one with quotes with a
  regular expression, and is checked to re-assemble to exactly its text, so
  malformed quoting is reported instead of silently mis-split.
"""
from __future__ import annotations

import csv
import gzip
import re
import zlib

import duckdb

from dagster_project.sql import quote_literal

LINES = "_ingest_lines"
SPANS = "_ingest_spans"
RECORDS = "_ingest_records"

# Physical lines are read as one column split on this delimiter: four ASCII
# separator control characters in a row, which text never contains. If a file
# does contain them the line has two columns and the read fails loudly (the file
# is rejected), so a line is never cut silently.
_LINE_DELIMITER = "\x1f\x1e\x1d\x1c"

# A record whose quotes only wrap whole fields (no comma or quote inside them):
# the common "quote everything" export. Dropping its quotes leaves the values.
_SIMPLY_QUOTED = r'(?:"[^",]*"|[^",]*)(?:,(?:"[^",]*"|[^",]*))*'
# One field after a leading comma: a quoted field ("" escapes a quote) or plain text.
_FIELD_PATTERN = r',("(?:[^"]|"")*"|[^,]*)'


class FileRejected(Exception):
    """The whole file cannot be read; the message names the problem (not the file)."""


def read_lines(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """Load the file's physical lines into temp table LINES; line number = rowid + 1.

    CREATE TABLE AS keeps insertion order (DuckDB's preserve_insertion_order), so
    rowid is the line's position in the file. Returns the number of lines.
    """
    source = (
        f"read_csv({quote_literal(path)}, columns={{'line': 'VARCHAR'}}, header=false, "
        f"delim='{_LINE_DELIMITER}', quote='', escape='', auto_detect=false, compression='auto', "
        "max_line_size=67108864)"
    )
    try:
        con.execute(f"create or replace temp table {LINES} as select line from {source}")
    except (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException) as exc:
        if not _MIXED_LINE_ENDS.search(str(exc)):
            raise FileRejected(_describe_read_error(str(exc))) from exc
        _read_lines_in_python(con, path)
    return con.execute(f"select count(*) from {LINES}").fetchone()[0]


# DuckDB's reader settles on one line end per file and refuses a CR where it expects none:
# Excel and Python's csv module end records with CRLF but write a line break inside a
# quoted value as a bare LF, and files joined together mix CRLF and LF lines.
_MIXED_LINE_ENDS = re.compile(r"state machine reached an invalid state", re.IGNORECASE)


def _read_lines_in_python(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """LINES from a file DuckDB's reader refused for its line ends: split on LF, the CRs
    before each LF dropped (a CR elsewhere stays in the value, as delivered). A blank line
    is NULL, as DuckDB's reader makes it. Slower than the reader, so only its fallback."""
    import pyarrow as pa

    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise FileRejected(f"not a readable gzip file ({exc}): send it again, uncorrupted") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileRejected(f"not UTF-8 text (first bad bytes on line {line}): re-export the file as UTF-8") from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the file's last line end, not a line
        lines.pop()
    values = [line.rstrip("\r") or None for line in lines]
    table = pa.table({"line": pa.array(values, pa.string())})
    con.register("_ingest_python_lines", table)
    try:
        con.execute(f"create or replace temp table {LINES} as select line from _ingest_python_lines")
    finally:
        con.unregister("_ingest_python_lines")


def _describe_read_error(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    if "unicode" in message.lower() or "utf-8" in message.lower():
        line = re.search(r"CSV Error on Line: (\d+)", message)
        where = f" (first bad bytes on line {line.group(1)})" if line else ""
        return f"not UTF-8 text{where}: re-export the file as UTF-8"
    if "gzip" in message.lower() or "zlib" in message.lower() or "inflate" in message.lower():
        return f"not a readable gzip file ({first}): send it again, uncorrupted"
    return f"cannot be read as CSV ({first})"


def read_header(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The header's column names (blanks trimmed), or FileRejected if there is none."""
    row = con.execute(f"select line from {LINES} where rowid = 0").fetchone()
    if row is None or row[0] is None or not row[0].strip():
        first = con.execute(f"select min(rowid) + 1 from {LINES} where trim(coalesce(line, '')) <> ''").fetchone()[0]
        if first is not None:
            raise FileRejected(f"the first line is blank (the first text is on line {first}): the header must be "
                               "line 1; remove the blank lines above it")
        raise FileRejected("file is empty (no header row)")
    text = row[0].lstrip("\ufeff")
    names = [name.strip() for name in next(csv.reader([text]))]
    return [name or f"_column_{i + 1}" for i, name in enumerate(names)]


def build_records(con: duckdb.DuckDBPyConnection) -> None:
    """Temp view RECORDS(line_number, raw_text) over LINES: one row per CSV record.

    Blank lines outside quotes are not records (they carry no data). A quote left
    open at the end of the file makes one record of the rest of the file, which
    then fails the field count with its raw text kept.
    """
    con.execute(f"""
        create or replace temp table {SPANS} as
        with odd as (
            select rowid + 1 as line_number, row_number() over (order by rowid) as k
            from {LINES}
            where rowid > 0 and (length(line) - length(replace(line, '"', ''))) % 2 = 1
        )
        select o.line_number as open_line,
               coalesce(c.line_number, (select count(*) from {LINES})) as close_line
        from odd o left join odd c on c.k = o.k + 1
        where o.k % 2 = 1
    """)
    has_spans = con.execute(f"select count(*) from {SPANS}").fetchone()[0] > 0
    body_lines = f"(select rowid + 1 as line_number, line from {LINES} where rowid > 0)"
    if has_spans:
        records = f"""
            with tagged as (
                select l.line_number, l.line,
                       case when l.line_number <= s.close_line then s.open_line end as span_start
                from {body_lines} l asof left join {SPANS} s on l.line_number >= s.open_line
            )
            select line_number, line as raw_text from tagged
            where span_start is null and line is not null
            union all
            select span_start, string_agg(coalesce(line, ''), chr(10) order by line_number)
            from tagged where span_start is not null group by span_start
        """
    else:
        records = f"select line_number, line as raw_text from {body_lines} where line is not null"
    con.execute(f"create or replace temp view {RECORDS} as {records}")


def fields_sql() -> str:
    """SELECT line_number, raw_text, fields, well_quoted FROM RECORDS.

    Three branches of a UNION ALL (not a CASE, so no row pays for another's
    expression): records without a double quote are split as they are; records
    whose quotes only wrap whole fields are split after dropping the quotes; only
    the rest (quoted commas, escaped quotes, newlines) go through the slower
    field-by-field regular expression.
    """
    split = f"regexp_extract_all(',' || raw_text, '{_FIELD_PATTERN}', 1)"
    return f"""
        select line_number, raw_text, string_split(raw_text, ',') as fields, true as well_quoted
        from {RECORDS} where not contains(raw_text, '"')
        union all
        select line_number, raw_text, string_split(replace(raw_text, '"', ''), ',') as fields, true
        from {RECORDS} where contains(raw_text, '"') and regexp_full_match(raw_text, '{_SIMPLY_QUOTED}')
        union all
        select line_number, raw_text,
               list_transform({split}, lambda f: case
                   when length(f) >= 2 and starts_with(f, '"') and ends_with(f, '"')
                   then replace(f[2:-2], '""', '"') else f end) as fields,
               array_to_string({split}, ',') = raw_text
               -- a line break outside quotes means a stray quote joined two lines
               and not list_bool_or(list_transform({split}, lambda f: not starts_with(f, '"')
                                                                     and contains(f, chr(10))))
               as well_quoted
        from {RECORDS} where contains(raw_text, '"') and not regexp_full_match(raw_text, '{_SIMPLY_QUOTED}')
    """


def count_records(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"select count(*) from {RECORDS}").fetchone()[0]


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop view if exists {RECORDS}")
    for name in (LINES, SPANS):
        con.execute(f"drop table if exists {name}")
