"""Scoring that costs what changed: cached comparison vectors, probabilities recomputed.

A scored pair has two parts. Its comparison vector (one gamma per comparison: string
similarities, date checks; which blocking rule found it) depends only on the two
identities' own values: expensive (blocking joins, Jaro-Winkler), and the same every
night for two unchanged identities. Its match probability also depends on the night:
the prior is rescaled to the number of identities (`splink_runner.rescaled_prior`) and
the term frequencies are shares of all identities (`reference_term_frequencies`), so a
new identity moves every pair a little. Hence:

- `linkage.pair_comparison` caches the comparison vector of EVERY blocked pair (not only
  those above the edge floor), keyed by stable identity numbers, with the value each
  term-frequency adjusted level needs (the agreed postcode or name);
  `linkage.pair_identity` gives each (source_dataset, source_person_id) its number and
  a 64-bit hash of the Splink input row it was compared with; `linkage.pair_cache_meta` the
  fingerprint of the comparisons and blocking rules the vectors were made with.
- Each night the identities whose Splink input row is new or changed are *touched*;
  they are blocked against all identities with the model's rules (our own SQL, rules
  split by one-sided conditions: see TOUCHED_SIDES) and Splink's comparison-vector SQL
  computes their pairs' vectors; pairs of touched and removed identities are replaced
  in one transaction. No valid cache (first night,
  `--full-refresh`, other comparisons or rules): every identity is touched, no extra
  condition: the full rebuild is the same path.
- Then every cached pair is scored in one SQL pass with Splink's own SQL
  (`predict_from_comparison_vectors_sqls_using_settings`: match weights from the
  model's m/u per level, tonight's prior, term-frequency adjustment from tonight's
  frequencies), so an incremental night and a full rebuild give bit-identical
  probabilities, equal to Splink's `predict()` (tests/linkage/test_pair_cache.py).

Crash safety: the cache is a function of the identities' input rows only, written in one
transaction; a night killed before or after it leaves a cache that is right for the rows
it records, and the next night re-touches whatever differs.
DuckDB only: on Spark (CAREJOURNEY_ENGINE=spark) the worker scores all pairs with
Splink's predict each night (`link.score_with`).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from splink.internals.blocking import BlockingRule, _sql_gen_where_condition, combine_unique_id_input_columns
from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

from dagster_project.linkage import splink_runner, splink_settings
from dagster_project.sql import table_exists

# The cache tables' layout: part of the fingerprint, so a release that changes it
# recompares every pair once instead of reading tables of another shape.
CACHE_FORMAT = 2
IDENTITY = "linkage.pair_identity"
PAIRS = "linkage.pair_comparison"
META = "linkage.pair_cache_meta"
# Tonight's identities: unique_id (position), stable identity number, touched flag.
_NOW = "_linkage_identity_now"
# Splink's predict SQL reads the comparison vectors from a relation of this name.
_VECTORS = "__splink__df_comparison_vectors"
# Blocking is our own SQL over Splink's rules (_blocked_pairs): one join per part of a rule,
# each pair's first rule by a grouping. Splink's own keeps a pair from being found twice by
# repeating every earlier rule's condition in each rule, SQL that grows with the square of
# the number of rules: DuckDB planned 28 of them in ~1 s and 56 in ~9 s, at 2,000 people as
# at 1M (bench/RESULTS.md). Rules are run in parts split by one-sided conditions, which
# DuckDB pushes below the join so that it reads only that side's matching identities (a
# condition on both sides is applied after joining all against all):
# - a rule that leaves out pairs of two trusted NHS numbers (splink_settings.NOT_BOTH_TRUSTED:
#   such pairs are settled without Splink) by "not l.nhs_trusted" / "not r.nhs_trusted": at
#   1M people the same-date-of-birth rule joined 29M pairs to keep 2.4M
#   (bench/blocking_results.md);
# - on an incremental night, every rule by "l.touched" / "r.touched".
# The parts of a rule find together exactly the rule's pairs (De Morgan holds in SQL's
# three-valued logic too).
TOUCHED_SIDES = ("l.touched", "r.touched")
UNTRUSTED_SIDES = ("not l.nhs_trusted", "not r.nhs_trusted")


@dataclass(frozen=True)
class TfLevel:
    """A term-frequency adjusted level: its comparison's gamma column, the level's gamma
    value and the input column whose frequency adjusts it."""
    gamma: str
    value: int
    column: str


@dataclass
class CacheNight:
    """What tonight's scoring did (ops: linkage.run_log)."""
    full: bool                  # cache rebuilt from scratch (no valid cache)
    reason: str                 # why full, or "incremental"
    n_touched: int              # identities new or changed tonight (their pairs re-compared)
    n_removed: int              # identities gone since the cache (their pairs deleted)
    n_pairs_compared: int       # pairs whose comparison vectors were computed tonight
    n_pairs_scored: int         # cached pairs scored tonight (all of them)
    seconds: dict[str, float]


