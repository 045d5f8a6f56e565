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


def cluster(
    nodes: pa.Table,
    edges: pa.Table,
    threshold: float,
    veto_first_names: bool = True,
) -> Clusters:
    """nodes: unique_id (0..n-1 in order), source_dataset, provider, nhs_number, nhs_trusted,
    nhs_number_valid (the valid number whether trusted or suspect, else null), first_name_std,
    last_name.
    edges: unique_id_l, unique_id_r, match_probability."""
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
