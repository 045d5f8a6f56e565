"""The analyst copy of an incremental night, written on the copy in place (publish/analyst_base.py).

On the tiny warehouse: a first publish after a complete build (the base), then a night
that affects one person (Alice, KEY_A) whose marts rows change; Carol (KEY_C) is carried
over. The copy written on the base must equal a full write of the same warehouse; every
condition that makes the base unprovable must fall back to a full write, naming why; and
its verification must still catch an identifier in a re-written row and an identifier
new since the base in a carried row.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess

import duckdb
import pytest
from test_old_duckdb_reads_the_copies import READ_EVERYTHING, compat_python  # noqa: F401 (a fixture)
from warehouse_compare import analyst_copy
from warehouse_fixture import ALICE_NHS, KEY_A

from dagster_project.publish import analyst_base, core
from dagster_project.publish.core import ANALYST_TABLES, PublishError, publish
from dagster_project.runs import incremental, nothing_new

BUILT = dt.datetime(2026, 1, 1, 2, 0)          # the complete build the first copy is written from
DECIDED = BUILT + dt.timedelta(days=1)         # tonight's plan, relative to BUILT
TONIGHT = DECIDED + dt.timedelta(minutes=30)   # tonight's build completed


def _complete_build(con: duckdb.DuckDBPyConnection, at: dt.datetime) -> None:
    incremental._ensure_tables(con)
    con.execute(f"delete from {incremental.BASELINE}")
    con.execute(f"insert into {incremental.BASELINE} values (?, 1, null, 's', 'c', 'k')", [at])


def _night(con: duckdb.DuckDBPyConnection, person_ids: list[str], mode: str = "incremental") -> None:
    """Tonight as the nightly job leaves it before publish: planned relative to BUILT, built."""
    con.execute(f"delete from {incremental.NIGHT}")
    con.execute(f"insert into {incremental.NIGHT} values (?, ?, ?)", [DECIDED, mode, BUILT])
    con.execute(f"create or replace table {incremental.AFFECTED} as select person_id, person_key "
                "from linkage.person where person_id in (select unnest(?::varchar[]))", [person_ids])
    _complete_build(con, TONIGHT)


@pytest.fixture
def based(con, settings):
    """A first published copy (full, recorded), then an incremental night affecting Alice (P1)."""
    _complete_build(con, BUILT)
    first = publish(settings, con)
    assert first.analyst_plan.mode == "full"
    _night(con, ["P1"])
    return con


def _plan(con, settings) -> analyst_base.AnalystPlan:
    catalog = con.execute("select current_database()").fetchone()[0]
    return core._analyst_plan(con, catalog, settings)


def test_the_copy_written_on_the_base_equals_a_full_write(based, settings):
    con = based
    # Alice's rows change tonight (an event's service type, her spell's length); Carol's do not
    con.execute(f"update marts.journey set service_type = 'Long Term Support' where person_key = '{KEY_A}' "
                "and event_seq = 2")
    con.execute(f"update marts.hospital_spell set los_days = 6 where person_key = '{KEY_A}'")
    con.execute(f"delete from marts.journey where person_key = '{KEY_A}' and event_seq = 1")
    on_base = publish(settings, con)
    assert on_base.analyst_plan.mode == "incremental", on_base.analyst_plan
    assert "analyst copy incremental" in on_base.summary()
    con.execute(f"update {incremental.NIGHT} set mode = 'full'")
    whole = publish(settings, con)
    assert whole.analyst_plan.mode == "full" and "full rebuild" in whole.analyst_plan.reason
    got, expected = analyst_copy(on_base.analyst_version_dir), analyst_copy(whole.analyst_version_dir)
    assert got == expected
    service_type = [c for c, _, _ in got["journey"][1]].index("service_type")
    assert [r[service_type] for r in got["journey"][0] if r[0] == KEY_A] == ["Long Term Support"]  # changed
    logged = con.execute(f"select tier, mode from {analyst_base.LOG} order by published_at, tier").fetchall()
    assert [m for t, m in logged if t == "analyst"] == ["full", "incremental", "full"]


def test_the_copy_written_on_the_base_is_compacted_by_the_warehouse_rule(based, settings, monkeypatch):
    # its deleted rows stay stored (no connection of a run vacuums): compaction/compact.py decides
    compacted = []
    monkeypatch.setattr(core, "compact_if_due", lambda s, database: compacted.append(database))
    result = publish(settings, based)
    assert result.analyst_plan.mode == "incremental"
    assert compacted == [result.analyst_version_dir / core.DATABASE_FILE]


def test_a_table_whose_rows_did_not_change_keeps_the_base_parquet(based, settings):
    based.execute(f"create or replace table {incremental.AFFECTED} as select person_id, person_key "
                  "from linkage.person where person_id = 'P3'")  # Carol: no hospital spell
    base = core.swap.current_version(settings.analyst_dir)
    result = publish(settings, based)
    assert result.analyst_plan.mode == "incremental"
    spell = result.analyst_version_dir / "hospital_spell.parquet"
    assert spell.stat().st_ino == (base / "hospital_spell.parquet").stat().st_ino
    assert (result.analyst_version_dir / "journey.parquet").stat().st_ino != (base / "journey.parquet").stat().st_ino


def _corrupt(con, settings):
    (core.swap.current_version(settings.analyst_dir) / "carejourney.duckdb").write_bytes(b"not a database")


FALLBACKS = {
    "no copy recorded": (lambda con, s: con.execute(f"delete from {analyst_base.RECORD}"), "no analyst copy recorded"),
    "another copy in place": (lambda con, s: con.execute(f"update {analyst_base.RECORD} set version = 'x'"),
                              "is not the one recorded"),
    "full rebuild night": (lambda con, s: con.execute(f"update {incremental.NIGHT} set mode = 'full'"),
                           "full rebuild"),
    "build did not complete": (lambda con, s: _complete_build(con, DECIDED - dt.timedelta(minutes=1)),
                               "did not complete"),
    "copy from another build": (lambda con, s: con.execute(
        f"update {incremental.NIGHT} set baseline_built_at = ?", [BUILT - dt.timedelta(days=1)]),
        "tonight's affected people are relative to"),
    "no affected people": (lambda con, s: con.execute(f"drop table {incremental.AFFECTED}"), "is missing"),
    "copy missing": (lambda con, s: (core.swap.current_version(s.analyst_dir) / "carejourney.duckdb").unlink(),
                     "is missing"),
    "copy unreadable": (_corrupt, "does not open"),
    "columns changed": (lambda con, s: con.execute("alter table marts.person add column care_home boolean"),
                        "does not have tonight's columns and types"),
}


def _saved(table: str) -> str:
    return "_saved_" + table.replace(".", "_")


def test_a_base_that_cannot_be_proven_falls_back_to_a_full_write(based, settings, monkeypatch):
    """Each condition alone (its change rolled back after), on one base: publishing costs seconds."""
    assert _plan(based, settings).mode == "incremental"   # the valid base, before any change
    seen = {}
    database = core.swap.current_version(settings.analyst_dir) / "carejourney.duckdb"
    saved = database.read_bytes()
    touched = (analyst_base.RECORD, incremental.NIGHT, incremental.BASELINE, incremental.AFFECTED,
               "marts.person")
    for table in touched:
        based.execute(f"create temp table {_saved(table)} as select * from {table}")
    for case, (breaks, _) in FALLBACKS.items():
        try:
            breaks(based, settings)
            seen[case] = _plan(based, settings)
        finally:
            for table in touched:
                based.execute(f"create or replace table {table} as select * from {_saved(table)}")
            database.write_bytes(saved)
        assert _plan(based, settings).mode == "incremental", case   # undone
    other_key = dataclasses.replace(settings, pseudo_key="another-secret")
    seen["pseudonymisation key"] = _plan(based, other_key)
    for what in ("settings", "code"):
        with monkeypatch.context() as patched:
            patched.setattr(nothing_new, f"{what}_fingerprint", lambda *args: "another")
            seen[what] = _plan(based, settings)
    reasons = {**{case: reason for case, (_, reason) in FALLBACKS.items()},
               **{what: f"the {what} changed" for what in ("pseudonymisation key", "settings", "code")}}
    wrong = {case: plan for case, plan in seen.items()
             if plan.mode != "full" or plan.base is not None or reasons[case] not in plan.reason}
    assert not wrong


def _unchanged(settings) -> tuple:
    link = settings.analyst_dir.readlink()
    return link, sorted(p.name for p in core.swap.versions_dir(settings.analyst_dir).iterdir())


def test_an_identifier_in_a_rewritten_row_stops_publication(based, settings):
    based.execute(f"update marts.journey set service_type = '{ALICE_NHS}' where person_key = '{KEY_A}' "
                  "and event_seq = 2")
    before = _unchanged(settings)
    assert _plan(based, settings).mode == "incremental"
    with pytest.raises(PublishError, match=r"journey\.service_type: 1 row\(s\) hold a NHS number"):
        publish(settings, based)
    assert _unchanged(settings) == before


def test_a_carried_row_holding_an_identifier_new_since_the_base_stops_publication(con, settings):
    # Carol's row says "Zebedee" when the base is written: no identifier then
    con.execute("update marts.journey set service_type = 'Zebedee' where person_key <> ?", [KEY_A])
    _complete_build(con, BUILT)
    publish(settings, con)
    # tonight a record names someone Zebedee; only Alice is affected, Carol's row is carried over
    con.execute("insert into linkage.source_person (source_dataset, source_person_id, first_name) "
                "values ('asc_cld', 'E08000035|C009', 'Zebedee')")
    _night(con, ["P1"])
    before = _unchanged(settings)
    assert _plan(con, settings).mode == "incremental"
    with pytest.raises(PublishError, match=r"journey\.service_type: 1 row\(s\) hold a name"):
        publish(settings, con)
    assert _unchanged(settings) == before


def test_duckdb_1_1_reads_the_copy_written_on_the_base(based, settings, compat_python):  # noqa: F811 (the fixture)
    based.execute(f"update marts.hospital_spell set los_days = 7 where person_key = '{KEY_A}'")
    result = publish(settings, based)
    assert result.analyst_plan.mode == "incremental"
    completed = subprocess.run([str(compat_python), "-c", READ_EVERYTHING, str(settings.analyst_db)],
                               capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    read = json.loads(completed.stdout)
    assert read.pop("version").startswith("1.1.")
    assert {t: n for t, (n, _, _) in read.items()} == {t: result.row_counts[t] for t in read}
    assert read.keys() == set(ANALYST_TABLES) and all(comment for _, _, comment in read.values())
