"""The warehouse comparison the incremental tests and the benchmark rely on ("the same up to
id stability", warehouse_compare.py): it must see through person ids minted afresh, row
order and load numbers, and nothing else. Both forms: the exact ones the tests use
(canonical_tables, staging_rows) and the checksums of the 1M benchmark (table_checksums,
analyst_checksums)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from warehouse_compare import analyst_checksums, canonical_tables, staging_rows, table_checksums

from dagster_project.publish.core import ANALYST_TABLES

# Two people, the second with a death event (journey's event_id carries the person_key).
PEOPLE = [  # person_id, person_key, identities
    ("p1", "k1", [("hes_apc", "A1"), ("asc_cld", "C7")]),
    ("p2", "k2", [("csds", "M3")]),
]
JOURNEY = [("k1", "spell-1", 1), ("k1", "contact-9", 2), ("k2", "death|k2", 1)]
SPELLS = [("p1", "spell-1", 71), ("p2", "spell-2", 88)]
EPISODES = [("e1", 1, "A01"), ("e2", 1, "I21")]  # episode_id, _load_id, diagnosis


def _warehouse(path: Path, people=PEOPLE, journey=JOURNEY, spells=SPELLS, episodes=EPISODES) -> Path:
    path.mkdir()
    database = path / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    con.execute("""create schema linkage; create schema intermediate; create schema marts; create schema staging;
        create table staging.stg_hes_apc__episodes (episode_id varchar, _load_id integer, diagnosis varchar);
        create table linkage.person (person_id varchar, person_key varchar);
        create table linkage.record_person (person_id varchar, source_dataset varchar, source_person_id varchar);
        create table marts.journey (person_key varchar, event_id varchar, event_seq integer);
        create table intermediate.int_hospital__spells (person_id varchar, spell_id varchar, age integer)""")
    for person_id, person_key, identities in people:
        con.execute("insert into linkage.person values (?, ?)", [person_id, person_key])
        con.executemany("insert into linkage.record_person values (?, ?, ?)",
                        [(person_id, dataset, source_id) for dataset, source_id in identities])
    con.executemany("insert into marts.journey values (?, ?, ?)", journey)
    con.executemany("insert into intermediate.int_hospital__spells values (?, ?, ?)", spells)
    con.executemany("insert into staging.stg_hes_apc__episodes values (?, ?, ?)", episodes)
    con.close()
    return database


def _renamed(value: str) -> str:
    """Ids a full rebuild would mint afresh: p1 -> q1, k2 -> m2, death|k2 -> death|m2."""
    return value.replace("p", "q").replace("|k", "|m") if value.startswith(("p", "death|")) else \
        value.replace("k", "m") if value.startswith("k") else value


@pytest.fixture
def original(tmp_path) -> Path:
    return _warehouse(tmp_path / "original")


def test_ids_minted_afresh_and_row_order_compare_equal(original, tmp_path):
    people = [(_renamed(i), _renamed(k), list(reversed(ids))) for i, k, ids in reversed(PEOPLE)]
    journey = [(_renamed(k), _renamed(e), s) for k, e, s in reversed(JOURNEY)]
    spells = [(_renamed(i), s, a) for i, s, a in reversed(SPELLS)]
    # loaded in other loads (night by night against all at once)
    episodes = [(e, load + 5, d) for e, load, d in reversed(EPISODES)]
    rebuilt = _warehouse(tmp_path / "rebuilt", people, journey, spells, episodes)
    assert canonical_tables(rebuilt) == canonical_tables(original)
    assert staging_rows(rebuilt) == staging_rows(original)
    assert table_checksums(rebuilt) == table_checksums(original)
    assert set(table_checksums(original)) == {"marts.journey", "intermediate.int_hospital__spells",
                                              "staging.stg_hes_apc__episodes",
                                              "linkage.record_person (identities put together)"}


@pytest.mark.parametrize("change", ["a value", "an event of another person", "identities put together otherwise",
                                    "a row missing"])
def test_any_other_difference_is_seen(original, tmp_path, change):
    people, journey, spells = PEOPLE, JOURNEY, SPELLS
    if change == "a value":
        spells = [("p1", "spell-1", 71), ("p2", "spell-2", 89)]
    elif change == "an event of another person":
        journey = [("k1", "spell-1", 1), ("k2", "contact-9", 2), ("k2", "death|k2", 1)]
    elif change == "identities put together otherwise":   # C7 linked to the second person instead
        people = [("p1", "k1", [("hes_apc", "A1")]), ("p2", "k2", [("csds", "M3"), ("asc_cld", "C7")])]
    else:
        journey = JOURNEY[:-1]
    other = _warehouse(tmp_path / "other", people, journey, spells)
    exact, expected_exact = canonical_tables(other), canonical_tables(original)
    checksums, expected_checksums = table_checksums(other), table_checksums(original)
    assert exact != expected_exact
    # the checksums name the same tables as differing as the exact comparison
    assert {name for name in exact if exact[name] != expected_exact[name]} \
        == {name for name in checksums if checksums[name] != expected_checksums[name]
            and not name.startswith(("linkage.", "staging."))} != set()


def test_a_staging_difference_is_seen(original, tmp_path):
    other = _warehouse(tmp_path / "other", episodes=[("e1", 1, "A01"), ("e2", 1, "I22")])
    assert staging_rows(other) != staging_rows(original)
    checksums, expected = table_checksums(other), table_checksums(original)
    assert {name for name in checksums if checksums[name] != expected[name]} == {"staging.stg_hes_apc__episodes"}


def _analyst_copy(folder: Path, parquet_age_shift: int = 0) -> Path:
    """A copy's version folder: its database, and a Parquet file per table holding the same
    rows, or with every age shifted."""
    folder.mkdir()
    con = duckdb.connect(str(folder / "carejourney.duckdb"))
    con.execute("create schema marts")
    for table in ANALYST_TABLES:
        con.execute(f"create table marts.{table} as select * from (values ('x1', 70), ('x2', 81)) v(person_key, age)")
        con.execute(f"copy (select person_key, age + {parquet_age_shift} as age from marts.{table}) "
                    f"to '{folder / (table + '.parquet')}' (format parquet)")
    con.close()
    return folder


def test_analyst_copies_compare_by_database_and_parquet(tmp_path):
    same = analyst_checksums(_analyst_copy(tmp_path / "a"))
    assert same == analyst_checksums(_analyst_copy(tmp_path / "b"))
    assert set(same) == {f"{t} ({kind})" for t in ANALYST_TABLES for kind in ("database", "Parquet")}
    other = analyst_checksums(_analyst_copy(tmp_path / "c", parquet_age_shift=1))
    assert {name for name in same if same[name] != other[name]} == {f"{t} (Parquet)" for t in ANALYST_TABLES}
