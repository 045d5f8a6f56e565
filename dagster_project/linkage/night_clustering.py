"""Clustering that costs what changed: only the components a night can have changed are
clustered again; every other identity keeps last night's cluster, exactly as a full
clustering would give it.

Clustering (clustering.py) reads, per identity, its NODE columns and, per scored pair at
or above the threshold, the two identities and the probability (the order of the pairs:
strongest first, ties by position). Identities sharing a trusted NHS number are joined
unconditionally. So the graph G of tonight (pairs at or above the threshold plus those
NHS-number links) falls into connected components that are clustered independently: a
component's clusters, rules, probabilities and refusals depend on its own identities and
pairs only. A component C of tonight is *clean*, and keeps last night's result, when

1. every identity in C existed last night with the same NODE values (a 64-bit hash of
   them, `node_hash`),
2. every pair of C at or above the threshold was one last night too, and no pair of last
   night touching C is missing tonight (then C is exactly one of last night's components:
   a path leaving C would cross a missing pair, an NHS-number link of changed identities,
   or a removed identity),
3. last night's component of C's identities held no removed or changed identity, and
4. C's pairs in clustering order (probability descending, then position) come in the
   same sequence as last night's in theirs. Probabilities move a little every night (the
   prior is rescaled to the number of identities, term frequencies are shares of all
   identities: pair_cache.py), so equal sets are not enough; equal sequence is what the
   greedy union reads, and positions keep their order (unique_id is the position in
   (source_dataset, source_person_id) order, among old identities too).

A clean component's identities keep last night's person and rule; their match_probability
is recomputed from tonight's probabilities of the pairs last night counted (linked or
already together: the same pairs, as the sequence is the same), as clustering computes
it. Everything else is clustered afresh with clustering.cluster on the sub-graph.

The state that proves a base (`linkage.cluster_node`: each identity's position, node hash
and component; `linkage.cluster_edge`: each pair at or above the threshold and what became
of it; `linkage.cluster_meta`: the fingerprint of the clustering rules, threshold and
model, and a digest of the record_person it describes) is written in the transaction that
writes record_person. No state, another fingerprint, or a record_person that is not the
one the state describes: every identity is clustered (the full path), and the reason logged.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.linkage import clustering
from dagster_project.sql import table_exists

# Layout of the state tables and the carry rules: part of the fingerprint.
STATE_FORMAT = 1
NODES = "linkage.cluster_node"
EDGES = "linkage.cluster_edge"
META = "linkage.cluster_meta"
# The node columns clustering reads (besides unique_id): a change re-clusters the component.
NODE_VALUES = ("source_dataset", "source_person_id", "provider", "nhs_number", "nhs_trusted",
               "nhs_number_valid", "first_name_std", "last_name")
# A digest of record_person: the state is a valid base only for the record_person it was written with.
RECORD_PERSON_DIGEST = """select count(*)::varchar || ':' || coalesce(bit_xor(hash(source_dataset, source_person_id,
                                 person_id, match_probability, match_rule)), 0)::varchar
                          from linkage.record_person"""


@dataclass
class NightClusters:
    clusters: clustering.Clusters   # over all identities (refused_pairs: the re-clustered ones only)
    previous_person: pa.Array       # last night's person_id per identity (null: new), string
    reclustered: np.ndarray         # per identity: clustered tonight (False: carried)
    full: bool
    reason: str
    n_components_reclustered: int
    n_over_merges_refused: int      # pairs refused over NHS numbers, carried ones included
    edge_lo: np.ndarray             # tonight's pairs at or above the threshold, for the state
    edge_hi: np.ndarray
    edge_p: np.ndarray
    edge_outcome: np.ndarray
    node_hash: np.ndarray
    component: np.ndarray
    # Per identity: its record_person row is last night's, unchanged (carried, with the same
    # probability); all False on the full path. With `removed`, what record_person's
    # delete+insert rewrites (link.py).
    unchanged: np.ndarray
    removed: pa.Table | None = None  # last night's identities gone tonight (source_dataset, source_person_id)

    def as_log(self) -> dict:
        return {"full": self.full, "reason": self.reason,
                "n_identities_reclustered": int(self.reclustered.sum()),
                "n_components_reclustered": self.n_components_reclustered}


def fingerprint(threshold: float, veto_first_names: bool, model_sha256: str) -> str:
    """What a carried result depends on besides the graph: the rules and their constants."""
    shape = {"format": STATE_FORMAT, "threshold": threshold, "veto_first_names": veto_first_names,
             "model": model_sha256, "outcomes": clustering.EDGE_OUTCOMES,
             "name_compatible": clustering.NAME_COMPATIBLE, "max_valid": clustering.MAX_VALID_NUMBERS,
             "one_id_per_provider": sorted(clustering.ONE_ID_PER_PROVIDER)}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the state: the next night clusters every identity (`carejourney run --full-refresh`)."""
    for table in (NODES, EDGES, META):
        con.execute(f"drop table if exists {table}")


