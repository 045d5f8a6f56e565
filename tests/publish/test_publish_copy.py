"""Publish: contract paths, no identifiers, no opted-out people, atomic swap, old copy kept on failure."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish.core import PUBLISHED_TABLES, PublishError, publish
from warehouse_fixture import ALICE_NHS, IDENTIFIERS, KEY_B


def _snapshot(published: Path) -> dict[str, str]:
    """Where `published` points and the sha256 of every file in it."""
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(published.iterdir())}
    return {"->": os.readlink(published), **files}


def _published_cells(settings) -> list[tuple[str, str, object]]:
    """(table, column, value) of every cell of every published table, database and Parquet."""
    cells = []
    db = duckdb.connect(str(settings.published_db), read_only=True)
    for table in PUBLISHED_TABLES:
        for source, relation in (("db", f"marts.{table}"),
                                 ("parquet", f"read_parquet('{settings.published_dir / (table + '.parquet')}')")):
            frame = db.execute(f"select * from {relation}").df()
            cells += [(f"{source}:{table}", col, v) for col in frame.columns for v in frame[col]]
    db.close()
    return cells


def test_publish_writes_the_contract_paths_with_every_table(con, settings):
    result = publish(settings, con)
    assert settings.published_db.exists()
    db = duckdb.connect(str(settings.published_db), read_only=True)
    tables = {r[0] for r in db.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
    assert tables == set(PUBLISHED_TABLES)
    for table in PUBLISHED_TABLES:
        assert (settings.published_dir / f"{table}.parquet").exists()
        assert db.execute(f"select count(*) from marts.{table}").fetchone()[0] == result.row_counts[table]
    db.close()
    assert result.row_counts["person"] == 2 and result.row_counts["journey"] == 3


def test_no_identifier_from_the_landing_files_is_in_any_published_cell(con, settings):
    publish(settings, con)
    forbidden = {v: kind for kind, values in IDENTIFIERS.items() for v in values}
    cells = _published_cells(settings)
    assert cells  # the scan looked at something
    leaks = [(t, c, v, forbidden[str(v)]) for t, c, v in cells if str(v) in forbidden]
    assert leaks == []
    # dates of birth as dates, too
    dobs = {"1940-03-12", "1938-07-01", "1950-11-30"}
    assert [(t, c) for t, c, v in cells if str(v)[:10] in dobs] == []


def test_no_opted_out_person_contributes_to_any_published_table(con, settings):
    publish(settings, con)
    bobs = {KEY_B, "RXX|S2"}  # Bob's person key and his hospital spell (raw_current.hes_apc)
    assert [c for c in _published_cells(settings) if str(c[2]) in bobs] == []
    db = duckdb.connect(str(settings.published_db), read_only=True)
    assert db.execute("select count(*) from marts.person").fetchone()[0] == 2  # Alice and Carol only
    db.close()


def test_an_opted_out_person_in_the_marts_stops_publication(con, settings):
    publish(settings, con)
    before = _snapshot(settings.published_dir)
    con.execute("insert into marts.journey select * replace (? as person_key) from marts.journey limit 1", [KEY_B])
    with pytest.raises(PublishError, match="opted-out.*marts.journey: 1 row"):
        publish(settings, con)
    assert _snapshot(settings.published_dir) == before


def test_an_identifier_column_in_a_mart_is_dropped_from_the_published_copy(con, settings):
    con.execute("alter table marts.person add column postcode varchar")
    result = publish(settings, con)
    assert result.dropped_columns == {"person": ["postcode"]}
    db = duckdb.connect(str(settings.published_db), read_only=True)
    assert "postcode" not in db.execute("select * from marts.person").df().columns
    db.close()


@pytest.mark.parametrize("leak_sql", [
    "update marts.journey set provider_code = '{nhs}'",
    "update marts.journey set service_type = 'LS1 4AB'",
    "update marts.data_quality set file_name = 'Smith'",
    "update marts.journey set event_id = 'RXX|L001'",
])
def test_an_identifier_value_in_any_column_stops_publication_and_keeps_the_old_copy(con, settings, leak_sql):
    publish(settings, con)
    before = _snapshot(settings.published_dir)
    con.execute(leak_sql.format(nhs=ALICE_NHS))
    with pytest.raises(PublishError, match="failed verification"):
        publish(settings, con)
    assert _snapshot(settings.published_dir) == before
    versions = list((settings.warehouse_dir / "published_versions").iterdir())
    assert len(versions) == 1  # the refused copy was discarded


def test_a_date_of_birth_under_another_name_stops_publication(con, settings):
    con.execute("alter table marts.person add column born date")
    con.execute("""update marts.person set born = (select sp.date_of_birth from linkage.person p
                   join linkage.record_person rp using (person_id)
                   join linkage.source_person sp using (source_dataset, source_person_id)
                   where p.person_key = marts.person.person_key limit 1)""")
    with pytest.raises(PublishError, match="person.born: .*date of birth of the same person"):
        publish(settings, con)
    assert not settings.published_dir.exists()


def test_a_person_key_not_made_with_this_secret_stops_publication(con, settings):
    from dataclasses import replace
    with pytest.raises(PublishError, match="CAREJOURNEY_PSEUDO_KEY"):
        publish(replace(settings, pseudo_key="another-secret"), con)


def test_disclosure_controlled_tables_keep_the_warehouse_column_types(con, settings):
    publish(settings, con)
    db = duckdb.connect(str(settings.published_db), read_only=True)
    for table in ("system_metrics", "pathway_transitions"):
        published = dict(db.execute(f"select column_name, data_type from information_schema.columns "
                                    f"where table_name = '{table}'").fetchall())
        warehouse = dict(con.execute(f"select column_name, data_type from information_schema.columns "
                                     f"where table_schema = 'marts' and table_name = '{table}'").fetchall())
        assert {c: published[c] for c in warehouse} == warehouse
        assert published["suppressed"] == "BOOLEAN"
    db.close()


def test_published_aggregates_are_disclosure_controlled(con, settings):
    publish(settings, con)
    db = duckdb.connect(str(settings.published_db), read_only=True)
    pct = db.execute("""select numerator, denominator, value, suppressed from marts.system_metrics
                        where metric_id = 'discharged_usual_residence_pct'""").fetchone()
    assert pct == (40, 50, 80.0, False)  # 40/52 -> 40/50 = 80%
    small = db.execute("""select n_people, n_transitions, median_days, suppressed from marts.pathway_transitions
                          where from_state = 'reablement'""").fetchone()
    assert small == (None, None, None, True)
    db.close()


def test_a_second_publish_swaps_versions_and_keeps_only_the_previous_one(con, settings):
    first = publish(settings, con)
    second = publish(settings, con)
    third = publish(settings, con)
    assert third.previous_version_dir == second.version_dir
    assert not first.version_dir.exists()
    assert second.version_dir.exists() and third.version_dir.exists()
    assert settings.published_dir.resolve() == third.version_dir


def test_missing_marts_stop_publication_with_a_clear_message(con, settings):
    con.execute("drop table marts.pathway_transitions")
    with pytest.raises(PublishError, match="missing marts.pathway_transitions"):
        publish(settings, con)
    assert not settings.published_dir.exists()


def test_a_plain_published_directory_from_an_older_layout_is_kept_as_the_previous_version(con, settings):
    settings.published_dir.mkdir(parents=True)
    (settings.published_dir / "carejourney.duckdb").write_bytes(b"old copy")
    result = publish(settings, con)
    assert settings.published_dir.is_symlink()
    assert (result.previous_version_dir / "carejourney.duckdb").read_bytes() == b"old copy"
