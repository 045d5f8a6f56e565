"""Reading a landed CSV in DuckDB: physical lines -> records -> fields, all set-based.

Two readers give identical records. A plain file (see read_plain: no quote, no
blank line) goes through DuckDB's parallel CSV reader, the fast path. For any
other file DuckDB's CSV parser cannot say on which physical line a record starts
(records with quoted newlines span lines, blank lines are skipped silently), and
the contract wants every raw row and every reject traced to its line. So such a
file is read once as physical
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
import re
from dataclasses import dataclass

import duckdb

from dagster_project.ingest.schema import quote_literal

LINES = "_ingest_lines"
SPANS = "_ingest_spans"
RECORDS = "_ingest_records"
COLUMNS = "_ingest_columns"  # the fast path: DuckDB's CSV reader, one column per field

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


@dataclass(frozen=True)
class Records:
    """Where the row rules read a file's records from.

    sql: SELECT line_number, raw_text, n_fields, well_quoted and the fields;
    field_template: the SQL of field i (1-based) of a row of `sql`.
    """

    sql: str
    field_template: str
    reader: str  # "csv" (DuckDB's CSV reader, the fast path) or "lines" (the line parser)

    def field(self, position: int) -> str:
        return self.field_template.format(position)


def line_records() -> Records:
    """The line parser's records (after read_lines and build_records)."""
    return Records(f"select line_number, raw_text, len(fields) as n_fields, well_quoted, fields "
                   f"from ({fields_sql()})", "fields[{}]", "lines")


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
        raise FileRejected(_describe_read_error(str(exc))) from exc
    return con.execute(f"select count(*) from {LINES}").fetchone()[0]


