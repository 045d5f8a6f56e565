"""Stable person ids across runs, with merges and splits logged.

Each cluster of this run takes the id of the previous run's person it shares most
identities with; one previous id goes to at most one cluster. Candidates are taken
greatest overlap first, ties broken by the previous id, then by the cluster's
smallest identity key, so the outcome never depends on row order. A cluster that
inherits nothing gets a new id: "P" + the first 16 hex digits of SHA-256 of its
smallest identity key (salted "#1", "#2"... if that id was ever issued before), so
re-running on the same data gives the same ids, even on an empty warehouse.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

KEY_SEPARATOR = "\x1f"  # joins source_dataset and source_person_id into one key


@dataclass
class IdAssignment:
    person_id: pd.Series          # per current identity (index aligned with input)
    log: pd.DataFrame             # event, person_id, other_person_id, source_dataset, source_person_id, n_records


def new_person_id(seed_key: str, taken: set[str]) -> str:
    salt = 0
    while True:
        text = seed_key if salt == 0 else f"{seed_key}#{salt}"
        candidate = "P" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        if candidate not in taken:
            return candidate
        salt += 1


def assign_ids(current: pd.DataFrame, previous: pd.DataFrame, ever_issued: set[str]) -> IdAssignment:
    """current: source_dataset, source_person_id, cluster. previous: source_dataset,
    source_person_id, person_id (empty on the first run)."""
    cur = current[["source_dataset", "source_person_id", "cluster"]].copy()
    cur["key"] = cur["source_dataset"] + KEY_SEPARATOR + cur["source_person_id"]
    prev = previous[["source_dataset", "source_person_id", "person_id"]].copy()
    prev["key"] = prev["source_dataset"] + KEY_SEPARATOR + prev["source_person_id"]

    cluster_min_key = cur.groupby("cluster")["key"].min()
    cluster_size = cur.groupby("cluster").size()

    both = cur.merge(prev[["key", "person_id"]], on="key", how="inner")
    overlap = both.groupby(["cluster", "person_id"]).size().rename("n").reset_index()
    overlap["min_key"] = overlap["cluster"].map(cluster_min_key)
    overlap = overlap.sort_values(["n", "person_id", "min_key"], ascending=[False, True, True])

    cluster_id: dict[int, str] = {}
    used_old: set[str] = set()
    for c, pid in zip(overlap["cluster"].tolist(), overlap["person_id"].tolist()):
        if c in cluster_id or pid in used_old:
            continue
        cluster_id[c] = pid
        used_old.add(pid)

    taken = set(ever_issued) | set(prev["person_id"]) | set(cluster_id.values())
    events: list[dict] = []
    for c in sorted(set(cluster_min_key.index) - set(cluster_id), key=lambda c: cluster_min_key[c]):
        pid = new_person_id(cluster_min_key[c], taken)
        taken.add(pid)
        cluster_id[c] = pid
        events.append({"event": "new", "person_id": pid, "n_records": int(cluster_size[c])})

    cur["person_id"] = cur["cluster"].map(cluster_id)

    # merges: a cluster that took in identities of another previous person
    for c, pid_old, n in overlap[["cluster", "person_id", "n"]].itertuples(index=False):
        if cluster_id[c] != pid_old and cluster_id[c] in used_old:
            events.append({"event": "merge", "person_id": cluster_id[c], "other_person_id": pid_old,
                           "n_records": int(n)})
    # splits: a previous person whose identities now sit in several clusters
    spans = overlap.groupby("person_id")["cluster"].nunique()
    for pid_old in sorted(spans[spans > 1].index):
        for c in sorted(overlap.loc[overlap["person_id"] == pid_old, "cluster"].tolist()):
            if cluster_id[c] != pid_old:
                events.append({"event": "split", "person_id": pid_old,
                               "other_person_id": cluster_id[c]})
    for pid_old in sorted(set(prev["person_id"]) - used_old):
        events.append({"event": "retired", "person_id": pid_old})
    moved = both.assign(new=both["cluster"].map(cluster_id))
    moved = moved[moved["new"] != moved["person_id"]]
    for row in moved.sort_values("key").itertuples(index=False):
        events.append({"event": "record_moved", "person_id": row.new, "other_person_id": row.person_id,
                       "source_dataset": row.source_dataset, "source_person_id": row.source_person_id})

    log = pd.DataFrame(events, columns=["event", "person_id", "other_person_id", "source_dataset",
                                        "source_person_id", "n_records"])
    return IdAssignment(person_id=cur["person_id"], log=log)

