"""Files that cannot be read are rejected whole, quarantined, recorded, and stop nothing else."""
from __future__ import annotations

import gzip

import pytest
from landing import CLD_ROW, HES_ROW, csv_text, rows, write, write_postcodes

from dagster_project import contract


def _result(summary, file_name):
    (found,) = [f for f in summary.files if f.file_name == file_name]
    return found


def _raw_count(con, table="hes_apc"):
    return con.execute(f"select count(*) from raw.{table}").fetchone()[0]


def _good_hes(landing, name="hes_apc_20240101.csv"):
    write(landing, "hes_apc", name, csv_text(rows(HES_ROW, {"EPIKEY": "GOOD1"})))


def assert_rejected_whole(summary, con, settings, file_name, reason_part):
    result = _result(summary, file_name)
    assert result.status == "rejected"
    assert result.reason.startswith(f"{file_name}: ")
    assert reason_part in result.reason
    ledger = con.execute("select status, reason, sha256, rows_read from ops.load_ledger where file_name = ?",
                         [file_name]).fetchall()
    assert ledger == [("rejected", result.reason, result.sha256, None)]
    assert (settings.quarantine_dir / file_name).read_bytes() == (
        next(settings.landing_dir.rglob(file_name)).read_bytes())
    assert con.execute("select count(*) from raw.hes_apc where _file_name = ?", [file_name]).fetchone()[0] == 0
    assert con.execute("select count(*) from raw.rejects where file_name = ?", [file_name]).fetchone()[0] == 0
    # the good file beside it still loaded
    assert _result(summary, "hes_apc_20240101.csv").status == "loaded"


def test_missing_required_column_rejects_the_file_naming_the_column(landing, settings, con, ingest):
    _good_hes(landing)
    columns = [c for c in HES_ROW if c != "ADMIMETH"]
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(HES_ROW, {}), columns))
    summary = ingest()
    assert_rejected_whole(summary, con, settings, "hes_apc_20240105.csv", "missing required column ADMIMETH")
    assert _result(summary, "hes_apc_20240105.csv").reason.startswith(
        "hes_apc_20240105.csv: missing required column ADMIMETH;")


def test_wrong_delimiter_is_reported_as_such(landing, settings, con, ingest):
    _good_hes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(HES_ROW, {}), delimiter=";"))
    summary = ingest()
    assert_rejected_whole(summary, con, settings, "hes_apc_20240105.csv", "not comma-separated (the header splits on ';')")
    assert "missing required columns EPIKEY, NEWNHSNO" in _result(summary, "hes_apc_20240105.csv").reason


@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_empty_file_is_rejected(landing, settings, con, ingest, content):
    _good_hes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv", content)
    assert_rejected_whole(ingest(), con, settings, "hes_apc_20240105.csv", "file is empty (no header row)")


def test_non_utf8_bytes_reject_the_file(landing, settings, con, ingest):
    _good_hes(landing)
    text = csv_text(rows(HES_ROW, {"EPIKEY": "E1"}, {"EPIKEY": "E2", "HOMEADD": "Caf\xe9"}))
    write(landing, "hes_apc", "hes_apc_20240105.csv", text.encode("latin-1"))
    summary = ingest()
    assert_rejected_whole(summary, con, settings, "hes_apc_20240105.csv", "not UTF-8")
    assert "line 3" in _result(summary, "hes_apc_20240105.csv").reason


def test_corrupt_gzip_is_rejected_and_good_gzip_loads(landing, settings, con, ingest):
    _good_hes(landing)
    (landing / "hes_apc" / "hes_apc_20240105.csv.gz").write_bytes(b"this is not gzip at all")
    half = gzip.compress(csv_text(rows(HES_ROW, {"EPIKEY": "Z"})).encode())[:30]
    (landing / "hes_apc" / "hes_apc_20240106.csv.gz").write_bytes(half)
    write(landing, "hes_apc", "hes_apc_20240107.csv.gz", csv_text(rows(HES_ROW, {"EPIKEY": "GZ1"}, {"EPIKEY": "GZ2"})))
    summary = ingest()
    assert_rejected_whole(summary, con, settings, "hes_apc_20240105.csv.gz", "not a readable gzip file")
    assert _result(summary, "hes_apc_20240106.csv.gz").status == "rejected"
    good = _result(summary, "hes_apc_20240107.csv.gz")
    assert (good.status, good.rows_read, good.rows_loaded) == ("loaded", 2, 2)
    assert con.execute("select list(EPIKEY order by _line_number) from raw.hes_apc "
                       "where _file_name = 'hes_apc_20240107.csv.gz'").fetchone()[0] == ["GZ1", "GZ2"]