def _base_problem(con: duckdb.DuckDBPyConnection, print_: str) -> str | None:
    """None when last night's state is a valid base, else why every identity is clustered."""
    if not all(table_exists(con, *t.split(".")) for t in (NODES, EDGES, META)) \
            or not table_exists(con, "linkage", "record_person"):
        return "no clustering state (first night, new warehouse or --full-refresh)"
    row = con.execute(f"select fingerprint, record_person_digest from {META}").fetchone()
    if row is None:
        return "no clustering state (first night, new warehouse or --full-refresh)"
    if row[0] != print_:
        return "clustering rules, threshold or model changed since the clustering state"
    if row[1] != con.execute(RECORD_PERSON_DIGEST).fetchone()[0]:
        return "linkage.record_person is not the one the clustering state describes"
    return None


def _node_hashes(con: duckdb.DuckDBPyConnection, nodes: pa.Table) -> np.ndarray:
    cur = con.cursor()
    try:
        cur.register("_night_nodes", nodes)
        values = ", ".join(f'"{c}"' for c in NODE_VALUES)
        hashes = cur.sql(f"select hash({values}) as h from _night_nodes order by unique_id").to_arrow_table()
        return hashes["h"].to_numpy().astype(np.uint64)
    finally:
        cur.close()


def cluster_night(con: duckdb.DuckDBPyConnection, nodes: pa.Table, edges: pa.Table, threshold: float,
                  veto_first_names: bool, model_sha256: str) -> NightClusters:
    """Tonight's clusters over all identities, carrying every clean component (module doc)."""
    n = nodes.num_rows
    p_all = edges.column("match_probability").to_numpy() if edges.num_rows else np.array([], float)
    keep = p_all >= threshold
    left = edges.column("unique_id_l").to_numpy()[keep].astype(np.int64) if edges.num_rows else np.array([], np.int64)
    right = edges.column("unique_id_r").to_numpy()[keep].astype(np.int64) if edges.num_rows else left
    lo, hi, p = np.minimum(left, right), np.maximum(left, right), p_all[keep]
    node_hash = _node_hashes(con, nodes)
    component = clustering.components(n, lo, hi, nodes)
    problem = _base_problem(con, fingerprint(threshold, veto_first_names, model_sha256))
    if problem is None and len(np.unique(lo * max(n, 1) + hi)) != len(lo):
        problem = "a pair was scored twice tonight"
    if problem is not None:
        result = clustering.cluster(nodes, edges, threshold, veto_first_names)
        outcome = result.edge_outcome
        return NightClusters(result, pa.nulls(n, pa.string()), np.ones(n, bool), True, problem,
                             int(component.max(initial=-1) + 1), _nhs_refusals(outcome), lo, hi, p, outcome,
                             node_hash, component, np.zeros(n, bool))
    return _incremental(con, nodes, edges, keep, threshold, veto_first_names, lo, hi, p, node_hash, component)


def _nhs_refusals(outcome: np.ndarray) -> int:
    codes = [clustering.EDGE_OUTCOMES.index(r) for r in clustering.NHS_REASONS]
    return int(np.isin(outcome, codes).sum())