def _canonical_sql(condition: str) -> str:
    """A level's condition independent of identifier quoting: Splink writes a trained model's
    conditions quoted ("dob_l" = "dob_r"), splink_settings.py unquoted; in DuckDB both name
    the same columns (double quotes only ever quote identifiers)."""
    return condition.replace('"', "")


def comparisons_fingerprint(model: dict) -> str:
    """What the cached vectors depend on: every comparison level's condition (and which are
    null or TF levels), the blocking rules. Not m, u, the prior or TF weights: those are
    applied at scoring, so a retrained model keeps the cache."""
    shape = {
        "comparisons": [[c["output_column_name"],
                         [[_canonical_sql(lv["sql_condition"]), bool(lv.get("is_null_level")),
                           lv.get("tf_adjustment_column")]
                          for lv in c["comparison_levels"]]] for c in model["comparisons"]],
        "blocking_rules": [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]],
        "link_type": model.get("link_type"),
        "format": CACHE_FORMAT,
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the cache: the next night compares every pair (`carejourney run --full-refresh`)."""
    for table in (PAIRS, IDENTITY, META):
        con.execute(f"drop table if exists {table}")


def tf_levels(linker) -> list[TfLevel]:
    """The model's TF-adjusted levels, from Splink's own parse of it. Each must be an exact
    agreement (`col_l = col_r`): then both sides hold the same value and one cached value
    gives Splink's tf_l and tf_r alike."""
    levels = []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if not level._has_tf_adjustments or level._tf_adjustment_weight == 0:
                continue
            column = level._tf_adjustment_input_column.input_name
            if level.sql_condition.replace(" ", "").replace('"', "").lower() != f"{column}_l={column}_r".lower():
                raise ValueError(
                    f"linkage model: comparison {comparison.output_column_name!r} adjusts the level "
                    f"{level.sql_condition!r} by the term frequency of {column!r}; the pair cache "
                    f"(pair_cache.py) needs TF levels to be exact agreement ({column}_l = {column}_r)")
            levels.append(TfLevel(comparison._gamma_column_name, level.comparison_vector_value, column))
    return levels


def _gamma_columns(linker) -> list[str]:
    return [c._gamma_column_name for c in linker._settings_obj.comparisons]


def _cache_state(con: duckdb.DuckDBPyConnection, fingerprint: str) -> str | None:
    """None when the cache is usable, else why the night compares every pair."""
    if not all(table_exists(con, *t.split(".")) for t in (PAIRS, IDENTITY, META)):
        return "no pair cache (first night, new warehouse or --full-refresh)"
    row = con.execute(f"select fingerprint from {META}").fetchone()
    if row is None or row[0] != fingerprint:
        return "comparisons or blocking rules changed since the pair cache"
    return None


def _input_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(f"describe {splink_settings.INPUT_TABLE}").fetchall() if r[0] != "unique_id"]