def test_unknown_file_in_a_source_folder_is_rejected(landing, settings, con, ingest):
    _good_hes(landing)
    write(landing, "hes_apc", "hes_apc_2024-01-05.csv", csv_text(rows(HES_ROW, {})))
    write(landing, "hes_apc", "notes.txt", "hello")
    summary = ingest()
    assert_rejected_whole(summary, con, settings, "notes.txt", "unknown file name")
    assert _result(summary, "hes_apc_2024-01-05.csv").status == "rejected"
    assert _result(summary, "notes.txt").table_name is None


def test_impossible_delivery_date_in_the_name_rejects_the_file(landing, settings, con, ingest):
    _good_hes(landing)
    write(landing, "hes_apc", "hes_apc_20241399.csv", csv_text(rows(HES_ROW, {})))
    assert_rejected_whole(ingest(), con, settings, "hes_apc_20241399.csv", "not a real date")


def test_duplicated_header_column_rejects_the_file(landing, settings, con, ingest):
    _good_hes(landing)
    columns = [*HES_ROW, "SEX"]
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(HES_ROW, {}), columns))
    assert_rejected_whole(ingest(), con, settings, "hes_apc_20240105.csv", "SEX appears more than once")


def test_extra_columns_are_kept_in_extra_and_optional_columns_are_null(landing, con, ingest):
    write(landing, "hes_apc", "hes_apc_20240105.csv",
          csv_text(rows({**HES_ROW, "LOCAL_NOTE": "x", "WARD": ""}, {})))
    result = ingest().files[0]
    assert result.status == "loaded"
    extra, mainspef = con.execute('select _extra, "MAINSPEF" from raw.hes_apc').fetchone()
    assert extra == {"LOCAL_NOTE": "x", "WARD": None}
    assert mainspef is None


def test_bom_crlf_and_padded_header_names_are_handled(landing, con, ingest):
    text = csv_text(rows(HES_ROW, {"EPIKEY": "E1"}, {"EPIKEY": "E2"}), newline="\r\n")
    header, rest = text.split("\r\n", 1)
    padded = ",".join(f" {name} " for name in header.split(","))
    write(landing, "hes_apc", "hes_apc_20240105.csv", "\ufeff" + padded + "\r\n" + rest)
    result = ingest().files[0]
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 0)
    got = con.execute('select "EPIKEY", "DIAG_4_01", _line_number from raw.hes_apc order by 3').fetchall()
    assert got == [("E1", "S72.0", 2), ("E2", "S72.0", 3)]  # no stray \r on the last column


def test_quoted_commas_and_newlines_keep_values_and_physical_line_numbers(landing, con, ingest):
    text = csv_text(rows(HES_ROW,
                         {"EPIKEY": "E1", "HOMEADD": "LS1 4AP"},
                         {"EPIKEY": "E2", "DIAG_4_01": 'a, "b"\nc\nd'},
                         {"EPIKEY": "E3"}))
    write(landing, "hes_apc", "hes_apc_20240105.csv", text)
    result = ingest().files[0]
    assert (result.rows_read, result.rows_loaded) == (3, 3)
    got = con.execute('select "EPIKEY", "DIAG_4_01", _line_number from raw.hes_apc order by 3').fetchall()
    assert got == [("E1", "S72.0", 2), ("E2", 'a, "b"\nc\nd', 3), ("E3", "S72.0", 6)]


@pytest.mark.parametrize("name", ["hes_apc_20240105.csv", "hes_apc_20240105.csv.gz"])
def test_excel_style_crlf_with_a_line_break_inside_a_quoted_value_loads(landing, con, ingest, name):
    """Excel and Python's csv module end records with CRLF but write a line break inside a
    quoted value as a bare LF: DuckDB's reader refuses the mix, the file must still load."""
    text = csv_text(rows(HES_ROW, {"EPIKEY": "E1"}, {"EPIKEY": "E2", "DIAG_4_01": "a\nb"}, {"EPIKEY": "E3"}),
                    newline="\r\n")
    assert "a\nb" in text and "\r\n" in text
    write(landing, "hes_apc", name, text)
    result = ingest().files[0]
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 3, 0)
    got = con.execute('select "EPIKEY", "DIAG_4_01", _line_number from raw.hes_apc order by 3').fetchall()
    assert got == [("E1", "S72.0", 2), ("E2", "a\nb", 3), ("E3", "S72.0", 5)]


