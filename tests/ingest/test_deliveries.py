"""Overlapping deliveries, duplicates, re-runs, load order and crash safety."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from landing import CLD_ROW, HES_ROW, csv_text, rows, write, write_postcodes

from dagster_project import contract
from dagster_project.ingest import loader
from dagster_project.ingest.run import ingest_landing, unloaded_files
from dagster_project.settings import Settings

TABLES = [t.name for t in contract.TABLES]


def snapshot(con) -> dict:
    """Everything ingest writes, comparable across runs."""
    state = {"ledger": con.execute("select * from ops.load_ledger order by load_id").fetchall(),
             "flags": con.execute("select * from ops.load_flags order by all").fetchall(),
             "rejects": con.execute("select * from raw.rejects order by all").fetchall()}
    for name in TABLES:
        state[name] = con.execute(f"select * from raw.{name} order by all").fetchall()
    return state


def current_tables(con) -> dict:
    """raw_current.* without load ids (which depend on load order by nature)."""
    return {name: con.execute(f"select * exclude (_load_id) from raw_current.{name} order by all").fetchall()
            for name in TABLES}


def _deliveries(landing: Path) -> None:
    write_postcodes(landing)
    write(landing, "hes_apc", "hes_apc_20240105.csv", csv_text(rows(
        HES_ROW, {"EPIKEY": "E1", "DISDATE": "", "DISDEST": "98"}, {"EPIKEY": "E2"})))
    # the next extract overlaps: E1 corrected (now discharged), E3 new
    write(landing, "hes_apc", "hes_apc_20240112.csv", csv_text(rows(
        HES_ROW, {"EPIKEY": "E1", "DISDATE": "2024-01-09", "DISDEST": "54"}, {"EPIKEY": "E3"})))
    write(landing, "asc_cld", "asc_cld_E08000035_20240331.csv", csv_text(rows(
        CLD_ROW, {"Event Reference": "R1", "Event Outcome": "old"})))
    write(landing, "asc_cld", "asc_cld_E08000035_20240331_fix.csv", csv_text(rows(
        CLD_ROW, {"Event Reference": "R1", "Event Outcome": "fixed"})))


def test_overlapping_delivery_corrects_a_record_and_nothing_doubles(landing, con, ingest):
    _deliveries(landing)
    ingest()
    assert con.execute("select count(*) from raw.hes_apc").fetchone()[0] == 4
    current = con.execute('select EPIKEY, DISDATE, DISDEST, _file_name from raw_current.hes_apc order by 1').fetchall()
    assert current == [("E1", "2024-01-09", "54", "hes_apc_20240112.csv"),
                       ("E2", "2024-01-05", "19", "hes_apc_20240105.csv"),
                       ("E3", "2024-01-05", "19", "hes_apc_20240112.csv")]
    # same delivery date: the later file name wins
    assert con.execute('select "Event Outcome" from raw_current.asc_cld').fetchall() == [("fixed",)]


def test_re_delivered_identical_file_is_skipped(landing, con, ingest):
    _deliveries(landing)
    ingest()
    before = con.execute("select count(*) from raw.hes_apc").fetchone()[0]
    shutil.copy(landing / "hes_apc" / "hes_apc_20240112.csv", landing / "hes_apc" / "hes_apc_20240112_resend.csv")
    summary = ingest()
    (result,) = summary.files
    assert (result.file_name, result.status) == ("hes_apc_20240112_resend.csv", "skipped_duplicate")
    assert "byte-identical to hes_apc_20240112.csv" in result.reason
    assert con.execute("select count(*) from raw.hes_apc").fetchone()[0] == before
    assert con.execute("select status from ops.load_ledger where file_name = 'hes_apc_20240112_resend.csv'"
                       ).fetchall() == [("skipped_duplicate",)]
    assert ingest().files == []  # and it is not recorded again


def test_re_running_over_an_unchanged_landing_changes_nothing(landing, con, ingest):
    _deliveries(landing)
    write(landing, "hes_apc", "junk.txt", "not a delivery")
    write(landing, "hes_apc", "hes_apc_20240201.csv", "")
    first = ingest()
    assert first.files_rejected == 2
    before = snapshot(con)
    again = ingest()
    assert again.files == []
    assert len(again.unchanged) == len(first.files)
    assert snapshot(con) == before


def test_any_load_order_gives_the_same_current_tables(tmp_path):
    full = tmp_path / "all"
    _deliveries(full)
    files = sorted(p.relative_to(full) for p in full.rglob("*.csv") if "reference" not in p.parts)
    results = []
    for order_name, order in [("forward", files), ("backward", files[::-1])]:
        landing = tmp_path / order_name / "landing"
        settings = Settings.from_env(landing, tmp_path / order_name / "warehouse", pseudo_key="k")
        settings.warehouse_dir.mkdir(parents=True)
        con = duckdb.connect(str(settings.warehouse_db))
        write_postcodes(landing)
        for relative in order:  # one delivery per run, in this order
            (landing / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(full / relative, landing / relative)
            ingest_landing(settings, con)
        results.append(current_tables(con))
        con.close()
    assert results[0] == results[1]
    assert results[0]["hes_apc"] and results[0]["asc_cld"]


def test_a_failure_inside_the_transaction_leaves_nothing_of_the_file(landing, con, ingest, monkeypatch):
    _deliveries(landing)
    real_insert = loader._insert_rows

    def insert_then_crash(con_, result, table, load_id, rows_sql):
        real_insert(con_, result, table, load_id, rows_sql)
        if result.file_name == "hes_apc_20240112.csv":
            raise KeyboardInterrupt("simulated kill after the raw rows were written")

    monkeypatch.setattr(loader, "_insert_rows", insert_then_crash)
    with pytest.raises(KeyboardInterrupt):
        ingest()
    assert con.execute("select count(*) from raw.hes_apc where _file_name = 'hes_apc_20240112.csv'").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.rejects where file_name = 'hes_apc_20240112.csv'").fetchone()[0] == 0
    assert con.execute("select count(*) from ops.load_ledger where file_name = 'hes_apc_20240112.csv'"
                       ).fetchone()[0] == 0
    # files loaded side by side with the failed one may have committed; no file twice, none lost
    committed = {name for (name,) in con.execute("select file_name from ops.load_ledger").fetchall()}
    monkeypatch.setattr(loader, "_insert_rows", real_insert)
    summary = ingest()  # the next run completes the job
    assert "hes_apc_20240112.csv" in [f.file_name for f in summary.files]
    assert committed.isdisjoint(f.file_name for f in summary.files)
    assert committed | {f.file_name for f in summary.files} == {p.name for p in landing.rglob("*.csv")}
    assert con.execute("select count(*) from raw.hes_apc").fetchone()[0] == 4


KILLED_RUN = textwrap.dedent("""
    import sys, duckdb
    from dagster_project.settings import Settings
    from dagster_project.ingest import loader
    from dagster_project.ingest.run import ingest_landing
    real_commit = loader._commit
    def commit_and_tell(con, result, *args, **kwargs):
        real_commit(con, result, *args, **kwargs)
        print("committed", result.file_name, flush=True)
    loader._commit = commit_and_tell
    settings = Settings.from_env(sys.argv[1], sys.argv[2], pseudo_key="k")
    ingest_landing(settings, duckdb.connect(str(settings.warehouse_db)))