def _mark_touched(con: duckdb.DuckDBPyConnection, full: bool) -> tuple[int, int]:
    """_NOW (unique_id, identity_id, input_hash, touched, the identity's keys; `cached` on an
    incremental night) and INPUT_TABLE's `touched` column; returns (touched, removed) counts."""
    columns = _input_columns(con)
    # DuckDB's 64-bit hash of the row's columns (5x cheaper than an md5 of its JSON at 1M rows):
    # a changed row keeps its old hash with odds 2^-64; a DuckDB release that hashes otherwise
    # touches every identity once (correct, only slower).
    row_hash = "hash(" + ", ".join(f'i."{c}"' for c in columns) + ")"
    if full:
        con.execute(f"""create or replace temp table {_NOW} as
                        select i.unique_id, i.unique_id as identity_id, {row_hash} as input_hash, true as touched,
                               i.source_dataset, i.source_person_id
                        from {splink_settings.INPUT_TABLE} i""")
        removed = 0
        touched = con.execute(f"select count(*) from {_NOW}").fetchall()[0][0]
    else:
        con.execute(f"""create or replace temp table {_NOW} as
            with now as (
                select i.unique_id, i.source_dataset, i.source_person_id, {row_hash} as input_hash,
                       p.identity_id as old_id, p.input_hash as old_hash
                from {splink_settings.INPUT_TABLE} i
                left join {IDENTITY} p using (source_dataset, source_person_id))
            select unique_id,
                   coalesce(old_id, (select coalesce(max(identity_id), -1) from {IDENTITY})
                            + row_number() over (partition by old_id is null order by unique_id)) as identity_id,
                   input_hash, old_hash is distinct from input_hash as touched, source_dataset, source_person_id,
                   old_id is not null as cached
            from now""")
        # (source_dataset, source_person_id) is unique on both sides: the cached identities
        # not found tonight are the cache's count less tonight's found ones (no anti join).
        touched, removed = con.execute(
            f"""select count(*) filter (where touched),
                       (select count(*) from {IDENTITY}) - count(*) filter (where cached)
                from {_NOW}""").fetchall()[0]
    # The input gains its `touched` flag in place (a constant column, then the touched rows
    # updated), not by rewriting every identity's row in a join.
    con.execute(f"alter table {splink_settings.INPUT_TABLE} add column touched boolean default {str(full).lower()}")
    if not full and touched:
        con.execute(f"""update {splink_settings.INPUT_TABLE} set touched = true
                        where unique_id in (select unique_id from {_NOW} where touched)""")
    return touched, removed


def _rule_parts(rule: BlockingRule, full: bool) -> list[str]:
    """A blocking rule's SQL in the parts it is run in (see TOUCHED_SIDES)."""
    sql = rule.blocking_rule_sql
    parts = [f"({sql})"]
    if splink_settings.leaves_out_trusted_pairs(sql):
        parts = [f"{part} and {side}" for part in parts for side in UNTRUSTED_SIDES]
    if not full:
        parts = [f"{part} and {side}" for part in parts for side in TOUCHED_SIDES]
    return parts


def _blocked_pairs(con: duckdb.DuckDBPyConnection, linker, full: bool):
    """The pairs Splink's blocking gives for the model's rules, restricted to pairs with a touched
    side unless `full`: a Splink frame (join_key_l, join_key_r, match_key: the index of the first
    rule that finds the pair) of a temp table (see TOUCHED_SIDES)."""
    splink = linker._settings_obj
    rules = splink._blocking_rules_to_generate_predictions
    if any(type(rule) is not BlockingRule for rule in rules):
        raise ValueError("linkage model: the pair cache (pair_cache.py) runs plain blocking rules only, "
                         f"not {sorted({type(r).__name__ for r in rules} - {'BlockingRule'})}")
    ids = combine_unique_id_input_columns(splink.column_info_settings.source_dataset_input_column,
                                          splink.column_info_settings.unique_id_input_column)
    key_l, key_r = (_composite_unique_id_from_nodes_sql(ids, side) for side in ("l", "r"))
    pairs_only_once = _sql_gen_where_condition(splink._link_type, ids)   # "where l.unique_id < r.unique_id"
    joins = [f"select {key_l} as join_key_l, {key_r} as join_key_r, {index} as rule "
             f"from {splink_settings.INPUT_TABLE} l join {splink_settings.INPUT_TABLE} r on {part} {pairs_only_once}"
             for index, rule in enumerate(rules) for part in _rule_parts(rule, full)]
    table = "_linkage_blocked_pairs"
    con.execute(f"""create or replace temp table {table} as
        select join_key_l, join_key_r, min(rule)::varchar as match_key
        from ({' union all '.join(joins)}) t group by join_key_l, join_key_r""")
    return linker._db_api.table_to_splink_dataframe("__splink__blocked_id_pairs", table)


