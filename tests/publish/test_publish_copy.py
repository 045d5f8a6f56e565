"""Publish: contract paths of both tiers, no identifiers, no opted-out people, atomic swap, old copies kept on failure."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest
from warehouse_fixture import ALICE_NHS, IDENTIFIERS, KEY_B, PSEUDO_KEY

from dagster_project.publish import pseudonymise
from dagster_project.publish.core import (
    ANALYST_TABLES,
    PUBLISHED_TABLES,
    PublishError,
    publish,
)


def _snapshot(published: Path) -> dict[str, str]:
    """Where `published` (and `analyst` beside it) point and the sha256 of every file in them."""
    out = {}
    for folder in (published, published.parent / "analyst"):
        if folder.exists():
            out[f"{folder.name} ->"] = os.readlink(folder)
            out |= {f"{folder.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in sorted(folder.iterdir())}
    return out


def _tiers(settings) -> list[tuple[Path, tuple[str, ...]]]:
    return [(settings.published_dir, PUBLISHED_TABLES), (settings.analyst_dir, ANALYST_TABLES)]


def _published_cells(settings) -> list[tuple[str, str, object]]:
    """(table, column, value) of every cell of every table of both copies, database and Parquet."""
    cells = []
    for folder, tables in _tiers(settings):
        db = duckdb.connect(str(folder / "carejourney.duckdb"), read_only=True)
        for table in tables:
            for source, relation in (("db", f"marts.{table}"),
                                     ("parquet", f"read_parquet('{folder / (table + '.parquet')}')")):
                frame = db.execute(f"select * from {relation}").df()
                cells += [(f"{source}:{table}", col, v) for col in frame.columns for v in frame[col]]
        db.close()
    return cells


def test_publish_writes_the_contract_paths_with_every_table(con, settings):
    result = publish(settings, con)
    assert set(PUBLISHED_TABLES) == {"system_metrics", "system_metrics_by_age_sex", "pathway_transitions",
                                     "pathway_index_events", "data_quality", "data_quality_opt_out",
                                     "metric_definitions", "code_labels", "readme"}
    assert set(ANALYST_TABLES) == {"person", "journey", "hospital_spell"}
    for folder, tables in _tiers(settings):
        assert folder.is_symlink() and (folder / "carejourney.duckdb").exists()
        db = duckdb.connect(str(folder / "carejourney.duckdb"), read_only=True)
        found = {r[0] for r in db.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        assert found == set(tables)
        for table in tables:
            assert (folder / f"{table}.parquet").exists()
            assert db.execute(f"select count(*) from marts.{table}").fetchone()[0] == result.row_counts[table]
        db.close()
    assert result.row_counts["person"] == 2 and result.row_counts["journey"] == 3
    assert settings.analyst_dir.resolve() == result.analyst_version_dir


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
    # Bob's person key and his hospital spell (raw_current.hes_apc), as sent and as pseudonymised
    spell_pseudonym = con.execute(
        f"select {pseudonymise.select_list({'spell_id': 'VARCHAR'}, PSEUDO_KEY)[0]} from (select 'RXX|S2' as spell_id)",
        pseudonymise.select_list({"spell_id": "VARCHAR"}, PSEUDO_KEY)[1]).fetchone()[0]
    bobs = {KEY_B, "RXX|S2", spell_pseudonym}
    assert [c for c in _published_cells(settings) if str(c[2]) in bobs] == []
    db = duckdb.connect(str(settings.analyst_db), read_only=True)
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
    db = duckdb.connect(str(settings.analyst_db), read_only=True)
    assert "postcode" not in db.execute("select * from marts.person").df().columns
    db.close()


@pytest.mark.parametrize("leak_sql", [
    "update marts.journey set provider_code = '{nhs}'",
    "update marts.journey set service_type = 'LS1 4AB'",
    "update marts.data_quality set table_name = 'Smith'",
    "update marts.journey set la_code = 'RXX|L001'",
    "update marts.system_metrics set note = 'Alice'",
])
def test_an_identifier_value_in_any_column_stops_publication_and_keeps_the_old_copy(con, settings, leak_sql):
    publish(settings, con)
    before = _snapshot(settings.published_dir)
    con.execute(leak_sql.format(nhs=ALICE_NHS))
    with pytest.raises(PublishError, match="failed verification"):
        publish(settings, con)
    assert _snapshot(settings.published_dir) == before
    for tier in ("published", "analyst"):
        versions = list((settings.warehouse_dir / f"{tier}_versions").iterdir())
        assert len(versions) == 1, tier  # the refused copies were discarded


def test_a_column_without_a_dbt_description_stops_publication(con, settings):
    con.execute("alter table marts.person add column born date")
    with pytest.raises(PublishError, match="no description for marts.person.born"):
        publish(settings, con)
    assert not settings.published_dir.exists() and not settings.analyst_dir.exists()


def test_a_date_of_birth_under_another_name_is_found_by_the_scan(con, settings):
    """The scan behind every copy: a date column equal to each person's own date of birth."""
    from dagster_project.publish import identifiers
    con.execute("create schema leak")
    con.execute("""create table leak.person as select p.person_key, sp.date_of_birth as born
                   from linkage.person p join linkage.record_person rp using (person_id)
                   join linkage.source_person sp using (source_dataset, source_person_id)""")
    catalog = con.execute("select current_database()").fetchone()[0]
    findings = identifiers.scan_database(con, catalog, "leak", identifiers.build_identifier_table(con))
    assert [f.kind for f in findings if f.column == "born"] == ["date of birth of the same person (4 of 4 rows)"]