def _incremental(con: duckdb.DuckDBPyConnection, nodes: pa.Table, edges: pa.Table, keep: np.ndarray,
                 threshold: float, veto_first_names: bool, lo: np.ndarray, hi: np.ndarray, p: np.ndarray,
                 node_hash: np.ndarray, component: np.ndarray) -> NightClusters:
    n = nodes.num_rows
    cur = con.cursor()
    try:
        cur.register("_night_keys", nodes.select(["unique_id", "source_dataset", "source_person_id"]))
        before = cur.sql(f"""
            select k.unique_id, s.ix, s.node_hash, s.component, r.person_id, r.match_rule,
                   r.match_probability
            from _night_keys k
            left join {NODES} s using (source_dataset, source_person_id)
            left join linkage.record_person r using (source_dataset, source_person_id)
            order by k.unique_id""").to_arrow_table()
        # The state's identities are record_person's (the base is valid): these are its rows to delete.
        removed = cur.sql(f"""
            select s.source_dataset, s.source_person_id, s.component
            from {NODES} s anti join _night_keys k using (source_dataset, source_person_id)""").to_arrow_table()
        removed_components = np.unique(removed["component"].to_numpy())
        previous_edges = cur.sql(f"select ix_l, ix_r, match_probability, outcome from {EDGES}").to_arrow_table()
        n_previous = cur.execute(f"select coalesce(max(ix), -1) + 1 from {NODES}").fetchone()[0]
        n_previous_components = cur.execute(f"select coalesce(max(component), -1) + 1 from {NODES}").fetchone()[0]
    finally:
        cur.close()

    prev_ix = before["ix"].fill_null(-1).to_numpy().astype(np.int64)
    existed = prev_ix >= 0
    prev_hash = before["node_hash"].fill_null(0).to_numpy().astype(np.uint64)
    prev_component = before["component"].fill_null(-1).to_numpy().astype(np.int64)
    changed = ~existed | (prev_hash != node_hash)
    n_components = int(component.max(initial=-1) + 1)
    dirty = np.zeros(n_components, bool)          # tonight's components to cluster again
    dirty_previous = np.zeros(max(n_previous_components, 1), bool)   # last night's components that changed
    dirty[component[changed]] = True
    dirty_previous[prev_component[changed & existed]] = True
    dirty_previous[removed_components] = True

    # Last night's pairs in tonight's positions (a removed identity: -1).
    now_of_previous = np.full(max(n_previous, 1), -1, np.int64)
    now_of_previous[prev_ix[existed]] = np.nonzero(existed)[0]
    a = now_of_previous[previous_edges["ix_l"].to_numpy()]
    b = now_of_previous[previous_edges["ix_r"].to_numpy()]
    both = (a >= 0) & (b >= 0)
    previous_key = np.where(both, np.minimum(a, b) * n + np.maximum(a, b), -1)
    order = np.argsort(previous_key, kind="stable")
    sorted_keys = previous_key[order]
    key = lo * n + hi
    at = np.clip(np.searchsorted(sorted_keys, key), 0, max(len(sorted_keys) - 1, 0))
    found = (sorted_keys[at] == key) if len(sorted_keys) else np.zeros(len(key), bool)
    match = np.where(found, order[at] if len(order) else 0, -1)     # tonight's pair -> last night's row
    dirty[component[lo[~found]]] = True
    seen_previous = np.zeros(len(previous_key), bool)
    seen_previous[match[found]] = True
    gone = both & ~seen_previous                                      # a pair of last night missing tonight
    dirty[component[a[gone]]] = True
    dirty[component[b[gone]]] = True
    gone_any = ~seen_previous                                         # missing, or with a removed identity
    if gone_any.any():
        ends = np.concatenate([previous_edges[side].to_numpy()[gone_any] for side in ("ix_l", "ix_r")])
        survivors = now_of_previous[ends]
        dirty_previous[prev_component[survivors[survivors >= 0]]] = True
    # Every survivor of a changed component of last night: its component of tonight is re-clustered.
    dirty[component[existed & dirty_previous[np.maximum(prev_component, 0)] & (prev_component >= 0)]] = True

    # Sequence check on what is still clean: same pairs, the same order strongest first.
    previous_p = previous_edges["match_probability"].to_numpy()
    candidate = found & ~dirty[component[lo]]
    if candidate.any():
        c_lab, c_lo, c_hi = component[lo[candidate]], lo[candidate], hi[candidate]
        c_now, c_before = p[candidate], previous_p[match[candidate]]
        tonight_order = np.lexsort((c_hi, c_lo, -c_now, c_lab))
        last_order = np.lexsort((c_hi, c_lo, -c_before, c_lab))
        moved = tonight_order != last_order
        dirty[c_lab[tonight_order[moved]]] = True

    reclustered = dirty[component]
    night = _combine(nodes, edges, keep, threshold, veto_first_names, lo, hi, p, node_hash, component,
                     reclustered, int(dirty.sum()), before, match, previous_edges["outcome"].to_numpy())
    night.removed = removed.select(["source_dataset", "source_person_id"])
    return night