@pytest.mark.parametrize("content", [
    "{header}\n{e1}\r\n{e2}\n",          # one CRLF line in an LF file (files joined together)
    "{header}\r\n{e1}\r\r\n{e2}\r\n",  # a doubled CR before a CRLF
])
def test_mixed_line_ends_load_every_line_with_its_physical_number(landing, con, ingest, content):
    header, e1, e2 = csv_text(rows(HES_ROW, {"EPIKEY": "E1"}, {"EPIKEY": "E2"})).splitlines()
    write(landing, "hes_apc", "hes_apc_20240105.csv", content.format(header=header, e1=e1, e2=e2))
    result = ingest().files[0]
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 2, 2)
    got = con.execute('select "EPIKEY", "DIAG_4_01", _line_number from raw.hes_apc order by 3').fetchall()
    assert got == [("E1", "S72.0", 2), ("E2", "S72.0", 3)]  # no stray CR on the last column


def test_truncated_last_line_is_a_rejected_row_not_a_rejected_file(landing, con, ingest):
    text = csv_text(rows(HES_ROW, {"EPIKEY": "E1"}, {"EPIKEY": "E2"}))
    truncated = text.rstrip("\n")[:-40]  # cut mid-row, no final newline
    write(landing, "hes_apc", "hes_apc_20240105.csv", truncated)
    result = ingest().files[0]
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 1, 1)
    reject = con.execute("select line_number, reason_kind, raw_text from raw.rejects").fetchall()
    assert reject == [(3, "wrong_field_count", truncated.splitlines()[2])]


def test_unterminated_quote_at_the_end_is_one_rejected_row(landing, con, ingest):
    text = csv_text(rows(HES_ROW, {"EPIKEY": "E1"})) + 'E2,"unterminated\nmore text\n'
    write(landing, "hes_apc", "hes_apc_20240105.csv", text)
    result = ingest().files[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert con.execute("select line_number, reason_kind, raw_text from raw.rejects").fetchall() == [
        (3, "wrong_field_count", 'E2,"unterminated\nmore text')]


def test_a_blank_line_above_the_header_is_named_as_such_not_as_an_empty_file(landing, settings, con, ingest):
    _good_hes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv", "\n\n" + csv_text(rows(HES_ROW, {})))
    assert_rejected_whole(ingest(), con, settings, "hes_apc_20240105.csv",
                          "the first line is blank (the first text is on line 3): the header must be line 1")


def test_header_only_file_loads_with_no_rows(landing, con, ingest):
    write(landing, "asc_cld", "asc_cld_E08000035_20240105.csv", ",".join(CLD_ROW) + "\n")
    result = ingest().files[0]
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == ("loaded", 0, 0, 0)


def test_reference_files_load_before_sources_and_snapshots_replace(landing, con, ingest):
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(HES_ROW, {})))
    write_postcodes(landing)
    summary = ingest()
    assert [f.table_name for f in summary.files] == [contract.POSTCODES.name, "hes_apc"]
    assert con.execute("select count(*) from raw_current.postcode_directory").fetchone()[0] == 2
    write(landing, "reference", "postcode_directory.csv", "pcds,laua,lsoa21\nLS2 9JT,E08000035,E01033010\n")
    ingest()
    assert con.execute("select pcds from raw_current.postcode_directory").fetchall() == [("LS2 9JT",)]
    assert _raw_count(con, "postcode_directory") == 3


def test_fully_quoted_export_loads_like_a_plain_one(landing, con, ingest):
    import csv
    import io
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(list(HES_ROW))
    writer.writerow(list({**HES_ROW, "EPIKEY": "Q1", "DIAG_4_01": ""}.values()))
    writer.writerow(list({**HES_ROW, "EPIKEY": "Q2", "DIAG_4_01": 'say "hi", then'}.values()))
    write(landing, "hes_apc", "hes_apc_20240105.csv", buffer.getvalue())
    result = ingest().files[0]
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert con.execute('select EPIKEY, DIAG_4_01, PROCODE3 from raw.hes_apc order by 1').fetchall() == [
        ("Q1", None, "RR8"), ("Q2", 'say "hi", then', "RR8")]


def test_a_stray_quote_that_joins_lines_is_rejected_with_both_lines(landing, con, ingest):
    good = csv_text(rows(HES_ROW, {"EPIKEY": "E1"}, {"EPIKEY": "E2"}, {"EPIKEY": "E3"}))
    lines = good.splitlines()
    lines[1] = lines[1].replace("RR8", 'R"R8')  # a stray quote inside an unquoted field
    lines[2] = lines[2].replace("RR8", 'R"R8')  # ... and another one two lines later
    write(landing, "hes_apc", "hes_apc_20240105.csv", "\n".join(lines) + "\n")
    result = ingest().files[0]
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    assert con.execute("select EPIKEY from raw.hes_apc").fetchall() == [("E3",)]
    assert con.execute("select line_number, reason_kind, raw_text from raw.rejects").fetchall() == [
        (2, "wrong_field_count", lines[1] + "\n" + lines[2])]
