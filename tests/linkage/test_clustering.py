from __future__ import annotations

import pyarrow as pa

from dagster_project.linkage.clustering import cluster


def nodes(rows):
    """rows: (source_dataset, provider, nhs_number, trusted, first_name_std)"""
    return pa.table({
        "unique_id": list(range(len(rows))),
        "source_dataset": [r[0] for r in rows], "provider": [r[1] for r in rows],
        "nhs_number": [r[2] for r in rows], "nhs_trusted": [r[3] for r in rows],
        "first_name_std": [r[4] for r in rows],
    })


def edges(rows):
    return pa.table({"unique_id_l": [r[0] for r in rows], "unique_id_r": [r[1] for r in rows],
                     "match_probability": [r[2] for r in rows]})


def test_trusted_numbers_link_and_never_merge_with_a_different_number():
    n = nodes([("hes_apc", "RR8", "111", True, None), ("csds", "RX1", "111", True, None),
               ("hes_apc", "RAE", "222", True, None), ("asc_cld", "E1", None, False, "ANN")])
    # 3 is a strong match of both people: it may join only one of them.
    result = cluster(n, edges([(3, 0, 0.99), (3, 2, 0.98)]), threshold=0.9)
    c = result.cluster_of
    assert c[0] == c[1] == c[3] and c[2] != c[0]
    assert result.match_rule == ["nhs_number", "nhs_number", "singleton", "probabilistic"]
    assert result.match_probability[3] == 0.99 and result.n_edges_refused == 1


def test_threshold_and_same_trust_and_different_names_refuse_links():
    n = nodes([("hes_apc", "RR8", None, False, None), ("hes_apc", "RR8", None, False, None),
               ("asc_cld", "E1", None, False, "ARTHUR"), ("asc_cld", "E1", None, False, "HAROLD"),
               ("csds", "RX1", None, False, None)])
    result = cluster(n, edges([(0, 1, 0.999), (2, 3, 0.999), (0, 4, 0.5)]), threshold=0.9)
    assert len(set(result.cluster_of.tolist())) == 5
    assert result.n_edges_refused == 2
    assert result.match_rule == ["singleton"] * 5


def test_nicknamed_names_are_compatible_and_order_of_edges_does_not_matter():
    n = nodes([("asc_cld", "E1", None, False, "WILLIAM"), ("asc_cld", "E2", None, False, "WILLIAM"),
               ("hes_apc", "RR8", "111", True, None)])
    e = [(0, 1, 0.97), (1, 2, 0.99), (0, 2, 0.96)]
    a = cluster(n, edges(e), 0.9)
    b = cluster(n, edges(e[::-1]), 0.9)
    assert len(set(a.cluster_of.tolist())) == 1
    assert a.cluster_of.tolist() == b.cluster_of.tolist() and a.match_rule == b.match_rule