def _combine(nodes: pa.Table, edges: pa.Table, keep: np.ndarray, threshold: float, veto_first_names: bool,
             lo: np.ndarray, hi: np.ndarray, p: np.ndarray, node_hash: np.ndarray, component: np.ndarray,
             reclustered: np.ndarray, n_dirty_components: int, before: pa.Table, match: np.ndarray,
             previous_outcome: np.ndarray) -> NightClusters:
    """Cluster the re-clustered identities on their own sub-graph; carry the others."""
    n = nodes.num_rows
    sub = np.nonzero(reclustered)[0]
    position = np.full(n, -1, np.int64)
    position[sub] = np.arange(len(sub))
    sub_nodes = nodes.take(pa.array(sub)).set_column(
        nodes.schema.get_field_index("unique_id"), "unique_id", pa.array(np.arange(len(sub)), pa.int64()))
    sub_pairs = np.nonzero(reclustered[lo])[0]                     # a pair's two ends share a component
    sub_edges = pa.table({"unique_id_l": pa.array(position[lo[sub_pairs]], pa.int64()),
                          "unique_id_r": pa.array(position[hi[sub_pairs]], pa.int64()),
                          "match_probability": pa.array(p[sub_pairs], pa.float64())})
    result = clustering.cluster(sub_nodes, sub_edges, threshold, veto_first_names)

    outcome = np.zeros(len(lo), np.int8)
    carried_pairs = ~reclustered[lo]
    outcome[carried_pairs] = previous_outcome[match[carried_pairs]]
    outcome[sub_pairs[result.edge_index]] = result.edge_outcome

    # Arrow, not Python strings: a million ids each night (codes by first appearance, as factorize)
    previous_person = before["person_id"].combine_chunks().cast(pa.string())
    previous_rule = np.asarray(before["match_rule"].to_pylist(), dtype=object)
    carried = np.nonzero(~reclustered)[0]
    carried_codes = pc.dictionary_encode(previous_person.take(pa.array(carried))).indices.to_numpy(
        zero_copy_only=False).astype(np.int64)
    n_sub_clusters = int(result.cluster_of.max(initial=-1) + 1)
    cluster_of = np.empty(n, np.int64)
    cluster_of[sub] = result.cluster_of
    cluster_of[carried] = carried_codes + n_sub_clusters
    rule = np.empty(n, dtype=object)
    rule[sub] = np.asarray(result.match_rule, dtype=object)
    rule[carried] = previous_rule[carried]
    prob = np.full(n, np.nan)
    prob[sub] = result.match_probability
    # Carried: 1.0 for NHS-number links, else the strongest of tonight's probabilities of the
    # pairs counted last night (the same pairs in the same sequence), as clustering.cluster does.
    is_nhs = rule == "nhs_number"
    counted = carried_pairs & (outcome == clustering.EDGE_OUTCOMES.index(clustering.ACCEPTED))
    strongest = np.full(n, -np.inf)
    np.maximum.at(strongest, lo[counted], p[counted])
    np.maximum.at(strongest, hi[counted], p[counted])
    carried_mask = ~reclustered
    prob[carried_mask & is_nhs] = 1.0
    probabilistic = carried_mask & ~is_nhs & np.isfinite(strongest)
    prob[probabilistic] = strongest[probabilistic]

    # A carried identity's row is unchanged unless its probability moved (person and rule are
    # last night's by construction); both null (a singleton) is the same.
    previous_p = before["match_probability"].to_numpy(zero_copy_only=False).astype(float)
    unchanged = carried_mask & ((prob == previous_p) | (np.isnan(prob) & np.isnan(previous_p)))

    refused_by_reason: dict[str, int] = {}
    for code, name in enumerate(clustering.EDGE_OUTCOMES):
        count = int((outcome == code).sum())
        if name != clustering.ACCEPTED and count:
            refused_by_reason[name] = count
    refused_pairs = [(int(sub[x]), int(sub[y]), reason) for x, y, reason in result.refused_pairs]
    combined = clustering.Clusters(
        cluster_of, rule.tolist(), prob, int((outcome == 0).sum()), sum(refused_by_reason.values()),
        refused_by_reason, refused_pairs, np.nonzero(keep)[0], outcome)
    return NightClusters(combined, previous_person, reclustered, False, "incremental", n_dirty_components,
                         _nhs_refusals(outcome), lo, hi, p, outcome, node_hash, component, unchanged)


def write_state(con: duckdb.DuckDBPyConnection, nodes: pa.Table, night: NightClusters, threshold: float,
                veto_first_names: bool, model_sha256: str) -> None:
    """Tonight's state, inside the caller's transaction, after record_person is written."""
    state_nodes = pa.table({
        "source_dataset": nodes.column("source_dataset"), "source_person_id": nodes.column("source_person_id"),
        "ix": nodes.column("unique_id"), "node_hash": pa.array(night.node_hash, pa.uint64()),
        "component": pa.array(night.component, pa.int64())})
    state_edges = pa.table({"ix_l": pa.array(night.edge_lo, pa.int64()), "ix_r": pa.array(night.edge_hi, pa.int64()),
                            "match_probability": pa.array(night.edge_p, pa.float64()),
                            "outcome": pa.array(night.edge_outcome, pa.int8())})
    con.register("_night_state_nodes", state_nodes)
    con.register("_night_state_edges", state_edges)
    try:
        con.execute(f"create or replace table {NODES} as select * from _night_state_nodes")
        con.execute(f"create or replace table {EDGES} as select * from _night_state_edges")
        con.execute(f"""create or replace table {META} as
                        select ?::varchar as fingerprint, ({RECORD_PERSON_DIGEST}) as record_person_digest,
                               now()::timestamp as built_at""",
                    [fingerprint(threshold, veto_first_names, model_sha256)])
    finally:
        con.unregister("_night_state_nodes")
        con.unregister("_night_state_edges")
