"""Python applies dbt's normalisation rules by rendering the macros, not by a copy of them.

Ingest's NHS-number cleaning and postcode-directory check, the identifier scan of publish,
the opt-out check and the source person id all render `clean_nhs_number`,
`compact_postcode`, `normalise_postcode` and `source_person_id` (dbt/macros/normalise.sql)
through dagster_project/dbt_macros.py. The mutation tests change a macro in a copy of
dbt/macros and show that what Python does changes with it: there is nothing else to update.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from landing import HES_ROW, csv_text, rows, write, write_postcodes

from dagster_project import contract, dbt_macros, nhs_number
from dagster_project.dbt_macros import render_macro
from dagster_project.publish import identifiers
from dagster_project.quality import opted_out

# (raw, what staging's normalise_postcode gives, what ingest compares with the directory)
POSTCODES = [
    ("ls1  4ap", "LS1 4AP", "LS14AP"), ("LS14AP", "LS1 4AP", "LS14AP"), (" ls1 4ap ", "LS1 4AP", "LS14AP"),
    ("ls1\t4ap", "LS1 4AP", "LS14AP"), ("LS1\n4AP", "LS1 4AP", "LS14AP"), ("ec1a1bb", "EC1A 1BB", "EC1A1BB"),
    ("m1 1aa", "M1 1AA", "M11AA"), ("b1", "B1", "B1"), ("b123", "B123", "B123"), ("L14A", "L14A", "L14A"),
    ("gir0aa", "GIR 0AA", "GIR0AA"), ("ls1-4ap", "LS1- 4AP", "LS1-4AP"), ("", None, ""), ("   ", None, ""),
    ("\t", None, ""), (None, None, ""),
]
NHS_NUMBERS = ["943 476 5919", "943-476-5919", "943\t476\t5919", " 9434765919 ", "", None, "943.476.5919", "abc"]


def _apply(macro: str, raw: str | None) -> str | None:
    return duckdb.sql(f"select {render_macro(macro, 'x')} from (select ?::varchar as x)", params=[raw]).fetchall()[0][0]


@pytest.mark.parametrize("raw, normalised, compact", POSTCODES)
def test_postcode_macros_normalise_awkward_postcodes(raw, normalised, compact):
    assert _apply("normalise_postcode", raw) == normalised
    assert _apply("compact_postcode", raw) == compact


@pytest.mark.parametrize("raw", NHS_NUMBERS)
def test_nhs_number_macro_cleans_as_the_python_oracle_does(raw):
    assert _apply("clean_nhs_number", raw) == (nhs_number.clean(raw) or None)


@pytest.mark.parametrize("raw", NHS_NUMBERS + ["9434765918", "1111111111", "9991234567", "94347"])
def test_ingest_status_of_the_cleaned_number_is_the_python_oracle(raw):
    sql = nhs_number.status_sql(render_macro("clean_nhs_number", "x"))
    assert duckdb.sql(f"select {sql} from (select ?::varchar as x)", params=[raw]).fetchall()[0][0] \
        == nhs_number.status(raw)


@pytest.fixture
def mutated_macros(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of dbt/macros whose NHS-number cleaning also drops dots and whose postcode
    compaction also drops hyphens, rendered instead of the real files."""
    macros = tmp_path / "macros"
    shutil.copytree(dbt_macros.MACROS_DIR, macros)
    normalise = macros / "normalise.sql"
    text = normalise.read_text()
    for real, mutated in (("'[ \\\\t-]'", "'[ \\\\t.-]'"), ("'\\\\s'", "'[\\\\s-]'")):
        assert text.count(real) == 1, f"the mutation no longer fits {normalise.name}: {real}"
        text = text.replace(real, mutated)
    normalise.write_text(text)
    monkeypatch.setattr(dbt_macros, "MACROS_DIR", macros)
    dbt_macros.clear_caches()
    yield
    monkeypatch.undo()
    dbt_macros.clear_caches()


def _ingest_awkward_row(landing: Path, con, ingest) -> list[str]:
    write_postcodes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv",
          csv_text(rows(HES_ROW, {"NEWNHSNO": "943.476.5919", "HOMEADD": "ls1-4ap"})))
    ingest()
    return con.execute("select _flags from raw.hes_apc").fetchone()[0]


def test_ingest_flags_follow_the_dbt_macros(landing, con, ingest):
    assert _ingest_awkward_row(landing, con, ingest) == ["nhs_number_invalid_format", "postcode_not_in_directory"]


def test_a_changed_macro_changes_what_ingest_does(landing, con, ingest, mutated_macros):
    assert _ingest_awkward_row(landing, con, ingest) == []


class _RecordingConnection:
    """Records the SQL it is given; every query answers one row of one 0."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def execute(self, sql: str, *args):
        self.sql.append(sql)
        return self

    def fetchall(self):
        return [(0,)]


def _identifier_scan_sql() -> str:
    con = _RecordingConnection()
    identifiers.build_identifier_table(con)
    identifiers.build_identifier_tokens(con)
    return "\n".join(con.sql)


def test_a_changed_macro_changes_the_identifier_scan_and_the_opt_out_check(mutated_macros):
    scan = _identifier_scan_sql()
    assert "'[ \\t.-]'" in scan and "'[\\s-]'" in scan          # cleaning and both postcode forms
    assert "'[ \\t.-]'" in opted_out.opted_out_person_ids_sql()


def test_the_real_macros_are_what_the_identifier_scan_and_opt_out_check_apply():
    scan = _identifier_scan_sql()
    assert "'[ \\t-]'" in scan and "'\\s'" in scan
    assert render_macro("normalise_postcode", '"Postcode"') in scan
    assert render_macro("clean_nhs_number", '"NHS_NUMBER"') in opted_out.opted_out_person_ids_sql()


def test_source_person_id_is_the_staging_macro():
    assert contract.source_person_id_sql("asc_cld", "r") == \
        render_macro("source_person_id", ['r."LA Code"', 'r."LA Person Unique Identifier"'])
    got = duckdb.sql(f"select {contract.source_person_id_sql('hes_apc')} from "
                     "(select ' RR8 ' as \"PROCODE3\", 'P1 ' as \"LOPATID\")").fetchall()[0][0]
    assert got == contract.source_person_id([" RR8 ", "P1 "]) == "RR8|P1"
