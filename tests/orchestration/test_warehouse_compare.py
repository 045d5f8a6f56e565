"""The warehouse comparison the incremental tests and the benchmark rely on ("the same up to
id stability", warehouse_compare.py): it must see through person ids minted afresh, row
order and load numbers, and nothing else. Both forms: the exact one (canonical_tables) and the checksums the
1M benchmark uses (table_checksums)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from warehouse_compare import canonical_tables, staging_rows, table_checksums

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
                                    "a row missing", "a staging value"])
def test_any_other_difference_is_seen(original, tmp_path, change):
    people, journey, spells, episodes = PEOPLE, JOURNEY, SPELLS, EPISODES
    if change == "a staging value":
        episodes = [("e1", 1, "A01"), ("e2", 1, "I22")]
        assert staging_rows(_warehouse(tmp_path / "other", episodes=episodes)) != staging_rows(original)
        assert table_checksums(tmp_path / "other" / "warehouse.duckdb") != table_checksums(original)
        return
    if change == "a value":
        spells = [("p1", "spell-1", 71), ("p2", "spell-2", 89)]
    elif change == "an event of another person":
        journey = [("k1", "spell-1", 1), ("k2", "contact-9", 2), ("k2", "death|k2", 1)]
    elif change == "identities put together otherwise":   # C7 linked to the second person instead
        people = [("p1", "k1", [("hes_apc", "A1")]), ("p2", "k2", [("csds", "M3"), ("asc_cld", "C7")])]
    else:
        journey = JOURNEY[:-1]
    other = _warehouse(tmp_path / "other", people, journey, spells)
    exact, checksums = canonical_tables(other), table_checksums(other)
    assert exact != canonical_tables(original)
    assert checksums != table_checksums(original)
    # the checksums name the same tables as differing as the exact comparison
    assert {name for name, rows in exact.items() if rows != canonical_tables(original)[name]} \
        == {name for name, value in checksums.items()
            if value != table_checksums(original)[name] and not name.startswith(("linkage.", "staging."))}
