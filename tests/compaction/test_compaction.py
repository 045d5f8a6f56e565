"""Compaction (dagster_project/compaction/compact.py): no connection of a run vacuums, and
the warehouse is vacuumed once deleted rows are a large share of some table."""
from __future__ import annotations

from pathlib import Path

import pytest

from dagster_project import duckdb_connection
from dagster_project.compaction import compact
from dagster_project.resources import CarejourneyResource
from dagster_project.settings import Settings

KEY = "cd" * 32
ROWS = 300_000   # a few of DuckDB's row groups (122,880 rows each)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                                 pseudo_key=KEY)
    settings.warehouse_dir.mkdir(parents=True)
    with duckdb_connection.connect(settings) as con:
        con.execute("create schema intermediate")
        con.execute(f"""create table intermediate.per_person as
                        select 'P' || i as person_id, md5(i::varchar) as person_key from range({ROWS}) r(i)""")
        con.execute("create table intermediate.untouched as select * from range(10) r(i)")
    return settings


def _nights(settings: Settings, nights: int, share: float) -> None:
    """Nights as an incremental build runs them: a share of the people's rows deleted and
    appended again, through the run's connections (which do not vacuum)."""
    for night in range(nights):
        with duckdb_connection.connect(settings) as con:
            con.execute(f"""create temp table affected as select person_id from intermediate.per_person
                            using sample {share * 100} percent (bernoulli, {night})""")
            con.execute("create temp table rebuilt as select * from intermediate.per_person "
                        "where person_id in (select person_id from affected)")
            con.execute("delete from intermediate.per_person where person_id in (select person_id from affected)")
            con.execute("insert into intermediate.per_person select * from rebuilt")


def _shares(settings: Settings) -> dict[str, float]:
    with duckdb_connection.connect(settings) as con:
        return compact.dead_row_shares(con)


def test_a_runs_connections_do_not_vacuum_and_compactions_does(settings):
    resource = CarejourneyResource(warehouse_dir=str(settings.warehouse_dir), pseudo_key=KEY)
    for connection in (duckdb_connection.connect(settings), duckdb_connection.connect_in_memory(settings)):
        with connection as con:
            assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] == 0
    with resource.connect() as con:   # what the run's steps use
        assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] == 0
    with duckdb_connection.connect(settings, vacuum=True) as con:
        assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] > 0


def test_deleted_rows_stay_stored_through_the_runs_checkpoints_and_are_counted(settings):
    # DuckDB's estimated_size counts stored rows, deleted ones included: the share relies on it
    _nights(settings, 1, 0.2)
    shares = _shares(settings)
    assert 0.12 < shares["intermediate.per_person"] < 0.25, shares
    assert "intermediate.untouched" not in shares   # smaller than a row group: not counted


def test_below_the_share_nothing_is_vacuumed(settings):
    _nights(settings, 1, 0.2)
    before = _shares(settings)
    result = compact.compact_if_due(settings)
    assert not result.vacuumed and result.worst_table == "intermediate.per_person"
    assert "not vacuumed" in result.describe()
    assert _shares(settings) == before


def test_past_the_share_one_checkpoint_reclaims_the_deleted_rows_of_every_table(settings):
    _nights(settings, 4, 0.2)   # about 40% of the stored rows deleted
    with duckdb_connection.connect(settings) as con:
        live = con.execute("select count(*), count(distinct person_id) from intermediate.per_person").fetchone()
    assert _shares(settings)["intermediate.per_person"] >= compact.COMPACT_AT_DEAD_SHARE
    result = compact.compact_if_due(settings)
    assert result.vacuumed and result.worst_share >= compact.COMPACT_AT_DEAD_SHARE
    assert result.worst_share_after < 0.1 and "vacuumed" in result.describe()
    after = _shares(settings)
    assert after["intermediate.per_person"] < 0.1, after
    with duckdb_connection.connect(settings) as con:
        assert con.execute("select count(*), count(distinct person_id) from intermediate.per_person").fetchone() == live
        logged = con.execute(f"select worst_table, worst_share, worst_share_after from {compact.LOG}").fetchall()
    assert logged == [("intermediate.per_person", result.worst_share, result.worst_share_after)]


def test_an_empty_warehouse_has_nothing_to_compact(tmp_path):
    settings = Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                                 pseudo_key=KEY)
    settings.warehouse_dir.mkdir(parents=True)
    result = compact.compact_if_due(settings)
    assert not result.vacuumed and result.describe() == "no table to compact"
    with duckdb_connection.connect(settings) as con:
        con.execute("create table t as select 1 as i")
    assert compact.compact_if_due(settings).describe() == "no table to compact"   # below a row group
    with duckdb_connection.connect(settings) as con:
        con.execute(f"create table u as select * from range({compact.MIN_ROWS_COUNTED}) r(i)")
    assert compact.compact_if_due(settings).describe() == "not vacuumed: no table holds deleted rows"


def test_another_database_is_compacted_by_the_same_rule_and_left_without_a_log(settings, tmp_path):
    # publish compacts the analyst copy it wrote on last night's (publish/core.py) this way
    copy = tmp_path / "copy.duckdb"
    with duckdb_connection.connect(settings, copy) as con:
        con.execute(f"create table journey as select 'K' || i as person_key from range({ROWS}) r(i)")
        con.execute("create temp table kept as select * from journey where hash(person_key) % 4 <> 0")
        con.execute("delete from journey where hash(person_key) % 4 <> 0")
        con.execute("insert into journey select * from kept")
    result = compact.compact_if_due(settings, copy)
    assert result.vacuumed and result.worst_table == "main.journey" and result.worst_share_after < 0.1
    with duckdb_connection.connect(settings, copy) as con:
        assert con.execute("select count(*) from journey").fetchone()[0] == ROWS
        assert [t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()] == ["journey"]
    assert compact.LOG.split(".")[1] not in str(_shares(settings))   # the warehouse untouched


def test_the_share_is_the_callers_rule(settings):
    # the nightly job's safety share is higher than the weekly job's (compaction/assets.py)
    _nights(settings, 2, 0.2)   # about a quarter deleted
    assert not compact.compact_if_due(settings, at_share=compact.NIGHTLY_SAFETY_SHARE).vacuumed
    result = compact.compact_if_due(settings, at_share=0.2)
    assert result.vacuumed and result.share == 0.2 and result.worst_share_after < 0.1


def test_a_table_smaller_than_a_row_group_never_makes_a_night_compact(settings):
    # DuckDB may not shrink it, so counting it could make every night vacuum the warehouse
    with duckdb_connection.connect(settings) as con:
        for _ in range(5):
            con.execute("create or replace temp table kept as select * from intermediate.untouched")
            con.execute("delete from intermediate.untouched")
            con.execute("insert into intermediate.untouched select * from kept where i < 5")
            con.execute("insert into intermediate.untouched select * from kept where i >= 5")
    result = compact.compact_if_due(settings, at_share=0.01)
    assert not result.vacuumed and result.worst_table == "intermediate.per_person"