""")


def test_a_killed_process_leaves_whole_files_only_and_the_next_run_completes(landing, settings):
    """Kill -9 a real ingest after its first file; every file is all-or-nothing, and a re-run finishes."""
    settings.warehouse_dir.mkdir(parents=True)
    n_rows, n_files = 30_000, 4
    for day in range(1, n_files + 1):
        write(landing, "hes_apc", f"hes_apc_202401{day:02d}.csv",
              csv_text(rows(HES_ROW, *({"EPIKEY": f"E{day}-{i}"} for i in range(n_rows)))))
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(landing), str(settings.warehouse_dir)],
                               cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("committed hes_apc_202401")  # files load side by side
    finally:
        process.kill()  # SIGKILL: no clean-up, no rollback, mid-way through a later file
        process.wait()
    con = duckdb.connect(str(settings.warehouse_db))
    try:
        per_file = dict(con.execute("select _file_name, count(*) from raw.hes_apc group by 1").fetchall())
        ledger = dict(con.execute("select file_name, rows_loaded from ops.load_ledger").fetchall())
        assert 1 <= len(ledger) < n_files, "the kill should land part-way through the run"
        assert per_file == ledger
        assert set(per_file.values()) == {n_rows}
        summary = ingest_landing(settings, con)
        assert len(summary.files) == n_files - len(ledger)
        assert con.execute("select count(*) from raw.hes_apc").fetchone()[0] == n_files * n_rows
    finally:
        con.close()


def test_unloaded_files_lists_new_recognised_files_only(landing, settings, con, ingest):
    _deliveries(landing)
    write(landing, "hes_apc", "junk.txt", "x")
    expected = sorted(p for p in landing.rglob("*.csv"))
    assert sorted(unloaded_files(settings, duckdb.connect())) == expected  # empty warehouse: all new
    ingest()
    assert unloaded_files(settings, con) == []
    new = write(landing, "hes_apc", "hes_apc_20240119.csv", csv_text(rows(HES_ROW, {"EPIKEY": "E9"})))
    assert unloaded_files(settings, con) == [new]
    # a file rewritten in place with new bytes is new again, even at the same size
    same_size = landing / "hes_apc" / "hes_apc_20240105.csv"
    data = same_size.read_bytes().replace(b"E2,", b"E7,")
    same_size.write_bytes(data)
    assert sorted(unloaded_files(settings, con)) == sorted([new, same_size])


def test_a_delivery_rejected_for_where_it_lay_loads_once_moved_where_it_belongs(landing, settings, con, ingest):
    """A rejection may be the place's, not the bytes': the same bytes moved from the wrong
    source folder (or the landing root) into their own are judged again and load, while a
    rejected file left where it is stays rejected without a new ledger row every night."""
    _deliveries(landing)
    stray = write(landing, "csds", "hes_apc_20240301.csv", csv_text(rows(HES_ROW, {"EPIKEY": "E30"})))
    first = ingest()
    assert [(f.file_name, f.status) for f in first.files if f.file_name == stray.name] == [(stray.name, "rejected")]
    again = ingest()
    assert again.files == [] and unloaded_files(settings, con) == []   # left where it is: not judged again
    moved = landing / "hes_apc" / stray.name
    stray.rename(moved)
    assert unloaded_files(settings, con) == [moved]                   # the sensor sees it too
    summary = ingest()
    assert [(f.file_name, f.status, f.rows_loaded) for f in summary.files] == [(stray.name, "loaded", 1)]
    assert con.execute("select count(*) from raw.hes_apc where EPIKEY = 'E30'").fetchone() == (1,)
    assert ingest().files == []
