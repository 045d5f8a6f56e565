"""Clustering only the components a night changed (linkage/night_clustering.py) gives what
clustering everyone gives: the same persons, ids, probabilities, rules and id log.

Each night is played on two warehouses with the same history: one carrying the
unchanged components from its clustering state, one with the state forgotten (every
identity clustered). Their record_person and id log must be equal, ids included.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from dagster_project.linkage import night_clustering
from dagster_project.linkage.link import Scored, predict_and_cluster
from dagster_project.linkage.model_store import ModelChoice

# (source_dataset, source_person_id, provider, trusted NHS number, first name)
A = [("asc_cld", "a1", "E1", None, "ANN"), ("csds", "a2", "RX1", None, "ANN")]
B = [("asc_cld", "b1", "E1", None, "BOB"), ("csds", "b2", "RX1", None, "BOB"), ("hes_apc", "b3", "RR8", None, "BOB")]
# y scores with x and z, which are the same trust's two patients: y joins the stronger.
XYZ = [("hes_apc", "x", "RAE", None, "YAN"), ("csds", "y", "RX2", None, "YAN"), ("hes_apc", "z", "RAE", None, "YAN")]
# two trusted numbers scored as a match: an over-merge refused
T = [("hes_apc", "t1", "RR9", "9434765919", "TOM"), ("csds", "t2", "RX3", "9434765870", "TOM")]
EDGES = {("a1", "a2"): 0.95, ("b1", "b2"): 0.97, ("b2", "b3"): 0.93, ("x", "y"): 0.95, ("y", "z"): 0.94,
         ("t1", "t2"): 0.99, ("a1", "b1"): 0.6}


def scored(identities: list[tuple], pairs: dict[tuple[str, str], float], shift: float = 0.0) -> Scored:
    """Identities in (source_dataset, source_person_id) order as the Splink input numbers them;
    `shift` moves every probability a little, as a night's prior does."""
    rows = sorted(identities, key=lambda r: (r[0], r[1]))
    position = {r[1]: i for i, r in enumerate(rows)}
    nodes = pa.table({
        "unique_id": pa.array(range(len(rows)), pa.int64()),
        "source_dataset": [r[0] for r in rows], "source_person_id": [r[1] for r in rows],
        "provider": [r[2] for r in rows], "nhs_number": [r[3] for r in rows],
        "nhs_trusted": pa.array([r[3] is not None for r in rows]), "nhs_number_valid": [r[3] for r in rows],
        "first_name_std": [r[4] for r in rows], "last_name": pa.array([None] * len(rows), pa.string())})
    kept = [(position[a], position[b], p + shift) for (a, b), p in pairs.items() if a in position and b in position]
    edges = pa.table({"unique_id_l": pa.array([k[0] for k in kept], pa.int64()),
                      "unique_id_r": pa.array([k[1] for k in kept], pa.int64()),
                      "match_probability": pa.array([k[2] for k in kept], pa.float64())})
    return Scored(nodes, edges, {"comparisons": []}, 0.0)


@pytest.fixture()
def warehouses(tmp_path: Path):
    model = tmp_path / "model.json"
    model.write_text("{}")
    choice = ModelChoice(model, "shipped")
    cons = []
    for _ in range(2):
        con = duckdb.connect()
        con.execute("create schema linkage; create table linkage.source_person (nhs_number_suspect boolean)")
        con.execute("create schema ops; create table ops.person_id_salt (salt varchar, created_at timestamp)")
        con.execute("insert into ops.person_id_salt values ('0123456789abcdef', now()::timestamp)")
        cons.append(con)
    yield choice, cons
    for con in cons:
        con.close()


def play(choice: ModelChoice, cons: list, identities: list[tuple], pairs: dict, shift: float = 0.0):
    """One night on both warehouses (the second without a clustering state); returns the
    first's clustering log and record_person after checking the two agree."""
    carried, rebuilt = cons
    night_clustering.forget(rebuilt)
    summary = predict_and_cluster(carried, choice, scored=scored(identities, pairs, shift))
    reference = predict_and_cluster(rebuilt, choice, scored=scored(identities, pairs, shift))
    assert reference.clustering["full"]
    tables = [con.execute("select * from linkage.record_person order by all").fetchall() for con in cons]
    logs = [con.execute("select * from linkage.person_id_log order by all").fetchall() for con in cons]
    assert tables[0] == tables[1] and logs[0] == logs[1], summary.clustering
    assert (summary.n_edges_accepted, summary.refused_by_reason, summary.n_over_merges_refused) == \
        (reference.n_edges_accepted, reference.refused_by_reason, reference.n_over_merges_refused)
    return summary.clustering, {r[1]: r[2:] for r in tables[0]}


