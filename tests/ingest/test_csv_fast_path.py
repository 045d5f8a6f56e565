"""DuckDB's CSV reader (the fast path) and the line parser (the fallback) load a file identically.

Each file is loaded twice into fresh warehouses: as ingest chooses, and with the fast
path switched off. Raw rows, rejects (line, column, reason, raw text), ledger counts and
flags must be the same; the reader each file took is asserted too, so a clean file
that silently fell back (no speed) or a messy one that took the fast path (risk) fails.
"""
from __future__ import annotations

import datetime as dt

import duckdb
from landing import HES_ROW, csv_text, rows, write, write_postcodes

from dagster_project.ingest import parse
from dagster_project.ingest.run import ingest_landing
from dagster_project.settings import Settings


def _hes(*changes: dict[str, str], newline: str = "\n") -> str:
    return csv_text(rows(HES_ROW, *changes), newline=newline)


def _five(newline: str = "\n") -> list[str]:
    return _hes(*({"EPIKEY": f"E{i}"} for i in range(1, 6)), newline=newline).split(newline)


def _clean() -> str:
    return _hes({"EPIKEY": "E1"}, {"EPIKEY": "E2", "SEX": "7", "NEWNHSNO": "123"}, {"EPIKEY": "", "DOB": "x"})


def _wrong_field_counts() -> str:
    lines = _five()[:6]  # the header and five rows
    # a truncated row, two bad rows in a row (one too long), and a cut last row without a newline
    lines[2] = lines[2][:30]
    lines[4] = lines[4] + ",extra"
    lines[5] = "just text"
    return "\n".join(lines) + "\nE9,cut"


def _crlf_with_a_short_row() -> str:
    lines = _five("\r\n")
    lines[3] = lines[3][:20]
    return "\r\n".join(lines)


def _quoted() -> str:
    return _hes({"EPIKEY": "E1"}, {"EPIKEY": "E2", "DIAG_4_01": 'a, "b"\nc'}, {"EPIKEY": "E3"})


def _blank_line() -> str:
    lines = _five()
    return "\n".join(lines[:3] + [""] + lines[3:])


def _mixed_line_endings() -> str:
    lines = _five()
    return "\n".join(lines[:3]) + "\r\n" + "\n".join(lines[3:])


def _bom_and_padded_header() -> str:
    header, rest = _hes({"EPIKEY": "E1"}, {"EPIKEY": "E2"}).split("\n", 1)
    return "\ufeff" + ",".join(f" {name} " for name in header.split(",")) + "\n" + rest


# file -> (content, the reader ingest must choose; None: the file is rejected whole)
CASES = {
    "hes_apc_20240101.csv": (_clean(), "csv"),
    "hes_apc_20240102.csv": (_wrong_field_counts(), "csv"),
    "hes_apc_20240103.csv": (_crlf_with_a_short_row(), "csv"),
    "hes_apc_20240104.csv": (_bom_and_padded_header(), "csv"),
    "hes_apc_20240105.csv": (_hes({"EPIKEY": "E1"}).split("\n")[0] + "\n", "csv"),  # header only
    "hes_apc_20240106.csv": (_quoted(), "lines"),
    "hes_apc_20240107.csv": (_blank_line(), "lines"),
    "hes_apc_20240108.csv": (_mixed_line_endings(), None),
    "hes_apc_20240109.csv.gz": (_clean(), "lines"),
    "hes_apc_20240110.csv": (_hes({"EPIKEY": "E1"}).replace("EPIKEY", "EPIKEYX"), None),
}


def _load(tmp_path, *, fast: bool, monkeypatch) -> tuple[list, dict[str, str | None]]:
    root = tmp_path / ("fast" if fast else "lines")
    landing = root / "landing"
    write_postcodes(landing)
    for name, (content, _) in CASES.items():
        write(landing, "hes_apc", name, content)
    settings = Settings.from_env(landing_dir=landing, warehouse_dir=root / "warehouse", pseudo_key="test-key")
    settings.warehouse_dir.mkdir(parents=True)
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(parse, "read_plain", lambda con, path: None)
        con = duckdb.connect(str(settings.warehouse_db))
        summary = ingest_landing(settings, con, load_date=dt.date(2026, 1, 1))
    tables = [con.execute(sql).fetchall() for sql in (
        "select * from raw.hes_apc order by _load_id, _line_number",
        "select * from raw.rejects order by all",
        # a rejected file's reason names its quarantine copy, under this root; a gzip's bytes hold its time
        (f"select * exclude (file_path, sha256, started_at, finished_at, reason), replace(reason, '{root}', '')"
         " from ops.load_ledger order by all"),
        "select * from ops.load_flags order by all",
    )]
    con.close()
    return tables, {f.file_name: f.reader for f in summary.files if f.table_name == "hes_apc"}


def test_clean_files_take_the_csv_reader_messy_ones_the_line_parser_with_identical_rows(tmp_path, monkeypatch):
    fast_tables, readers = _load(tmp_path, fast=True, monkeypatch=monkeypatch)
    line_tables, line_readers = _load(tmp_path, fast=False, monkeypatch=monkeypatch)
    assert readers == {name: reader for name, (_, reader) in CASES.items()}
    assert line_readers == {name: reader and "lines" for name, (_, reader) in CASES.items()}
    assert fast_tables[0], "some rows loaded"
    for fast_table, line_table in zip(fast_tables, line_tables, strict=True):
        assert fast_table == line_table

    # the field-count rejects the CSV reader found keep their physical lines and text
    rejects = [(row[4], row[6], row[8]) for row in fast_tables[1] if row[3] == "hes_apc_20240102.csv"]
    assert [(line, kind) for line, kind, _ in rejects] == [
        (3, "wrong_field_count"), (5, "wrong_field_count"), (6, "wrong_field_count"), (7, "wrong_field_count")]
    assert rejects[2][2] == "just text"
    loaded = [row[-3] for row in fast_tables[0] if row[-4] == "hes_apc_20240102.csv"]
    assert loaded == [2, 4]