def _describe_read_error(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    if "unicode" in message.lower() or "utf-8" in message.lower():
        line = re.search(r"CSV Error on Line: (\d+)", message)
        where = f" (first bad bytes on line {line.group(1)})" if line else ""
        return f"not UTF-8 text{where}: re-export the file as UTF-8"
    if "gzip" in message.lower() or "zlib" in message.lower() or "inflate" in message.lower():
        return f"not a readable gzip file ({first}): send it again, uncorrupted"
    return f"cannot be read as CSV ({first})"


# ---- the fast path: DuckDB's parallel CSV reader for files of a plain shape ----------
#
# A file is "plain" when its bytes alone prove that DuckDB's CSV reader (no quoting)
# and the line parser must see the same records on the same lines: no double quote
# (so no field is quoted and no record spans lines), no blank line (the CSV reader
# skips them silently, which would shift every later line number), no control
# character but tab, and one line ending throughout. Anything else, and anything the
# reader itself refuses (its rejects table is not empty, a bad byte, a record count
# that is not one per line), goes to the line parser, whose messages are the contract's.
_NOT_PLAIN = re.compile(rb'["\x00-\x08\x0b\x0c\x0e-\x1f]|\n\r?\n')
_CHUNK = 1 << 24
CSV_REJECTS, CSV_SCANS = "_ingest_csv_rejects", "_ingest_csv_scans"
CSV_BAD, CSV_SHIFTS = "_ingest_csv_bad_lines", "_ingest_csv_shifts"


def _plain_header_and_lines(path: str) -> tuple[str, int] | None:
    """The header line and the number of records of a plain file; None when not plain.

    One pass over the bytes in chunks; each chunk is searched with the previous
    chunk's last two bytes in front, so a pattern across the boundary is seen."""
    if path.endswith(".gz"):
        return None
    newlines = carriage_returns = crlf = 0
    tail = first = last = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if not first:
                first = chunk[: chunk.find(b"\n")] if b"\n" in chunk else chunk
                if chunk.startswith((b"\n", b"\r\n")):
                    return None  # a blank first line: the line parser says there is no header
            window = tail + chunk
            if _NOT_PLAIN.search(window):
                return None
            newlines += chunk.count(b"\n")
            carriage_returns += chunk.count(b"\r")
            crlf += window.count(b"\r\n") - tail.count(b"\r\n")
            tail, last = window[-2:], chunk[-1:]
    if not first and not last:
        return None  # empty: the line parser says so
    if crlf != carriage_returns or crlf not in (0, newlines):
        return None  # a lone CR, or mixed line endings
    if len(first) >= _CHUNK:
        return None  # a header longer than a chunk: not worth a special case
    try:
        header = first.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return None
    return header, newlines + (0 if last == b"\n" else 1) - 1


def read_plain(con: duckdb.DuckDBPyConnection, path: str) -> tuple[list[str], Records] | None:
    """Read a plain file with DuckDB's CSV reader into temp table COLUMNS (one VARCHAR
    column per header field, in file order); None (nothing kept) when the file is not
    plain or the reader rejects a line for anything but its field count: the caller
    then uses the line parser.

    A plain file has one record per physical line, so a record's line is its position
    + 2 (the header is line 1), shifted past the lines the reader rejected. Those
    (wrong field count, the common messy row) are taken from the line reader: their
    text is the line parser's, and they must be exactly the lines whose comma count
    is wrong, or the file falls back.
    """
    shape = _plain_header_and_lines(path)
    if shape is None:
        return None
    header_line, expected_records = shape
    try:
        header = header_names(header_line)
    except FileRejected:
        return None
    n = len(header)
    columns = ", ".join(f"'_f{i}': 'VARCHAR'" for i in range(1, n + 1))
    source = (
        f"read_csv({quote_literal(path)}, columns={{{columns}}}, header=true, delim=',', quote='', "
        f"escape='', auto_detect=false, strict_mode=true, null_padding=false, compression='none', "
        f"store_rejects=true, rejects_table='{CSV_REJECTS}', rejects_scan='{CSV_SCANS}', "
        "max_line_size=67108864)"
    )
    try:
        con.execute(f"create or replace temp table {COLUMNS} as select * from {source}")
        refused = con.execute(f"""
            select count(distinct line), count(*) filter (
                where error_type not in ('MISSING COLUMNS', 'TOO MANY COLUMNS'))
            from {CSV_REJECTS}""").fetchone()
        records = con.execute(f"select count(*) from {COLUMNS}").fetchone()[0]
        good = refused[1] == 0 and records + refused[0] == expected_records
        if good and refused[0]:
            good = _take_field_count_rejects(con, path, n)
    except (duckdb.Error, FileRejected):
        good = False
    if not good:
        drop_work_tables(con)
        return None
    raw_text = " || ',' || ".join(f"coalesce(\"_f{i}\", '')" for i in range(1, n + 1))
    if refused[0]:
        sql = f"""
            select c.k + 2 + coalesce(o.shift, 0) as line_number, {raw_text} as raw_text, {n} as n_fields,
                   true as well_quoted, c.* exclude (k)
            from (select rowid as k, * from {COLUMNS}) c asof left join {CSV_SHIFTS} o on c.k >= o.first_k
            union all
            select line_number, raw_text, n_fields, true,
                   {', '.join(f'NULL::VARCHAR as "_f{i}"' for i in range(1, n + 1))}
            from {CSV_BAD}"""
    else:
        sql = (f"select rowid + 2 as line_number, {raw_text} as raw_text, {n} as n_fields, "
               f"true as well_quoted, * from {COLUMNS}")
    con.execute(f"create or replace temp view {RECORDS} as select line_number, raw_text from ({sql})")
    return header, Records(sql, '"_f{}"', "csv")


def _take_field_count_rejects(con: duckdb.DuckDBPyConnection, path: str, n_fields: int) -> bool:
    """CSV_BAD: the lines the CSV reader rejected, as the line parser sees them; CSV_SHIFTS:
    from which good record on the line number moves one more line on. False when the
    rejected lines are not exactly the lines of the wrong comma count."""
    read_lines(con, path)
    con.execute(f"""
        create or replace temp table {CSV_BAD} as
        select rowid + 1 as line_number, line as raw_text, len(string_split(line, ',')) as n_fields
        from {LINES}
        where rowid > 0 and length(line) - length(replace(line, ',', '')) <> {n_fields - 1}""")
    mismatched = con.execute(f"""
        select count(*) from (select line_number from {CSV_BAD}
                              union all select distinct line from {CSV_REJECTS})
        group by line_number having count(*) <> 2""").fetchone()
    if mismatched is not None:
        return False
    # The j-th rejected line (1-based) at line L: good records from position L - 2 - (j - 1) on sit j lines lower.
    con.execute(f"""
        create or replace temp table {CSV_SHIFTS} as
        select line_number - 2 - (j - 1) as first_k, max(j) as shift
        from (select line_number, row_number() over (order by line_number) as j from {CSV_BAD})
        group by first_k""")
    return True


def read_header(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The header's column names (blanks trimmed), or FileRejected if there is none."""
    row = con.execute(f"select line from {LINES} where rowid = 0").fetchone()
    return header_names(row[0] if row else None)


def header_names(line: str | None) -> list[str]:
    """The column names of a header line (blanks trimmed), or FileRejected if there is none."""
    if line is None or not line.strip():
        raise FileRejected("file is empty (no header row)")
    text = line.lstrip("\ufeff")
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
    for name in (LINES, SPANS, COLUMNS, CSV_REJECTS, CSV_SCANS, CSV_BAD, CSV_SHIFTS):
        con.execute(f"drop table if exists {name}")