def _compare_touched(con: duckdb.DuckDBPyConnection, model: dict, full: bool) -> str:
    """The comparison vectors of every pair with a touched side (every pair when `full`), as a
    temp table in cache shape; returns its name.

    Only what the cache keeps is computed: the blocked pairs (_blocked_pairs), then Splink's
    comparison-vector SQL with just the unique ids, the gammas and each TF level's value.
    Splink's predict() would also compute and write every pair's matching columns, Bayes
    factors and probabilities, all thrown away here: at 1M people (3.2M pairs) 24-26 s with
    predict(), 13-15 s without, the same vectors (bench/RESULTS.md)."""
    out = "_linkage_pairs_tonight"
    linker = splink_runner.linker_for(con, model)
    try:
        splink = linker._settings_obj
        ids = splink.column_info_settings
        levels = tf_levels(linker)
        pipeline = CTEPipeline([_blocked_pairs(con, linker, full)])
        enqueue_df_concat_with_tf(linker, pipeline)
        # the value a TF level's frequency is looked up by: the left one (the level is exact agreement)
        columns = [name for column in ids.unique_id_input_columns for name in column.names_l_r]
        columns += [c._case_statement for c in splink.comparisons]
        columns += [f"{t.column}_l" for t in levels] + ["match_key"]
        pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
            splink._columns_to_select_for_blocking, columns,
            input_tablename_l="__splink__df_concat_with_tf", input_tablename_r="__splink__df_concat_with_tf",
            source_dataset_input_column=ids.source_dataset_input_column,
            unique_id_input_column=ids.unique_id_input_column,
            link_type=splink._link_type, sql_dialect_str=linker._sql_dialect_str))
        tf_values = [f"case when p.{t.gamma} = {t.value} then p.{t.column}_l end as tf_value_{t.column}"
                     for t in levels]
        con.execute(f"""create or replace temp table {out} as
            select a.identity_id as identity_l, b.identity_id as identity_r, p.match_key::varchar as match_key,
                   {', '.join(f'p.{g}' for g in _gamma_columns(linker))}{''.join(', ' + v for v in tf_values)}
            from ({pipeline.generate_cte_pipeline_sql()}) p
            join {_NOW} a on a.unique_id = p.unique_id_l
            join {_NOW} b on b.unique_id = p.unique_id_r""")
    finally:
        con.execute("drop table if exists _linkage_blocked_pairs")
        linker.table_management.delete_tables_created_by_splink_from_db()
        splink_runner.drop_splink_tables(con)
        splink_runner.drop_reference_term_frequencies(splink_runner.DuckDBRunner(con))
    return out


def _merge(con: duckdb.DuckDBPyConnection, tonight: str, fingerprint: str, full: bool) -> None:
    """Tonight's vectors into the cache, the old ones of touched and removed identities out,
    the identity numbers and fingerprint with them: one transaction."""
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists linkage")
        if full:
            con.execute(f"create or replace table {PAIRS} as select * from {tonight} order by identity_l, identity_r")
        else:
            con.execute(f"""create or replace temp table _linkage_identity_stale as
                select p.identity_id from {IDENTITY} p
                left join {_NOW} n using (source_dataset, source_person_id)
                where n.identity_id is null or n.touched""")
            con.execute(f"""delete from {PAIRS} where identity_l in (select identity_id from _linkage_identity_stale)
                            or identity_r in (select identity_id from _linkage_identity_stale)""")
            con.execute(f"insert into {PAIRS} by name select * from {tonight}")
            con.execute("drop table _linkage_identity_stale")
        con.execute(f"""create or replace table {IDENTITY} as
                        select source_dataset, source_person_id, identity_id, input_hash from {_NOW}
                        order by source_dataset, source_person_id""")
        con.execute(f"create or replace table {META} as select ?::varchar as fingerprint, now()::timestamp as built_at",
                    [fingerprint])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _score_all(con: duckdb.DuckDBPyConnection, model: dict, floor: float | None) -> tuple[pa.Table, int]:
    """Every cached pair scored with tonight's model (prior, TF) in Splink's own predict SQL;
    the pairs at or above `floor` (unique_id_l, unique_id_r, match_probability) and the
    number of pairs scored."""
    linker = splink_runner.linker_for(con, model)  # registers tonight's TF tables linkage_tf_<col>
    try:
        gammas = _gamma_columns(linker)
        levels = tf_levels(linker)
        tf_joins = "".join(
            f" left join linkage_tf_{t.column} tf_{t.column} on tf_{t.column}.{t.column} = p.tf_value_{t.column}"
            for t in levels)
        # one cached value per TF level (exact agreement): Splink's tf_l and tf_r are the same frequency
        tf_cols = "".join(f", tf_{t.column}.tf_{t.column} as tf_{t.column}_{side}"
                          for t in levels for side in ("l", "r"))
        con.execute(f"""create or replace temp view {_VECTORS} as
            select least(a.unique_id, b.unique_id) as unique_id_l, greatest(a.unique_id, b.unique_id) as unique_id_r,
                   {', '.join(f'p.{g}' for g in gammas)}{tf_cols}, p.match_key
            from {PAIRS} p
            join {_NOW} a on a.identity_id = p.identity_l
            join {_NOW} b on b.identity_id = p.identity_r{tf_joins}""")
        steps = predict_from_comparison_vectors_sqls_using_settings(linker._settings_obj, floor)
        ctes = ", ".join(f"{s['output_table_name']} as ({s['sql']})" for s in steps[:-1])
        sql = f"with {ctes} {steps[-1]['sql']}" if ctes else steps[-1]["sql"]
        edges = con.sql(f"select unique_id_l, unique_id_r, match_probability from ({sql}) "
                        "order by unique_id_l, unique_id_r").to_arrow_table()
        n_scored = con.execute(f"select count(*) from {PAIRS}").fetchall()[0][0]
    finally:
        con.execute(f"drop view if exists {_VECTORS}")
        linker.table_management.delete_tables_created_by_splink_from_db()
        splink_runner.drop_splink_tables(con)
        splink_runner.drop_reference_term_frequencies(splink_runner.DuckDBRunner(con))
    return edges, n_scored


