"""raw_current.<event table> is a table ingest brings up to date once per run, after its
files (ingest.schema.refresh_current, from the last load it reflected): after any
sequence of runs, one file or many each, and after a run killed between its files and
that refresh, the next run leaves exactly the rows of the one definition of "current"
(ingest.schema.current_rows_sql) over all of raw."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from landing import CLD_ROW, HES_ROW, csv_text, rows, write, write_postcodes

from dagster_project import contract
from dagster_project.ingest import run, schema
from dagster_project.ingest.run import ingest_landing
from dagster_project.settings import Settings

EVENT_TABLES = [t for t in contract.TABLES if not t.snapshot]


def assert_current_is_the_definition(con: duckdb.DuckDBPyConnection) -> None:
    for table in EVENT_TABLES:
        kind = con.execute("select table_type from information_schema.tables "
                           "where table_schema = 'raw_current' and table_name = ?", [table.name]).fetchall()
        assert kind == [("BASE TABLE",)], table.name
        held = con.execute(f"select * from raw_current.{table.name} order by all").fetchall()
        defined = con.execute(f"select * from ({schema.current_rows_sql(table)}) order by all").fetchall()
        assert held == defined, table.name


def _landing(root: Path) -> list[Path]:
    """Deliveries whose current rows depend on every tie-break of the definition."""
    write(root, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(
        HES_ROW, {"EPIKEY": "E1", "DISDEST": "98"}, {"EPIKEY": "E2"},
        {"EPIKEY": "E4", "DISDEST": "51"}, {"EPIKEY": "E4", "DISDEST": "52"})))  # repeated in one file: last line
    write(root, "hes_apc", "hes_apc_20240112.csv", csv_text(rows(
        HES_ROW, {"EPIKEY": "E1", "DISDEST": "54"}, {"EPIKEY": " E3 "})))  # keys are compared trimmed
    # a late file for an old period: an older delivery date than what is loaded, so it
    # wins only for keys nobody sent later
    write(root, "hes_apc", "hes_apc_20231231.csv", csv_text(rows(
        HES_ROW, {"EPIKEY": "E1", "DISDEST": "19"}, {"EPIKEY": "E3", "DISDEST": "29"},
        {"EPIKEY": "E5"})))
    write(root, "hes_apc", "hes_apc_20240112_fix.csv", csv_text(rows(  # same date: the later file name
        HES_ROW, {"EPIKEY": "E6"}, {"EPIKEY": "E2", "DISDEST": "37"})))
    write(root, "asc_cld", "asc_cld_E08000035_20240331.csv", csv_text(rows(
        CLD_ROW, {"Event Reference": "R1", "Event Outcome": "old"}, {"Event Reference": "R2"})))
    write(root, "asc_cld", "asc_cld_E08000035_20240331_fix.csv", csv_text(rows(
        CLD_ROW, {"Event Reference": "R1 ", "Event Outcome": "fixed"})))
    return sorted(p.relative_to(root) for p in root.rglob("*.csv"))


@pytest.mark.parametrize("order", ["forward", "backward", "all in one run"])
def test_every_load_leaves_raw_current_equal_to_its_definition(tmp_path, order):
    full = tmp_path / "all"
    files = _landing(full)
    files = files[::-1] if order == "backward" else files
    settings = Settings.from_env(tmp_path / "landing", tmp_path / "warehouse", pseudo_key="k")
    settings.warehouse_dir.mkdir()
    con = duckdb.connect(str(settings.warehouse_db))
    write_postcodes(settings.landing_dir)
    for relative in files:  # one delivery per run, or all of them in the last
        (settings.landing_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(full / relative, settings.landing_dir / relative)
        if order != "all in one run" or relative == files[-1]:
            ingest_landing(settings, con)
            assert_current_is_the_definition(con)
    current = dict(con.execute('select trim(EPIKEY), DISDEST from raw_current.hes_apc').fetchall())
    assert current == {"E1": "54", "E2": "37", "E3": "19", "E4": "52", "E5": "19", "E6": "19"}
    # a re-delivery under a loaded name with new bytes loads again and corrects E2, though
    # E2 is on an earlier line than in the version it corrects (the later load wins, then the line)
    write(settings.landing_dir, "hes_apc", "hes_apc_20240112_fix.csv",
          csv_text(rows(HES_ROW, {"EPIKEY": "E2", "DISDEST": "65"}, {"EPIKEY": "E6"})))
    ingest_landing(settings, con)
    assert_current_is_the_definition(con)
    assert con.execute("select DISDEST from raw_current.hes_apc where EPIKEY = 'E2'").fetchall() == [("65",)]
    con.close()


def _current(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    return {t.name: con.execute(f"select * from raw_current.{t.name} order by all").fetchall() for t in EVENT_TABLES}


def test_a_run_killed_before_or_during_the_refresh_is_caught_up_by_the_next(landing, con, ingest, monkeypatch):
    _landing(landing)
    (landing / "hes_apc" / "hes_apc_20240112_fix.csv").unlink()
    ingest()
    before = _current(con)
    write(landing, "hes_apc", "hes_apc_20240112_fix.csv", csv_text(rows(HES_ROW, {"EPIKEY": "E2", "DISDEST": "37"})))

    def killed(con_):
        raise KeyboardInterrupt("simulated kill after the files committed, before raw_current caught up")

    monkeypatch.setattr(run, "refresh_all_current", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest()
    assert _current(con) == before  # behind raw by the file just committed
    monkeypatch.undo()
    # killed half-way through the refresh itself: its transaction leaves the table as it was
    real_rows = schema.current_rows_sql
    monkeypatch.setattr(schema, "current_rows_sql",
                        lambda table, keys=None: "select no_such_column" if keys else real_rows(table, keys))
    with pytest.raises(duckdb.Error):
        ingest()
    assert _current(con) == before
    monkeypatch.undo()
    ingest()  # nothing new to load: the refresh alone catches up
    assert_current_is_the_definition(con)
    assert con.execute("select DISDEST from raw_current.hes_apc where EPIKEY = 'E2'").fetchall() == [("37",)]


def _make_views(con: duckdb.DuckDBPyConnection) -> None:
    """raw_current as warehouses before this change have it: a view per event table."""
    for table in EVENT_TABLES:
        con.execute(f"drop table raw_current.{table.name}")
        con.execute(f"create view raw_current.{table.name} as {schema.current_rows_sql(table)}")


def test_a_warehouse_with_views_gets_its_tables_built_once(landing, con, ingest, monkeypatch):
    _landing(landing)
    ingest()
    expected = {t.name: con.execute(f"select * from raw_current.{t.name} order by all").fetchall()
                for t in EVENT_TABLES}
    _make_views(con)
    # a crash while building leaves the views, whole: the next run builds again
    real_rows = schema.current_rows_sql
    monkeypatch.setattr(schema, "current_rows_sql",
                        lambda table, keys=None: "select no_such_column" if table.name == "asc_cld"
                        else real_rows(table, keys))
    with pytest.raises(duckdb.Error):
        schema.ensure_schema(con)
    assert con.execute("select table_type from information_schema.tables "
                       "where table_schema = 'raw_current' and table_name = 'asc_cld'").fetchall() == [("VIEW",)]
    monkeypatch.setattr(schema, "current_rows_sql", real_rows)
    schema.ensure_schema(con)
    schema.ensure_schema(con)  # idempotent: a table already there is kept as it is
    assert_current_is_the_definition(con)
    assert _current(con) == expected
    # the state says so: a run with nothing new leaves the tables as they are
    assert dict(con.execute(f"select table_name, max_load_id from {schema.CURRENT_STATE}").fetchall()) == {
        t.name: con.execute(f"select coalesce(max(_load_id), 0) from raw.{t.name}").fetchone()[0] for t in EVENT_TABLES}


def test_a_new_definition_of_current_rebuilds_the_tables_whole(landing, con, ingest):
    """A table kept up to date under an older definition of "current" (a previous version
    of this code) is rebuilt whole on the next run, even with nothing new to load: kept
    up to date key by key, it would mix rows chosen by two rules."""
    _landing(landing)
    ingest()
    expected = _current(con)
    # as an older definition left them: another row current for a key, and its fingerprint
    con.execute("update raw_current.hes_apc set DISDEST = 'old rule' where trim(EPIKEY) = 'E2'")
    con.execute(f"update {schema.CURRENT_STATE} set definition = 'sha256 of an older definition'")
    ingest()
    assert _current(con) == expected
    assert {d for (d,) in con.execute(f"select definition from {schema.CURRENT_STATE}").fetchall()} == {
        schema.definition_fingerprint(t) for t in EVENT_TABLES}
    ingest()  # and then it is up to date: nothing rebuilt
    assert _current(con) == expected


def test_a_state_table_made_before_definitions_gets_the_column_and_a_rebuild(landing, con, ingest):
    _landing(landing)
    ingest()
    expected = _current(con)
    con.execute(f"alter table {schema.CURRENT_STATE} drop column definition")
    con.execute("update raw_current.asc_cld set \"Event Outcome\" = 'old rule'")
    ingest()
    assert _current(con) == expected
