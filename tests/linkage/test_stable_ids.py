"""Person ids survive runs; merges, splits, new and retired ids are logged, deterministically."""
from __future__ import annotations

import pandas as pd

from dagster_project.linkage.stable_ids import assign_ids, new_person_id

SALT = "a-test-warehouse-salt"


def frame(rows: list[tuple[str, str, object]], last: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source_dataset", "source_person_id", last])


def ids_of(result, current: pd.DataFrame) -> dict[str, str]:
    return dict(zip(current["source_person_id"], result.person_id, strict=False))


def test_first_run_ids_are_deterministic_and_named_after_smallest_member():
    current = frame([("hes_apc", "A", 0), ("asc_cld", "B", 0), ("csds", "C", 1)], "cluster")
    first = assign_ids(current, frame([], "person_id"), set(), SALT)
    again = assign_ids(current.iloc[::-1].reset_index(drop=True), frame([], "person_id"), set(), SALT)
    ids = ids_of(first, current)
    assert ids["A"] == ids["B"] != ids["C"]
    assert ids == ids_of(again, current.iloc[::-1].reset_index(drop=True))
    assert ids["A"] == new_person_id("asc_cld\x1fB", set(), SALT)
    assert sorted(first.log["event"]) == ["new", "new"]


def test_unchanged_people_keep_their_ids_and_log_nothing():
    previous = frame([("hes_apc", "A", "P1"), ("asc_cld", "B", "P1"), ("csds", "C", "P2")], "person_id")
    current = frame([("hes_apc", "A", 7), ("asc_cld", "B", 7), ("csds", "C", 3)], "cluster")
    result = assign_ids(current, previous, {"P1", "P2"}, SALT)
    assert ids_of(result, current) == {"A": "P1", "B": "P1", "C": "P2"}
    assert result.log.empty


def test_merge_keeps_the_bigger_persons_id_and_logs_it():
    previous = frame([("hes_apc", "A", "P1"), ("hes_apc", "B", "P1"), ("csds", "C", "P2")], "person_id")
    current = frame([("hes_apc", "A", 0), ("hes_apc", "B", 0), ("csds", "C", 0)], "cluster")
    result = assign_ids(current, previous, {"P1", "P2"}, SALT)
    assert set(result.person_id) == {"P1"}
    events = {(e.event, e.person_id, e.other_person_id) for e in result.log.itertuples()}
    assert ("merge", "P1", "P2") in events and ("retired", "P2", None) in {
        (e.event, e.person_id, None if pd.isna(e.other_person_id) else e.other_person_id)
        for e in result.log.itertuples()}
    assert ("record_moved", "P1", "P2") in events


def test_split_keeps_id_on_larger_part_and_gives_the_rest_a_new_logged_id():
    previous = frame([("hes_apc", "A", "P1"), ("hes_apc", "B", "P1"), ("csds", "C", "P1")], "person_id")
    current = frame([("hes_apc", "A", 0), ("hes_apc", "B", 0), ("csds", "C", 1)], "cluster")
    result = assign_ids(current, previous, {"P1"}, SALT)
    ids = ids_of(result, current)
    assert ids["A"] == ids["B"] == "P1" and ids["C"] not in {"P1"}
    splits = result.log[result.log["event"] == "split"]
    assert list(zip(splits["person_id"], splits["other_person_id"], strict=False)) == [("P1", ids["C"])]


def test_tie_goes_to_the_smaller_previous_id_and_new_ids_never_reuse_old_ones():
    previous = frame([("hes_apc", "A", "P9"), ("hes_apc", "B", "P2")], "person_id")
    current = frame([("hes_apc", "A", 0), ("hes_apc", "B", 0), ("csds", "C", 1)], "cluster")
    seed_id = new_person_id("csds\x1fC", set(), SALT)
    result = assign_ids(current, previous, {"P9", "P2", seed_id}, SALT)  # C's natural id was issued before
    ids = ids_of(result, current)
    assert ids["A"] == ids["B"] == "P2"
    assert ids["C"] != seed_id and ids["C"] == new_person_id("csds\x1fC", {seed_id}, SALT)
