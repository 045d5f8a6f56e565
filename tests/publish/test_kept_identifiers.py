"""publish's kept identifier tables (publish/kept_identifiers.py) equal a whole build after every night.

A sequence of nights on the tiny warehouse, each changing raw_current (through raw, as
ingest does) and linkage.source_person as that night would: a new delivery, a correcting
re-delivery, a retraction that takes a value away from its only record, a late file, an
opt-out. After each, the kept tables, brought up to date, must equal the identifier tables
built whole from the same warehouse, row for row; and the nights that may be brought up to
date must be (not built whole).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest
from warehouse_fixture import ALICE_NHS, CLD_ROWS, HES_ROWS, insert_raw, valid_nhs_number

from dagster_project.publish import identifiers, kept_identifiers
from dagster_project.settings import Settings

CAROL_NHS = valid_nhs_number("555666777")


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def _whole(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    values, tokens = identifiers.build_identifier_tables(con)
    return {"values": _rows(con, values), "tokens": _rows(con, tokens), "allowed": _rows(con, tokens + "_allowed")}


def _kept_and_plan(con: duckdb.DuckDBPyConnection,
                   settings: Settings) -> tuple[dict[str, list[tuple]], kept_identifiers.IdentifierPlan]:
    (values, tokens), plan = kept_identifiers.build(con, settings, "_kept_values", "_kept_tokens")
    return {"values": _rows(con, values), "tokens": _rows(con, tokens), "allowed": _rows(con, tokens + "_allowed")}, plan


def _kept(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[dict[str, list[tuple]], str]:
    kept, plan = _kept_and_plan(con, settings)
    return kept, plan.mode


def _source_person(con: duckdb.DuckDBPyConnection, source_person_id: str, **changes: str | None) -> None:
    sets = ", ".join(f"{column} = ?" for column in changes)
    con.execute(f"update linkage.source_person set {sets} where source_person_id = ?",
                [*changes.values(), source_person_id])


def _held(tables: dict[str, list[tuple]], value: str, kind: str) -> bool:
    return (value, kind) in tables["values"]


def test_kept_tables_equal_a_whole_build_after_every_night(con, settings):
    kept, mode = _kept(con, settings)
    assert (kept, mode) == (_whole(con), kept_identifiers.WHOLE)  # first publish: nothing kept yet
    nights = {
        "a new delivery": lambda: (
            insert_raw(con, "hes_apc", [{**HES_ROWS[0], "EPIKEY": "E3", "NEWNHSNO": CAROL_NHS, "LOPATID": "L003",
                                         "DOB": "1961-05-04", "HOMEADD": "LS7 3QQ"}], load_id=6,
                       delivery=dt.date(2024, 7, 31)),
            con.execute("insert into linkage.source_person (source_dataset, source_person_id, nhs_number, "
                        "date_of_birth, postcode) values ('hes_apc', 'RXX|L003', ?, '1961-05-04', 'LS7 3QQ')",
                        [CAROL_NHS])),
        # Alice's HES postcode corrected: her old one is still on her CLD record, so it stays
        "a correcting re-delivery": lambda: (
            insert_raw(con, "hes_apc", [{**HES_ROWS[0], "HOMEADD": "LS1 4AP"}], load_id=7,
                       delivery=dt.date(2024, 8, 31)),
            _source_person(con, "RXX|L001", postcode="LS1 4AP")),
        # the council's record was someone else's: Alice's name, on no other record, leaves
        "a retraction": lambda: (
            insert_raw(con, "asc_cld", [{**CLD_ROWS[0], "First Name": "Carol", "Last Name": "Jones",
                                         "NHS Number": CAROL_NHS, "Date of Birth": "04/05/1961",
                                         "Postcode": "LS7 3QQ"}], load_id=8, delivery=dt.date(2024, 9, 30)),
            _source_person(con, "E08000035|C001", first_name="Carol", last_name="Jones", nhs_number=CAROL_NHS,
                           postcode="LS7 3QQ")),
        # an old version of Bob's episode (loses to the current one) and a new episode of an old period
        "a late file": lambda: insert_raw(
            con, "hes_apc", [{**HES_ROWS[1], "HOMEADD": "LS9 9XX"},
                             {**HES_ROWS[1], "EPIKEY": "E9", "LOPATID": "L009", "DOB": "1938-07-02"}],
            load_id=9, delivery=dt.date(2023, 1, 31)),
        "an opt-out": lambda: (
            insert_raw(con, "national_data_opt_out", [{"NHS_NUMBER": ALICE_NHS}], load_id=10),
            con.execute("delete from linkage.source_person where source_person_id = 'RXX|L002'")),
    }
    for name, change in nights.items():
        change()
        kept, mode = _kept(con, settings)
        assert kept == _whole(con), name
        assert mode == kept_identifiers.UPDATED, name
        if name == "a correcting re-delivery":
            assert _held(kept, "LS1 4AP", "postcode") and _held(kept, "LS1 4AB", "postcode")
        if name == "a retraction":
            assert not _held(kept, "Alice", "name") and ("alice", "name") not in kept["tokens"]
            # Alice's old postcode was last on this record too
            assert _held(kept, "Carol", "name") and not _held(kept, "LS1 4AB", "postcode")
        if name == "a late file":
            assert not _held(kept, "LS9 9XX", "postcode") and _held(kept, "1938-07-02", "date of birth")


def _kept_tables(con: duckdb.DuckDBPyConnection) -> list[list[tuple]]:
    return [_rows(con, t) for t in (kept_identifiers.VALUES, kept_identifiers.TOKENS, kept_identifiers.STATE)]


def _retract_alice(con: duckdb.DuckDBPyConnection) -> None:
    insert_raw(con, "asc_cld", [{**CLD_ROWS[0], "First Name": "Carol"}], load_id=6, delivery=dt.date(2024, 7, 31))
    _source_person(con, "E08000035|C001", first_name="Carol")


def test_built_whole_when_the_kept_tables_cannot_be_trusted(con, settings):
    _kept(con, settings)
    kept, plan = _kept_and_plan(con, dataclasses.replace(settings, pseudo_key="another-secret"))
    assert (kept, plan.mode) == (_whole(con), kept_identifiers.WHOLE) and "pseudonymisation key" in plan.reason
    assert _kept(con, settings)[1] == kept_identifiers.WHOLE  # and back
    # a full-rebuild night builds them whole once; publish again the same night brings them up to date
    con.execute("create table ops.incremental_night as select now()::timestamp as decided_at, 'full' as mode, "
                "null::timestamp as baseline_built_at")
    modes = [_kept_and_plan(con, settings)[1] for _ in range(2)]
    assert [(p.mode, p.reason) for p in modes] == [(kept_identifiers.WHOLE, "tonight's dbt build was a full rebuild"),
                                                   (kept_identifiers.UPDATED, modes[1].reason)]
    # counts changed by hand: an update would take one below 0
    con.execute(f"update {kept_identifiers.VALUES} set n = 0")
    _retract_alice(con)
    kept, plan = _kept_and_plan(con, settings)
    assert (kept, plan.mode) == (_whole(con), kept_identifiers.WHOLE) and "below 0" in plan.reason
    con.execute(f"delete from {kept_identifiers.STATE}")
    kept, plan = _kept_and_plan(con, settings)
    assert (kept, plan.mode) == (_whole(con), kept_identifiers.WHOLE) and "0 rows" in plan.reason
    con.execute(f"create or replace table {kept_identifiers.STATE} (something_else integer)")
    kept, plan = _kept_and_plan(con, settings)
    assert (kept, plan.mode) == (_whole(con), kept_identifiers.WHOLE) and "cannot be read" in plan.reason
    assert _kept(con, settings)[1] == kept_identifiers.UPDATED


def test_an_update_killed_part_way_leaves_the_old_state(con, settings, monkeypatch):
    _kept(con, settings)
    before = _kept_tables(con)
    _retract_alice(con)
    applied = []

    def apply_then_die(*args):
        if applied:  # the values applied, the tokens not yet
            raise KeyboardInterrupt
        applied.append(real_apply(*args))

    real_apply = kept_identifiers._apply
    monkeypatch.setattr(kept_identifiers, "_apply", apply_then_die)
    with pytest.raises(KeyboardInterrupt):
        kept_identifiers.build(con, settings)
    assert _kept_tables(con) == before
    monkeypatch.setattr(kept_identifiers, "_apply", real_apply)
    kept, mode = _kept(con, settings)
    assert (kept, mode) == (_whole(con), kept_identifiers.UPDATED)