def score_changed(con: duckdb.DuckDBPyConnection, model: dict,
                  floor: float | None = splink_runner.EDGE_FLOOR) -> tuple[pa.Table, CacheNight]:
    """Tonight's scored pairs at or above `floor` (None: all), with the cache brought up to date.
    Needs INPUT_TABLE (the Splink input; gains a `touched` column) and a model for its
    size (`splink_runner.load_model(path, n_identities)`)."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    fingerprint = comparisons_fingerprint(model)
    reason = _cache_state(con, fingerprint)
    full = reason is not None
    n_touched, n_removed = _mark_touched(con, full)
    seconds["touched"] = time.perf_counter() - t0
    n_identities = con.execute(f"select count(*) from {_NOW}").fetchall()[0][0]
    t1 = time.perf_counter()
    n_compared = 0
    if full or n_touched or n_removed:
        tonight = _compare_touched(con, model, full) if n_identities > 1 and n_touched \
            else _empty_batch(con, model)   # only removals, or under two identities
        n_compared = con.execute(f"select count(*) from {tonight}").fetchall()[0][0]
        seconds["compare"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        _merge(con, tonight, fingerprint, full)
        con.execute(f"drop table if exists {tonight}")
        seconds["merge"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    if n_identities > 1:
        edges, n_scored = _score_all(con, model, floor)
    else:
        edges, n_scored = _empty_edges(), 0
    seconds["score"] = time.perf_counter() - t3
    con.execute(f"drop table if exists {_NOW}")
    return edges, CacheNight(full=full, reason=reason or "incremental", n_touched=n_touched, n_removed=n_removed,
                             n_pairs_compared=n_compared, n_pairs_scored=n_scored, seconds=seconds)


def _empty_edges() -> pa.Table:
    return pa.table({"unique_id_l": pa.array([], pa.int64()), "unique_id_r": pa.array([], pa.int64()),
                     "match_probability": pa.array([], pa.float64())})


def _empty_batch(con: duckdb.DuckDBPyConnection, model: dict) -> str:
    """A cache-shaped empty batch (a night that only removes identities, or has fewer than
    two); returns its name."""
    name = "_linkage_pairs_tonight"
    linker = splink_runner.linker_for(con, model)
    try:
        columns = ["identity_l bigint", "identity_r bigint", "match_key varchar"]
        columns += [f"{g} integer" for g in _gamma_columns(linker)]
        columns += [f"tf_value_{t.column} varchar" for t in tf_levels(linker)]
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        splink_runner.drop_reference_term_frequencies(splink_runner.DuckDBRunner(con))
    con.execute(f"create or replace temp table {name} ({', '.join(columns)})")
    return name
