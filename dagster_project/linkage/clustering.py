"""From NHS-number groups and scored pairs to clusters, under cannot-link rules.

1. Identities sharing a trusted valid NHS number are joined (match_rule nhs_number).
2. Scored pairs at or above the threshold are added strongest first (ties by ids,
   so the result is deterministic), skipping any that would put into one cluster
   - two different trusted NHS numbers (twins, namesakes), or
   - more than MAX_VALID_NUMBERS distinct valid (Modulus 11) NHS numbers, trusted or
     not: besides its own trusted number a person may carry one other valid number,
     and only on identities judged suspect (dbt model int_linkage__nhs_number_suspects:
     the number's other holders clearly conflict with them: keyed from someone else's
     notes, the one keying slip a valid number can be, since Modulus 11 catches a mistyped or transposed digit), or
   - two identities of the same hospital trust or community provider (a trust's local
     patient id is one patient there by definition; councils do re-register people,
     so CLD is exempt), or
   - two clearly different first names (twins at one address share everything else;
     a name is compatible with another when their nickname-mapped forms are equal or
     close: Jaro-Winkler >= NAME_COMPATIBLE; first name and surname keyed the wrong
     way round are compatible with the right way round). This veto is on only when
     the deployment's model says true matches rarely disagree on first name
     (`veto_first_names`, decided in link.py); otherwise the model's weight decides.

Greedy constrained union-find rather than plain connected components: one weak
chain (A~B, B~C) can otherwise merge two people known to be different. A refused
pair leaves the would-be cluster split into the parts on each side, and each
identity sits with the part it scored highest with (strongest pairs come first).
Refusals over NHS numbers are returned (`refused_pairs`) for the id log.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

NAME_COMPATIBLE = 0.85
# The quality gate's ceiling (expectations/linkage.json: n_valid_nhs_numbers max 2):
# one trusted number plus one number keyed from someone else's notes.
MAX_VALID_NUMBERS = 2

# Why a scored pair was not linked (keys of Clusters.refused_by_reason).
REFUSED_TWO_TRUSTED = "two_trusted_nhs_numbers"
REFUSED_TOO_MANY_VALID = "too_many_valid_nhs_numbers"
REFUSED_SAME_PROVIDER = "same_provider"
REFUSED_NAMES = "different_first_names"
NHS_REASONS = frozenset({REFUSED_TWO_TRUSTED, REFUSED_TOO_MANY_VALID})
# What became of each scored pair at or above the threshold (Clusters.edge_outcome holds the
# index): counted (linked, or already together) or refused for one of the reasons above.
ACCEPTED = "accepted"
EDGE_OUTCOMES = (ACCEPTED, REFUSED_TWO_TRUSTED, REFUSED_TOO_MANY_VALID, REFUSED_SAME_PROVIDER, REFUSED_NAMES)

# Sources whose identity key is unique per person within one provider.
ONE_ID_PER_PROVIDER = frozenset({"hes_apc", "csds"})


@dataclass
class Clusters:
    cluster_of: np.ndarray           # node -> cluster root (compact ids 0..k-1)
    match_rule: list[str]            # node -> nhs_number | probabilistic | singleton
    match_probability: np.ndarray    # node -> probability (NaN for singletons)
    n_edges_accepted: int
    n_edges_refused: int
    refused_by_reason: dict[str, int]
    # (node, node, reason) of pairs refused over NHS numbers: the over-merges prevented
    refused_pairs: list[tuple[int, int, str]]
    # The pairs at or above the threshold (indices into the input edges, in input order) and
    # what became of each (an index into EDGE_OUTCOMES): night_clustering.py carries them
    edge_index: np.ndarray | None = None
    edge_outcome: np.ndarray | None = None


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity (prefix scale 0.1, up to 4 characters), as DuckDB's."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    used_b = [False] * lb
    matches_a = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not used_b[j] and b[j] == ch:
                used_b[j] = True
                matches_a.append(ch)
                break
    m = len(matches_a)
    if not m:
        return 0.0
    matches_b = [b[j] for j in range(lb) if used_b[j]]
    transpositions = sum(x != y for x, y in zip(matches_a, matches_b, strict=False)) / 2
    jaro = (m / la + m / lb + (m - transpositions) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def _close(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and (a == b or jaro_winkler(a, b) >= NAME_COMPATIBLE)


def _names_compatible(left: set[tuple[str, str | None]], right: set[tuple[str, str | None]]) -> bool:
    """Some (first name, surname) of one side matches one of the other side's: the first
    names close, or both names close the other way round (swapped on keying)."""
    return any(_close(fa, fb) or (_close(fa, lb) and _close(la, fb))
               for fa, la in left for fb, lb in right)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root


def _cluster_greedy(
    nodes: pa.Table,
    edges: pa.Table,
    threshold: float,
    veto_first_names: bool = True,
) -> Clusters:
    """The greedy constrained union-find of the module doc, over every identity given
    (`cluster`'s arguments); `cluster` calls it on the contested components only."""
    n = nodes.num_rows
    uid = nodes.column("unique_id").to_numpy()
    if not np.array_equal(uid, np.arange(n)):
        raise ValueError("linkage clustering: node unique_ids must be 0..n-1 in order")
    datasets = nodes.column("source_dataset").to_pylist()
    providers = nodes.column("provider").to_pylist()
    numbers = nodes.column("nhs_number").to_pylist()
    trusted = nodes.column("nhs_trusted").to_pylist()
    first_names = nodes.column("first_name_std").to_pylist()
    last_names = nodes.column("last_name").to_pylist()
    valid_numbers = nodes.column("nhs_number_valid").to_pylist()

    uf = _UnionFind(n)
    # Per root: its trusted NHS number (None if none) and its single-id providers.
    root_number: dict[int, str] = {}
    root_providers: dict[int, set[tuple[str, str]]] = {}
    root_names: dict[int, set[tuple[str, str | None]]] = {}
    root_valid: dict[int, set[str]] = {}
    for i in range(n):
        if valid_numbers[i]:
            root_valid[i] = {valid_numbers[i]}
        if first_names[i]:
            root_names[i] = {(first_names[i], last_names[i])}
        if trusted[i]:
            root_number[i] = numbers[i]
        if datasets[i] in ONE_ID_PER_PROVIDER:
            root_providers[i] = {(datasets[i], providers[i])}

    rule = ["singleton"] * n
    prob = np.full(n, np.nan)

    def union(a: int, b: int) -> None:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            return
        if ra > rb:
            ra, rb = rb, ra
        uf.parent[rb] = ra
        if rb in root_number:
            root_number.setdefault(ra, root_number.pop(rb))
        if rb in root_providers:
            root_providers.setdefault(ra, set()).update(root_providers.pop(rb))
        if rb in root_names:
            root_names.setdefault(ra, set()).update(root_names.pop(rb))
        if rb in root_valid:
            root_valid.setdefault(ra, set()).update(root_valid.pop(rb))

    # 1. deterministic: trusted valid NHS numbers (first holder in id order is the anchor)
    first_holder: dict[str, int] = {}
    for i in range(n):
        if trusted[i]:
            anchor = first_holder.setdefault(numbers[i], i)
            if anchor != i:
                union(anchor, i)
                rule[anchor] = rule[i] = "nhs_number"
                prob[anchor] = prob[i] = 1.0

    # 2. probabilistic, strongest first, deterministic ties
    accepted = 0
    refused_by_reason: dict[str, int] = {}
    refused_pairs: list[tuple[int, int, str]] = []

    def refusal(ra: int, rb: int) -> str | None:
        na, nb = root_number.get(ra), root_number.get(rb)
        if na is not None and nb is not None and na != nb:
            return REFUSED_TWO_TRUSTED
        va, vb = root_valid.get(ra), root_valid.get(rb)
        if va and vb and len(va | vb) > MAX_VALID_NUMBERS:
            return REFUSED_TOO_MANY_VALID
        pa_, pb_ = root_providers.get(ra), root_providers.get(rb)
        if pa_ and pb_ and not pa_.isdisjoint(pb_):
            return REFUSED_SAME_PROVIDER
        fa, fb = root_names.get(ra), root_names.get(rb)
        if veto_first_names and fa and fb and not _names_compatible(fa, fb):
            return REFUSED_NAMES
        return None

    edge_index = np.array([], np.int64)
    edge_outcome = np.array([], np.int8)
    if edges.num_rows:
        p = edges.column("match_probability").to_numpy()
        keep = p >= threshold
        edge_index = np.nonzero(keep)[0]
        edge_outcome = np.zeros(len(edge_index), np.int8)
        left = edges.column("unique_id_l").to_numpy()[keep]
        right = edges.column("unique_id_r").to_numpy()[keep]
        p = p[keep]
        lo, hi = np.minimum(left, right), np.maximum(left, right)
        order = np.lexsort((hi, lo, -p))
        for k in order.tolist():
            a, b, pk = int(lo[k]), int(hi[k]), float(p[k])
            ra, rb = uf.find(a), uf.find(b)
            if ra != rb:
                reason = refusal(ra, rb)
                if reason is not None:
                    refused_by_reason[reason] = refused_by_reason.get(reason, 0) + 1
                    edge_outcome[k] = EDGE_OUTCOMES.index(reason)
                    if reason in NHS_REASONS:
                        refused_pairs.append((a, b, reason))
                    continue
                union(a, b)
            accepted += 1
            for node in (a, b):
                if rule[node] != "nhs_number":
                    rule[node] = "probabilistic"
                    prob[node] = pk if np.isnan(prob[node]) else max(prob[node], pk)

    roots = np.fromiter((uf.find(i) for i in range(n)), dtype=np.int64, count=n)
    _, compact = np.unique(roots, return_inverse=True)
    return Clusters(compact, rule, prob, accepted, sum(refused_by_reason.values()), refused_by_reason,
                    refused_pairs, edge_index, edge_outcome)


def components(n: int, lo: np.ndarray, hi: np.ndarray, nodes: pa.Table) -> np.ndarray:
    """Component label per identity of the graph clustering works on: pairs at or above the
    threshold and links between holders of one trusted NHS number."""
    trusted = _true(nodes.column("nhs_trusted"))
    holder = np.nonzero(trusted)[0]
    # each holder's number as a code (Arrow, not a million Python strings; a null is a code too),
    # then the first holder of each code, the smallest uid as holders ascend
    codes = _codes(nodes.column("nhs_number").filter(pa.array(trusted)))
    _, first_at, code_of = np.unique(codes, return_index=True, return_inverse=True)
    first = holder[first_at][code_of.reshape(-1)]
    rows = np.concatenate([lo, holder]).astype(np.int64)
    cols = np.concatenate([hi, first]).astype(np.int64)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def _true(column: pa.ChunkedArray) -> np.ndarray:
    """A boolean column as a numpy array, null as false."""
    return column.cast(pa.bool_()).fill_null(False).to_numpy(zero_copy_only=False)


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """An integer code per value (a null is a code of its own), as the greedy's dict keys are."""
    return pc.dictionary_encode(column.combine_chunks()).indices.fill_null(-1).to_numpy(zero_copy_only=False)


def _tuple_codes(*keys: np.ndarray) -> np.ndarray:
    """One code (0..distinct-1) per row for the tuple of integer keys (each >= -1), folded
    pairwise so that no product outgrows int64."""
    code = np.zeros(len(keys[0]), np.int64)
    for key in keys:
        shifted = key.astype(np.int64) + 1
        code = np.unique(code * (int(shifted.max(initial=0)) + 1) + shifted, return_inverse=True)[1].reshape(-1)
    return code


def _filled(column: pa.ChunkedArray) -> np.ndarray:
    """Per row: the text is neither null nor empty (what the greedy's truth tests keep)."""
    text = column.cast(pa.string())  # an all-null column may come typed null
    return pc.not_equal(pc.fill_null(text, ""), "").combine_chunks().to_numpy(zero_copy_only=False)


def _contested(component: np.ndarray, nodes: pa.Table, veto_first_names: bool) -> np.ndarray:
    """Per component: could a pair of it be refused? True when it holds two trusted NHS
    numbers, more than MAX_VALID_NUMBERS valid ones, two identities of one trust or
    community provider, or (with the first-name veto) two different names. A component
    with none of these has nothing `refusal` could object to: every union of the greedy
    is accepted, and it is one cluster."""
    k = int(component.max(initial=-1)) + 1
    contested = np.zeros(k, bool)

    def more_than(limit: int, where: np.ndarray, *keys: np.ndarray) -> None:
        """Mark components with more than `limit` distinct key tuples among the rows `where`."""
        if not where.any():
            return
        tuples = _tuple_codes(*(key[where] for key in keys))
        width = int(tuples.max()) + 1
        distinct = np.unique(component[where] * width + tuples)  # one per (component, tuple)
        counts = np.bincount(distinct // width, minlength=k)
        contested[counts > limit] = True

    more_than(1, _true(nodes.column("nhs_trusted")), _codes(nodes.column("nhs_number")))
    valid = nodes.column("nhs_number_valid")
    more_than(MAX_VALID_NUMBERS, _filled(valid), _codes(valid))
    single_id = pc.is_in(nodes.column("source_dataset"), pa.array(sorted(ONE_ID_PER_PROVIDER))).to_numpy(
        zero_copy_only=False)
    if single_id.any():  # two identities of one (dataset, provider) in one component
        provider = _tuple_codes(_codes(nodes.column("source_dataset"))[single_id],
                                _codes(nodes.column("provider"))[single_id])
        width = int(provider.max()) + 1
        keys, counts = np.unique(component[single_id] * width + provider, return_counts=True)
        contested[keys[counts > 1] // width] = True
    if veto_first_names:
        first = nodes.column("first_name_std")
        more_than(1, _filled(first), _codes(first), _codes(nodes.column("last_name")))
    return contested


def cluster(
    nodes: pa.Table,
    edges: pa.Table,
    threshold: float,
    veto_first_names: bool = True,
) -> Clusters:
    """nodes: unique_id (0..n-1 in order), source_dataset, provider, nhs_number, nhs_trusted,
    nhs_number_valid (the valid number whether trusted or suspect, else null), first_name_std,
    last_name.
    edges: unique_id_l, unique_id_r, match_probability.

    The greedy (`_cluster_greedy`) runs on the contested components only (`_contested`):
    a component decides its clusters, rules, probabilities and refusals on its own (the
    greedy never looks across components), and one nothing could be refused in is one
    cluster with every pair accepted, which is set here in arrays. Same result as the
    greedy over everything (tests/linkage/test_clustering.py), a fraction of the time:
    at 1M people most identities sit in components of one person's records.
    """
    n = nodes.num_rows
    uid = nodes.column("unique_id").to_numpy()
    if not np.array_equal(uid, np.arange(n)):
        raise ValueError("linkage clustering: node unique_ids must be 0..n-1 in order")
    p_all = edges.column("match_probability").to_numpy() if edges.num_rows else np.array([], float)
    edge_index = np.nonzero(p_all >= threshold)[0]
    lo = np.array([], np.int64)
    hi = lo
    if edges.num_rows:
        left = edges.column("unique_id_l").to_numpy()[edge_index].astype(np.int64)
        right = edges.column("unique_id_r").to_numpy()[edge_index].astype(np.int64)
        lo, hi = np.minimum(left, right), np.maximum(left, right)
    p = p_all[edge_index]
    component = components(n, lo, hi, nodes)
    hard = _contested(component, nodes, veto_first_names)[component]  # per identity
    edge_hard = hard[lo]  # both ends are in one component

    # the easy components: one cluster each, rooted at its smallest identity (as union keeps)
    k = int(component.max(initial=-1)) + 1
    smallest = np.full(k, n, np.int64)
    np.minimum.at(smallest, component, np.arange(n))
    roots = smallest[component]
    rule = np.full(n, "singleton", dtype=object)
    prob = np.full(n, np.nan)
    trusted = _true(nodes.column("nhs_trusted"))
    number_code = _codes(nodes.column("nhs_number"))
    holders = np.bincount(number_code[trusted] + 1, minlength=int(number_code.max(initial=-1)) + 2)
    shared = trusted & (holders[number_code + 1] > 1)  # a trusted number held twice or more
    rule[shared] = "nhs_number"
    prob[shared] = 1.0
    strongest = np.full(n, -np.inf)
    easy_lo, easy_hi, easy_p = lo[~edge_hard], hi[~edge_hard], p[~edge_hard]
    np.maximum.at(strongest, easy_lo, easy_p)
    np.maximum.at(strongest, easy_hi, easy_p)
    scored = (strongest > -np.inf) & ~shared
    rule[scored] = "probabilistic"
    prob[scored] = strongest[scored]
    edge_outcome = np.zeros(len(edge_index), np.int8)
    accepted = int((~edge_hard).sum())
    refused_by_reason: dict[str, int] = {}
    refused_pairs: list[tuple[int, int, str]] = []

    # the contested components, through the greedy together, on identities renumbered in order
    members = np.nonzero(hard)[0]
    if len(members):
        renumber = np.full(n, -1, np.int64)
        renumber[members] = np.arange(len(members))
        sub_nodes = nodes.take(pa.array(members)).set_column(
            nodes.schema.get_field_index("unique_id"), "unique_id",
            pa.array(np.arange(len(members)), nodes.schema.field("unique_id").type))
        hard_edges = np.nonzero(edge_hard)[0]
        sub_edges = pa.table({"unique_id_l": renumber[lo[hard_edges]], "unique_id_r": renumber[hi[hard_edges]],
                              "match_probability": p[hard_edges]})
        sub = _cluster_greedy(sub_nodes, sub_edges, threshold, veto_first_names)
        sub_roots = members[np.unique(sub.cluster_of, return_index=True)[1]][sub.cluster_of]
        roots[members] = sub_roots
        rule[members] = sub.match_rule
        prob[members] = sub.match_probability
        edge_outcome[hard_edges[sub.edge_index]] = sub.edge_outcome
        accepted += sub.n_edges_accepted
        refused_by_reason = sub.refused_by_reason
        refused_pairs = [(int(members[a]), int(members[b]), reason) for a, b, reason in sub.refused_pairs]

    _, compact = np.unique(roots, return_inverse=True)
    return Clusters(compact.reshape(-1), rule.tolist(), prob, accepted, sum(refused_by_reason.values()),
                    refused_by_reason, refused_pairs, edge_index, edge_outcome)