def test_only_changed_components_are_clustered_again_with_a_full_clusterings_result(warehouses):
    choice, cons = warehouses
    everyone = A + B + XYZ + T
    first, night1 = play(choice, cons, everyone, EDGES)
    assert first["full"] and first["reason"].startswith("no clustering state")
    assert night1["y"][0] == night1["x"][0] != night1["z"][0]           # y joined the stronger, x
    assert night1["t1"][0] != night1["t2"][0]                           # the over-merge refused

    # Every probability moved a little (the prior), nothing else: everything carried.
    log, night2 = play(choice, cons, everyone, EDGES, shift=0.001)
    assert (log["full"], log["n_identities_reclustered"]) == (False, 0), log
    assert {k: v[0] for k, v in night2.items()} == {k: v[0] for k, v in night1.items()}
    assert night2["a1"][1] == pytest.approx(0.951)                      # tonight's probability, carried

    # One identity of A changed: A alone is clustered again; B, XYZ and T keep their ids.
    changed = [("asc_cld", "a1", "E1", None, "ANNE"), *A[1:], *B, *XYZ, *T]
    log, night3 = play(choice, cons, changed, EDGES, shift=0.001)
    assert (log["full"], log["n_identities_reclustered"], log["n_components_reclustered"]) == (False, 2, 1), log
    assert all(night3[k][0] == night2[k][0] for k in ("b1", "b2", "b3", "x", "y", "z", "t1", "t2"))

    # A new pair joins A and B above the threshold: both are clustered again (one component
    # now); a1 goes with b1 (stronger), a2 stays apart (b2 is the same provider's patient).
    joined = {**EDGES, ("a1", "b1"): 0.96}
    log, night4 = play(choice, cons, changed, joined, shift=0.001)
    assert (log["n_identities_reclustered"], log["n_components_reclustered"]) == (5, 1), log
    assert night4["a1"][0] == night4["b1"][0] == night3["b1"][0] != night4["a2"][0]

    # Same pairs, but y now scores higher with z than with x: the sequence changed, so XYZ is
    # clustered again and y moves to z (carrying last night's clusters would keep y with x).
    swapped = {**joined, ("x", "y"): 0.94, ("y", "z"): 0.95}
    log, night5 = play(choice, cons, changed, swapped)
    assert (log["n_identities_reclustered"], log["n_components_reclustered"]) == (3, 1), log
    assert night5["y"][0] == night5["z"][0] != night5["x"][0]

    # A new identity scoring with both trusted numbers: T is clustered again; the refused
    # over-merge stays refused, and the new identity joins the stronger.
    with_t3 = [*changed, ("asc_cld", "t3", "E2", None, "TOM")]
    log, night6 = play(choice, cons, with_t3, {**swapped, ("t1", "t3"): 0.98, ("t2", "t3"): 0.97})
    assert (log["n_identities_reclustered"], log["n_components_reclustered"]) == (3, 1), log
    assert night6["t1"][0] == night6["t3"][0] != night6["t2"][0]

    # An identity gone (t3 retracted): its component is clustered again, the rest carried.
    log, _ = play(choice, cons, changed, swapped)
    assert (log["full"], log["n_identities_reclustered"]) == (False, 2), log


def test_another_threshold_a_foreign_record_person_or_full_refresh_clusters_everyone(warehouses):
    from dagster_project.runs import incremental

    choice, cons = warehouses
    play(choice, cons, A + B, EDGES)
    carried = cons[0]
    incremental.forget_baseline(carried)    # carejourney run --full-refresh
    summary = predict_and_cluster(carried, choice, scored=scored(A + B, EDGES))
    assert summary.clustering["full"] and "no clustering state" in summary.clustering["reason"]
    summary = predict_and_cluster(carried, choice, threshold=0.92, scored=scored(A + B, EDGES))
    assert summary.clustering["full"] and "threshold" in summary.clustering["reason"]
    carried.execute("update linkage.record_person set match_rule = 'singleton' where source_person_id = 'a1'")
    summary = predict_and_cluster(carried, choice, threshold=0.92, scored=scored(A + B, EDGES))
    assert summary.clustering["full"] and "record_person" in summary.clustering["reason"]


def test_person_table_reuses_only_what_is_provably_the_same(warehouses):
    """build_person recomputes the membership md5 only for changed persons, reuses keys
    only when they were made with tonight's secret and writes only the rows that changed:
    every value as a rebuild from scratch."""
    from types import SimpleNamespace

    from dagster_project.linkage.link import build_person, person_key

    choice, (con, _) = warehouses
    predict_and_cluster(con, choice, scored=scored(A + B + XYZ, EDGES))
    first, second = SimpleNamespace(pseudo_key="k" * 64), SimpleNamespace(pseudo_key="r" * 64)
    build_person(con, first, run_id=1)
    # b3 gone, and z, a person of its own (written as a delete+insert: z's row must go)
    predict_and_cluster(con, choice, scored=scored([*A, *B[:2], *XYZ[:2]], EDGES, shift=0.001))
    for settings in (first, second):   # the same secret, then a rotated one
        build_person(con, settings, run_id=2)
        kept = con.execute("select * exclude (first_seen_run, last_changed_run) from linkage.person "
                           "order by person_id").fetchall()
        changed = dict(con.execute("select person_id, last_changed_run from linkage.person").fetchall())
        con.execute("create or replace table _kept as select * from linkage.person")
        con.execute("drop table linkage.person")
        build_person(con, settings, run_id=2)
        assert kept == con.execute("select * exclude (first_seen_run, last_changed_run) from linkage.person "
                                   "order by person_id").fetchall()
        assert all(key == person_key(pid, settings.pseudo_key) for pid, key, *_ in kept)
        con.execute("drop table linkage.person; create table linkage.person as select * from _kept")
    b_person = con.execute("select person_id from linkage.record_person where source_person_id = 'b1'").fetchone()[0]
    assert changed[b_person] == 2 and sorted(set(changed.values())) == [1, 2], changed   # only B lost one
