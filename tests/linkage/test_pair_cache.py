"""The pair cache (pair_cache.py) scores exactly as Splink does, and a night that compares
only new and changed identities scores exactly as a full rebuild of the same identities.

One synthetic population (typos, swapped dates, moves, nicknames, shared and mistyped NHS
numbers) in DuckDB staging. (1) Every blocked pair scored from the cache equals Splink's
own `predict()` on the same input and model (same pairs, match_key, probability within
1e-12). (2) Night one sees the identities less a tenth and with other postcodes for a few;
night two sees them all: its scored pairs are bit-identical to a fresh warehouse's full
night, although it compared only the touched identities' pairs.
"""
from __future__ import annotations

import duckdb
import pytest

from dagster_project.engine.sql_runner import DuckDBRunner
from dagster_project.linkage import pair_cache, splink_runner, splink_settings
from dagster_project.linkage.source_person import build_source_persons
from dagster_project.linkage.splink_input import build_splink_input_with
from tests.linkage.staging_fixtures import create_staging
from tests.linkage.synthetic import population

PEOPLE = 2000


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    """A warehouse file with staging and linkage.source_person of the population."""
    path = tmp_path_factory.mktemp("pair_cache") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    records, _truth = population(PEOPLE)
    create_staging(con, records)
    build_source_persons(con)
    con.close()
    return path


def _night(con: duckdb.DuckDBPyConnection, floor: float | None = None):
    """One night's scoring of linkage.source_person through the cache: (pairs, CacheNight)."""
    n = build_splink_input_with(DuckDBRunner(con))
    model = splink_runner.load_model(splink_runner.MODEL_PATH, n)
    edges, night = pair_cache.score_changed(con, model, floor)
    DuckDBRunner(con).drop(splink_settings.INPUT_TABLE)
    return sorted(zip(edges.column("unique_id_l").to_pylist(), edges.column("unique_id_r").to_pylist(),
                      edges.column("match_probability").to_pylist(), strict=True)), night


def _cache(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The pair cache by identities (identity numbers differ between warehouses)."""
    return sorted(con.execute(f"""
        select a.source_dataset || ':' || a.source_person_id, b.source_dataset || ':' || b.source_person_id,
               p.* exclude (identity_l, identity_r)
        from {pair_cache.PAIRS} p
        join {pair_cache.IDENTITY} a on a.identity_id = p.identity_l
        join {pair_cache.IDENTITY} b on b.identity_id = p.identity_r""").fetchall())


def test_cache_scores_every_pair_as_splink_predict(identities):
    con = duckdb.connect(str(identities))
    try:
        n = build_splink_input_with(DuckDBRunner(con))
        model = splink_runner.load_model(splink_runner.MODEL_PATH, n)
        linker = splink_runner.linker_for(con, model)
        table = linker.inference.predict(threshold_match_probability=None).physical_name
        splink = {(l, r): (p, k) for l, r, p, k in con.execute(
            f"select unique_id_l, unique_id_r, match_probability, match_key::varchar from {table}").fetchall()}
        linker.table_management.delete_tables_created_by_splink_from_db()
        splink_runner.drop_reference_term_frequencies(DuckDBRunner(con))
        DuckDBRunner(con).drop(splink_settings.INPUT_TABLE)
        pair_cache.forget(con)
        pairs, night = _night(con)
        keys = dict(((l, r), k) for l, r, k in con.execute(
            f"""select least(a.unique_id, b.unique_id), greatest(a.unique_id, b.unique_id), p.match_key
                from {pair_cache.PAIRS} p
                join (select row_number() over (order by source_dataset, source_person_id) - 1 as unique_id,
                             identity_id from {pair_cache.IDENTITY}) a on a.identity_id = p.identity_l
                join (select row_number() over (order by source_dataset, source_person_id) - 1 as unique_id,
                             identity_id from {pair_cache.IDENTITY}) b on b.identity_id = p.identity_r""").fetchall())
    finally:
        pair_cache.forget(con)
        con.close()
    assert night.full and night.n_touched == n and night.n_pairs_compared == night.n_pairs_scored == len(splink)
    assert len(splink) > 500 and len(set(keys.values())) > 3   # blocked pairs of several rules
    assert {(l, r) for l, r, _ in pairs} == set(splink)
    assert all(abs(p - splink[(l, r)][0]) <= 1e-12 for l, r, p in pairs)
    assert keys == {pair: key for pair, (_, key) in splink.items()}   # each pair found by the same rule
    # TF adjusted pairs are among them (agreeing postcodes and names), and both sides of the floor
    assert {p >= splink_runner.EDGE_FLOOR for _, _, p in pairs} == {True, False}


def test_night_of_changes_scores_as_a_full_rebuild(identities):
    con = duckdb.connect(str(identities))
    try:
        con.execute("create temp table _all_identities as select * from linkage.source_person")
        # night one: a tenth of the identities not delivered yet, a few others at an older address
        con.execute("""create or replace table linkage.source_person as
                       select * replace (case when hash(source_person_id) % 23 = 0 then 'ZZ9 9ZZ'
                                              else postcode end as postcode)
                       from _all_identities where hash(source_dataset || source_person_id) % 10 <> 0""")
        first, night_one = _night(con, splink_runner.EDGE_FLOOR)
        # night two: everything, every postcode as delivered
        con.execute("create or replace table linkage.source_person as select * from _all_identities")
        incremental, night_two = _night(con, splink_runner.EDGE_FLOOR)
        n_cached, cached = night_two.n_pairs_scored, _cache(con)
        pair_cache.forget(con)
        full, night_full = _night(con, splink_runner.EDGE_FLOOR)
        rebuilt = _cache(con)
        n_total = con.execute("select count(*) from _all_identities").fetchall()[0][0]
    finally:
        pair_cache.forget(con)
        con.close()
    assert night_one.full and not night_two.full and night_one.n_touched < n_total
    assert 0 < night_two.n_touched < n_total / 4 and night_two.n_removed == 0
    assert night_two.n_pairs_compared < night_full.n_pairs_compared == n_cached
    assert incremental == full   # same pairs, bit-identical probabilities
    assert cached == rebuilt     # same comparison vectors, found by the same blocking rules
    assert first != full   # night one's pairs (fewer identities, other postcodes) really differed