def test_a_person_key_not_made_with_this_secret_stops_publication(con, settings):
    from dataclasses import replace
    with pytest.raises(PublishError, match="CAREJOURNEY_PSEUDO_KEY"):
        publish(replace(settings, pseudo_key="another-secret"), con)


def test_every_table_and_column_is_described_in_the_database_and_the_parquet(con, settings):
    import pyarrow.parquet as pq
    publish(settings, con)
    for folder, tables in _tiers(settings):
        db = duckdb.connect(str(folder / "carejourney.duckdb"), read_only=True)
        undescribed = db.execute("""select table_name, column_name from duckdb_columns()
                                    where schema_name = 'marts' and coalesce(comment, '') = ''""").fetchall()
        table_comments = dict(db.execute("select table_name, comment from duckdb_tables()").fetchall())
        db.close()
        assert undescribed == []
        for table in tables:
            schema = pq.read_schema(folder / f"{table}.parquet")
            assert schema.metadata[b"description"].decode() == table_comments[table]
            assert all(field.metadata and field.metadata[b"description"] for field in schema), table
    db = duckdb.connect(str(settings.analyst_db), read_only=True)
    (event_id,), = db.execute("""select comment from duckdb_columns() where table_name = 'journey'
                                 and column_name = 'event_id'""").fetchall()
    db.close()
    assert "keyed pseudonym" in event_id  # the tier says what it did to the dbt description


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


def test_person_level_rows_in_the_published_tier_stop_publication(con, settings):
    con.execute("alter table marts.data_quality add column person_key varchar")
    with pytest.raises(PublishError, match="data_quality has person_key"):
        publish(settings, con)
    assert not settings.published_dir.exists() and not settings.analyst_dir.exists()


def test_a_published_mart_without_a_disclosure_rule_stops_publication(con, settings, monkeypatch):
    from dagster_project.publish import core
    rules = {t: rule for t, rule in core.DISCLOSURE_CONTROLLED.items() if t != "pathway_index_events"}
    monkeypatch.setattr(core, "DISCLOSURE_CONTROLLED", rules)
    with pytest.raises(PublishError, match="pathway_index_events .*no disclosure rule"):
        publish(settings, con)


def test_a_plain_published_directory_from_an_older_layout_is_kept_as_the_previous_version(con, settings):
    settings.published_dir.mkdir(parents=True)
    (settings.published_dir / "carejourney.duckdb").write_bytes(b"old copy")
    result = publish(settings, con)
    assert settings.published_dir.is_symlink()
    assert (result.previous_version_dir / "carejourney.duckdb").read_bytes() == b"old copy"


def test_each_parquet_file_holds_the_rows_of_its_own_table(con, settings):
    """Each Parquet file holds exactly the rows of the table of its name, in both copies."""
    publish(settings, con)
    for folder, tables in _tiers(settings):
        db = duckdb.connect(str(folder / "carejourney.duckdb"), read_only=True)
        for table in tables:
            parquet = f"read_parquet('{folder / (table + '.parquet')}')"
            assert db.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0, table
            for left, right in ((f"marts.{table}", parquet), (parquet, f"marts.{table}")):
                extra = db.execute(f"select count(*) from (select * from {left} except all select * from {right})")
                assert extra.fetchone()[0] == 0, (folder.name, table, left)
        db.close()


@pytest.mark.parametrize("tier_tables", [ANALYST_TABLES, PUBLISHED_TABLES], ids=["analyst", "published"])
def test_a_failed_parquet_write_stops_publication_and_keeps_the_old_copy(con, settings, monkeypatch, tier_tables):
    """A Parquet file that cannot be written (here: the first table of a tier) stops
    publication with its error; both old copies stay and the new versions are discarded."""
    from dagster_project.publish import documentation

    publish(settings, con)
    before = _snapshot(settings.published_dir)
    real_write = documentation.write_parquet
    failing = f"{tier_tables[0]}.parquet"

    def write(con, relation, path, doc):
        if path.name == failing:
            raise OSError(28, "No space left on device", str(path))
        real_write(con, relation, path, doc)

    monkeypatch.setattr(documentation, "write_parquet", write)
    with pytest.raises(OSError, match="No space left on device"):
        publish(settings, con)
    assert _snapshot(settings.published_dir) == before
    for tier in ("published", "analyst"):
        assert len(list((settings.warehouse_dir / f"{tier}_versions").iterdir())) == 1, tier
