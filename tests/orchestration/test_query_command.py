"""`carejourney query`: read-only SQL on the published copy or, with --analyst / --internal, the
analyst copy / the warehouse."""
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.cli import main


@pytest.fixture()
def warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("CAREJOURNEY_WAREHOUSE_DIR", raising=False)
    (tmp_path / "published").mkdir()
    con = duckdb.connect(str(tmp_path / "published" / "carejourney.duckdb"))
    con.execute("create schema marts; create table marts.person as "
                "select * from (values ('k1', 1950, 'F'), ('k2', 1948, 'M')) t(person_key, birth_year, sex)")
    con.close()
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema linkage; create table linkage.person as select 'p1' as person_id")
    con.close()
    (tmp_path / "analyst").mkdir()
    con = duckdb.connect(str(tmp_path / "analyst" / "carejourney.duckdb"))
    con.execute("create schema marts; create table marts.journey as select 'k1' as person_key, 1 as event_seq")
    con.close()
    return tmp_path


def test_analyst_reads_the_analyst_copy_and_the_default_does_not(warehouse, capsys):
    assert main(["query", "select * from marts.journey", "--analyst", "--csv", "--warehouse", str(warehouse)]) == 0
    assert capsys.readouterr().out == "person_key,event_seq\nk1,1\n"
    assert main(["query", "select * from marts.journey", "--warehouse", str(warehouse)]) == 1
    assert "query failed" in capsys.readouterr().err
    assert main(["query", "select 1", "--analyst", "--warehouse", str(warehouse / "none")]) == 2
    assert "no analyst copy" in capsys.readouterr().err


def test_prints_a_table_of_the_published_copy(warehouse, capsys):
    assert main(["query", "select person_key, birth_year from marts.person order by 1", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["person_key", "birth_year"]
    assert out[2].split() == ["k1", "1950"] and out[3].split() == ["k2", "1948"]
    assert out[-1] == "(2 rows)"


def test_prints_csv(warehouse, capsys):
    assert main(["query", "select sex, count(*) n from marts.person group by 1 order by 1", "--csv",
                 "--warehouse", str(warehouse)]) == 0
    assert capsys.readouterr().out == "sex,n\nF,1\nM,1\n"


def test_internal_reads_the_warehouse_and_published_does_not_hold_linkage(warehouse, capsys):
    assert main(["query", "select person_id from linkage.person", "--internal", "--csv", "--warehouse", str(warehouse)]) == 0
    assert capsys.readouterr().out == "person_id\np1\n"
    assert main(["query", "select person_id from linkage.person", "--warehouse", str(warehouse)]) == 1
    assert "query failed" in capsys.readouterr().err


@pytest.mark.parametrize("sql", ["delete from marts.person", "create table marts.x (a int)",
                                 "copy marts.person to '/tmp/carejourney_leak.csv'"])
def test_refuses_to_write(warehouse, sql, capsys):
    assert main(["query", sql, "--warehouse", str(warehouse)]) == 1
    con = duckdb.connect(str(warehouse / "published" / "carejourney.duckdb"), read_only=True)
    assert con.execute("select count(*) from marts.person").fetchone()[0] == 2


def test_missing_published_copy_says_what_to_do(tmp_path, capsys):
    assert main(["query", "select 1", "--warehouse", str(tmp_path)]) == 2
    assert "run `carejourney run` first" in capsys.readouterr().err


def test_long_results_are_cut_in_table_form_only(warehouse, capsys):
    assert main(["query", "select range as n from range(300)", "--warehouse", str(warehouse)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(300 rows, 100 not shown; use --csv)"
    assert main(["query", "select range as n from range(300)", "--csv", "--warehouse", str(warehouse)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 301


def test_a_reader_that_stops_early_gets_no_broken_pipe_traceback(warehouse):
    """`carejourney query --csv ... | head`: exit quietly when head closes the pipe."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", "query", "--csv", "--warehouse", str(warehouse),
         "select range as n, 'padding padding padding' as text from range(300000)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout.readline() == b"n,text\n"
    process.stdout.close()  # what head does after its lines
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
