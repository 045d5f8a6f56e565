"""The night's plan (runs/incremental.py) on a hand-made warehouse: when a night is a
full rebuild, and which people an incremental night recomputes. No dbt, no linkage:
the tables the plan reads are written here as the nightly job would leave them."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dagster_project import contract
from dagster_project.dbt.project import dbt_project
from dagster_project.ingest.schema import ensure_schema, refresh_current
from dagster_project.runs import incremental, nothing_new, staging_plan
from dagster_project.settings import Settings

KEY = "7c2e9a4b1d3f5e6a8b0c2d4e6f8a0b1c" "3d5e7f9a1b2c3d4e5f6a7b8c9d0e1f2a"
AS_OF = dt.date(2024, 3, 31)


@pytest.fixture
def warehouse(tmp_path):
    settings = Settings.from_env(tmp_path / "landing", tmp_path / "warehouse", None, pseudo_key=KEY)
    settings.warehouse_dir.mkdir()
    con = duckdb.connect(str(settings.warehouse_db))
    ensure_schema(con)
    con.execute("""
        create schema linkage; create schema intermediate; create schema staging; create schema seeds;
        create table linkage.record_person (source_dataset varchar, source_person_id varchar, person_id varchar,
                                            match_probability double, match_rule varchar);
        create table linkage.person (person_id varchar);
        create table intermediate.int_run__as_of (as_of_date date);
        create table intermediate.int_hospital__spells (person_id varchar, spell_id varchar, discharge_date date);
        create table staging.stg_hes_apc__episodes (source_dataset varchar, source_person_id varchar,
                                                    spell_id varchar);
        create table seeds.metric_definitions (metric_id varchar, followup_days integer);
        insert into seeds.metric_definitions values ('a', 30), ('b', 91), ('c', null);
    """)
    con.execute("insert into intermediate.int_run__as_of values (?)", [AS_OF])
    # Five people with one HES identity each (P5 has two); P2 and P3 share spell S23.
    people = {"P1": ["A"], "P2": ["B"], "P3": ["C"], "P4": ["D"], "P5": ["E", "F"]}
    for person, identities in people.items():
        con.execute("insert into linkage.person values (?)", [person])
        for identity in identities:
            con.execute("insert into linkage.record_person values ('hes_apc', ?, ?, null, 'singleton')",
                        [f"RR8|{identity}", person])
    episodes = [("A", "S1", "E1"), ("B", "S23", "E2"), ("C", "S23", "E3"), ("D", "S4", "E4"), ("E", "S5", "E5")]
    for lopatid, spell, epikey in episodes:
        _hes_row(con, epikey, lopatid, spell, load_id=1)
        con.execute("insert into staging.stg_hes_apc__episodes values ('hes_apc', ?, ?)",
                    [f"RR8|{lopatid}", f"RR8|{spell}"])
    spells = [("P1", "S1", AS_OF - dt.timedelta(days=300)), ("P2", "S23", AS_OF - dt.timedelta(days=300)),
              ("P3", "S23", AS_OF - dt.timedelta(days=300)), ("P4", "S4", AS_OF - dt.timedelta(days=20)),
              ("P5", "S5", AS_OF - dt.timedelta(days=200))]
    con.executemany("insert into intermediate.int_hospital__spells values (?, ?, ?)", spells)
    _ledger(con, 1, "hes_apc")
    yield settings, con
    con.close()


def _hes_row(con, epikey: str, lopatid: str, spell: str, load_id: int) -> None:
    # a row is its load and line (ingest.schema.current_rows_sql): each row its own line
    con.execute("""insert into raw.hes_apc ("EPIKEY", "PROCODE3", "LOPATID", "PROVSPNOPS", _load_id, _line_number)
                   select ?, 'RR8', ?, ?, ?, count(*) + 2 from raw.hes_apc where _load_id = ?""",
                [epikey, lopatid, spell, load_id, load_id])
    refresh_current(con, contract.HES_APC)  # as ingest does after its files


def _ledger(con, load_id: int, table: str) -> None:
    con.execute("""insert into ops.load_ledger (load_id, source, table_name, file_name, file_path, sha256,
                                                size_bytes, status, started_at, finished_at)
                   values (?, ?, ?, ?, ?, ?, 1, 'loaded', now()::timestamp, now()::timestamp)""",
                [load_id, "reference" if table != "hes_apc" else "hes_apc", table, f"{table}_{load_id}.csv",
                 f"/landing/{table}_{load_id}.csv", str(load_id)])


def _affected(con) -> set[str]:
    return {p for (p,) in con.execute("select person_id from linkage.affected_person").fetchall()}


def _records_changed(con) -> dict[str, bool]:
    return dict(con.execute("select person_id, records_changed from linkage.affected_person").fetchall())


def _baseline(settings, con) -> None:
    incremental.mark_built(con, incremental.plan_night(con, settings))


def test_the_first_night_is_full_and_an_unchanged_one_recomputes_nobody(warehouse):
    settings, con = warehouse
    first = incremental.plan_night(con, settings)
    assert first.full and "no complete build" in first.reason
    incremental.mark_built(con, first)
    second = incremental.plan_night(con, settings)
    assert second.mode == "incremental" and second.n_affected == 0 and _affected(con) == set()


def test_a_corrected_record_affects_its_old_and_new_person_and_everyone_sharing_their_spell(warehouse):
    settings, con = warehouse
    _baseline(settings, con)
    # Episode E1 re-delivered naming patient D (P4) instead of A (P1): both change.
    _hes_row(con, "E1", "D", "S1", load_id=2)
    _ledger(con, 2, "hes_apc")
    plan = incremental.plan_night(con, settings)
    assert plan.mode == "incremental"
    assert _affected(con) == {"P1", "P4"}
    # A new episode of B (P2): P3 shares spell S23 with P2, so is recomputed too.
    incremental.mark_built(con, plan)
    _hes_row(con, "E9", "B", "S23", load_id=3)
    _ledger(con, 3, "hes_apc")
    incremental.plan_night(con, settings)
    assert _affected(con) == {"P2", "P3"}
    # both rebuilt by every per-person model: P2's records changed, P3's spell with them
    assert _records_changed(con) == {"P2": True, "P3": True}
    keys = dict(con.execute("select person_id, person_key from linkage.affected_person").fetchall())
    from dagster_project.linkage.link import person_key
    assert keys["P2"] == person_key("P2", KEY)


def test_a_changed_link_affects_the_old_and_the_new_person(warehouse):
    settings, con = warehouse
    _baseline(settings, con)
    # Linkage moves identity F from P5 to P4 (a split and a merge); nothing loaded.
    con.execute("update linkage.record_person set person_id = 'P4' where source_person_id = 'RR8|F'")
    incremental.plan_night(con, settings)
    assert _affected(con) == {"P4", "P5"}


def test_an_as_of_moving_on_recomputes_people_with_a_follow_up_window_open(warehouse):
    settings, con = warehouse
    _baseline(settings, con)
    con.execute("update intermediate.int_run__as_of set as_of_date = ?", [AS_OF + dt.timedelta(days=30)])
    incremental.plan_night(con, settings)
    # P4 was discharged 20 days before the old as-of: within the longest window (91 days).
    # Only the models reading the as-of date rebuild P4: no record of theirs changed.
    assert _records_changed(con) == {"P4": False}
    plan = incremental.plan_night(con, settings)
    assert "(all by the as-of date alone)" in plan.reason
    # A new episode of P4 on the same move of the as-of date: P4 is rebuilt by every model.
    _hes_row(con, "E8", "D", "S4", load_id=2)
    _ledger(con, 2, "hes_apc")
    assert "(all by their records or links)" in incremental.plan_night(con, settings).reason
    assert _records_changed(con) == {"P4": True}
    con.execute("update intermediate.int_run__as_of set as_of_date = ?", [AS_OF - dt.timedelta(days=1)])
    assert incremental.plan_night(con, settings).full   # moved back


@pytest.mark.parametrize("change", ["opt-out list", "code", "key", "full refresh"])
def test_a_change_that_can_reach_anyone_makes_the_night_full(warehouse, monkeypatch, change):
    settings, con = warehouse
    _baseline(settings, con)
    if change == "opt-out list":
        _ledger(con, 2, "national_data_opt_out")
    elif change == "code":
        monkeypatch.setattr(nothing_new, "code_fingerprint", lambda: "another version")
    elif change == "key":
        settings = Settings.from_env(settings.landing_dir, settings.warehouse_dir, None, pseudo_key=KEY[::-1])
    else:
        incremental.forget_baseline(con)
    plan = incremental.plan_night(con, settings)
    assert plan.full, plan
    assert _affected(con) == set()   # a full night needs no list


def test_most_people_affected_is_a_full_rebuild(warehouse):
    settings, con = warehouse
    _baseline(settings, con)
    con.execute("update linkage.record_person set match_probability = 0.95")
    plan = incremental.plan_night(con, settings)
    assert plan.full and "as cheap to rebuild all" in plan.reason


# The half before linkage (runs/staging_plan.py): seeds and staging of sources with no load
# since the baseline are left as that build left them.
def _staging(settings, con) -> staging_plan.StagingPlan:
    return staging_plan.plan_staging(con, settings, dbt_project.manifest_path)


def test_before_linkage_only_the_sources_loaded_since_the_baseline_are_built_and_tested(warehouse):
    settings, con = warehouse
    assert _staging(settings, con).exclude_selectors() == []   # no baseline: all of it
    _baseline(settings, con)
    assert _staging(settings, con).unchanged == ("asc_cld", "csds", "hes_apc", "reference")
    _ledger(con, 2, "hes_apc")
    _ledger(con, 3, "csds_cyp101_referral")   # a load of any one of a folder's tables
    plan = _staging(settings, con)
    assert plan.unchanged == ("asc_cld", "reference") and "since load 1" in plan.reason
    assert plan.exclude_selectors() == ["resource_type:seed", "path:models/staging/asc_cld",
                                        "path:models/staging/reference"]
    for load_id, table in enumerate(("asc_cld", "deaths"), start=4):
        _ledger(con, load_id, table)
    assert _staging(settings, con).exclude_selectors() == []   # every source loaded


def test_before_linkage_everything_builds_when_the_code_changed(warehouse):
    settings, con = warehouse
    _baseline(settings, con)
    con.execute(f"update {incremental.BASELINE} set code_fingerprint = 'an older release'")
    plan = _staging(settings, con)
    assert plan.unchanged == () and "code changed" in plan.reason
