"""The nightly linkage step: source persons -> scored pairs -> clusters -> stable ids.

`link(con, settings)` is the whole step in plain Python (tests and the CLI call it);
the Dagster assets call its parts. Writes linkage.record_person (contract),
linkage.person, linkage.person_id_log and linkage.run_log.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dagster_project.engine.sql_runner import DuckDBRunner, SqlRunner
from dagster_project.linkage import (
    clustering,
    model_store,
    night_clustering,
    pair_cache,
    splink_runner,
    splink_settings,
    stable_ids,
)
from dagster_project.linkage.source_person import build_source_persons
from dagster_project.linkage.splink_input import build_splink_input_with
from dagster_project.settings import Settings
from dagster_project.sql import table_exists

# Scored pairs at or above this probability join clusters (docs/linkage.md: measured effect).
MATCH_THRESHOLD = 0.9
# Clearly different first names veto a link (clustering.py) only while the model says fewer
# true matches than this disagree on first name (m of its "all other" level): twins at one
# address differ only there. The shipped model (generator's mess): 0.059; FEBRL, where first
# names are often replaced, trains 0.18 and there the veto would cost more than it protects.
NAME_VETO_MAX_M = 0.1


def first_name_veto(model: dict) -> bool:
    comparison = next((c for c in model["comparisons"] if c["output_column_name"] == "first_name"), None)
    if comparison is None:
        return False
    other = comparison["comparison_levels"][-1]
    return (other.get("m_probability") or 0.0) < NAME_VETO_MAX_M


@dataclass
class LinkageSummary:
    run_id: int
    n_identities: int
    n_persons: int
    n_nhs_suspect: int
    n_by_rule: dict[str, int]
    n_edges_scored: int
    n_edges_accepted: int
    n_edges_refused: int
    refused_by_reason: dict[str, int]
    n_over_merges_refused: int      # scored links refused because of NHS numbers (clustering.py)
    id_events: dict[str, int]
    threshold: float
    model_sha256: str
    model_origin: str               # model_store: CAREJOURNEY_LINKAGE_MODEL | warehouse | shipped
    model_path: str
    seconds: dict[str, float] = field(default_factory=dict)
    # What scoring cost tonight (pair_cache.CacheNight as a dict; empty when another engine scored)
    pairs: dict = field(default_factory=dict)
    # Full or incremental clustering, why, and how many identities were clustered again
    # (night_clustering.NightClusters.as_log)
    clustering: dict = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return asdict(self)


def person_key(person_id: str, pseudo_key: str) -> str:
    """HMAC-SHA-256 hex of the person id, keyed with the deployment's secret."""
    return hmac.new(pseudo_key.encode("utf-8"), person_id.encode("utf-8"), hashlib.sha256).hexdigest()


def _ensure_log_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists linkage")
    con.execute(
        """create table if not exists linkage.person_id_log (
               run_id integer, event varchar, person_id varchar, other_person_id varchar,
               source_dataset varchar, source_person_id varchar, n_records integer)"""
    )
    con.execute(
        """create table if not exists linkage.run_log (
               run_id integer, finished_at timestamp, model_sha256 varchar, threshold double,
               summary json)"""
    )
    # Columns added after the first release: an older warehouse gets them on its next run.
    con.execute("alter table linkage.run_log add column if not exists n_over_merges_refused integer")
    con.execute("alter table linkage.run_log add column if not exists model_origin varchar")
    # pair_cache.py: identities compared tonight, pairs (re)compared, pairs scored (null: Spark scored all)
    con.execute("alter table linkage.run_log add column if not exists n_identities_touched bigint")
    con.execute("alter table linkage.run_log add column if not exists n_pairs_compared bigint")
    con.execute("alter table linkage.run_log add column if not exists n_pairs_scored bigint")
    # night_clustering.py: identities clustered tonight (the rest carried from last night)
    con.execute("alter table linkage.run_log add column if not exists n_identities_reclustered bigint")


# The columns clustering needs from the Splink input, per identity.
NODE_COLUMNS = ("unique_id", "source_dataset", "source_person_id", "provider", "nhs_number", "nhs_trusted",
                "nhs_number_valid", "first_name_std", "last_name")


@dataclass
class Scored:
    """What scoring hands to clustering: identities (nodes), scored pairs (edges), the model."""
    nodes: pa.Table
    edges: pa.Table
    model: dict
    seconds: float
    night: pair_cache.CacheNight | None = None   # the warehouse's pair cache, when it scored


def empty_edges() -> pa.Table:
    return pa.table({"unique_id_l": pa.array([], pa.int64()), "unique_id_r": pa.array([], pa.int64()),
                     "match_probability": pa.array([], pa.float64())})


def score_with(runner: SqlRunner, choice: model_store.ModelChoice,
               predict: Callable[[dict], pa.Table]) -> Scored:
    """Build the Splink input from linkage.source_person on the runner's engine and score
    pairs with the chosen model (`predict`: the engine's predict_edges)."""
    t0 = time.perf_counter()
    n_identities = build_splink_input_with(runner)
    model = splink_runner.load_model(choice.path, n_identities)
    edges = predict(model) if n_identities > 1 else empty_edges()
    nodes = runner.arrow(f"select {', '.join(NODE_COLUMNS)} from {splink_settings.INPUT_TABLE} order by unique_id")
    runner.drop(splink_settings.INPUT_TABLE)
    return Scored(nodes, edges, model, time.perf_counter() - t0)


def score_in_warehouse(con: duckdb.DuckDBPyConnection, choice: model_store.ModelChoice) -> Scored:
    """score_with on the DuckDB warehouse through its pair cache (pair_cache.py): only new and
    changed identities are compared, every cached pair is scored with tonight's model."""
    t0 = time.perf_counter()
    runner = DuckDBRunner(con)
    n_identities = build_splink_input_with(runner)
    model = splink_runner.load_model(choice.path, n_identities)
    edges, night = pair_cache.score_changed(con, model)
    nodes = runner.arrow(f"select {', '.join(NODE_COLUMNS)} from {splink_settings.INPUT_TABLE} order by unique_id")
    runner.drop(splink_settings.INPUT_TABLE)
    return Scored(nodes, edges, model, time.perf_counter() - t0, night)


def scored_from_exchange(folder: Path) -> Scored:
    """What the Spark worker's linkage step scored (engine/run_worker.py), read from its Parquet."""
    return Scored(pq.read_table(folder / "nodes.parquet"), pq.read_table(folder / "edges.parquet"),
                  json.loads((folder / "model.json").read_text()),
                  json.loads((folder / "result.json").read_text())["seconds"])


def predict_and_cluster(con: duckdb.DuckDBPyConnection, choice: model_store.ModelChoice,
                        threshold: float = MATCH_THRESHOLD, scored: Scored | None = None) -> LinkageSummary:
    """Score pairs with the chosen model (unless `scored` brings them from another engine),
    cluster, assign stable ids; writes linkage.record_person and linkage.person_id_log.
    Needs linkage.source_person."""
    _ensure_log_tables(con)
    if scored is None:
        scored = score_in_warehouse(con, choice)
    seconds: dict[str, float] = {"predict": scored.seconds}
    nodes, edges, model = scored.nodes, scored.edges, scored.model
    n_identities = nodes.num_rows
    model_sha = choice.sha256

    t1 = time.perf_counter()
    veto = first_name_veto(model)
    # Only the components tonight can have changed are clustered; the rest keep last night's
    # result, exactly (night_clustering.py; the full path when there is no valid base).
    night = night_clustering.cluster_night(con, nodes, edges, threshold, veto, model_sha)
    result = night.clusters
    seconds["cluster"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    person_ids, id_log = _stable_ids(con, nodes, night)
    run_id = con.execute("select coalesce(max(run_id), 0) + 1 from linkage.run_log").fetchall()[0][0]

    record_person = pa.table({
        "source_dataset": nodes.column("source_dataset"),
        "source_person_id": nodes.column("source_person_id"),
        "person_id": person_ids,
        "match_probability": pa.array(result.match_probability, pa.float64(), from_pandas=True),
        "match_rule": pa.array(result.match_rule, pa.string()),
    })
    log = pd.concat([id_log, _refusal_log(con, result, person_ids, nodes)],
                    ignore_index=True).assign(run_id=run_id)
    seconds["ids"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    incremental = not night.full and table_exists(con, "linkage", "record_person")
    if incremental:
        # Only the rows that differ from last night's are rewritten (_write_record_person).
        record_person = record_person.filter(pa.array(~night.unchanged))
    con.register("_new_record_person", record_person)
    con.register("_new_id_log", log)
    try:
        con.execute("begin transaction")
        _write_record_person(con, "_new_record_person", night.removed if incremental else None)
        con.execute(
            """insert into linkage.person_id_log
               select run_id, event, person_id, other_person_id, source_dataset,
                      source_person_id, n_records from _new_id_log"""
        )
        seconds["write"] = time.perf_counter() - t3
        t4 = time.perf_counter()
        # the base of tomorrow's clustering, with the record_person it describes
        night_clustering.write_state(con, nodes, night, threshold, veto, model_sha)
        con.execute("commit")
        seconds["state"] = time.perf_counter() - t4
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_new_record_person")
        con.unregister("_new_id_log")

    n_suspect = con.execute(
        "select count(*) from linkage.source_person where nhs_number_suspect").fetchall()[0][0]
    by_rule = dict(con.execute(
        "select match_rule, count(*) from linkage.record_person group by 1 order by 1").fetchall())
    n_persons = con.execute("select count(distinct person_id) from linkage.record_person").fetchall()[0][0]
    events = log["event"].value_counts().to_dict()
    summary = LinkageSummary(
        run_id=run_id, n_identities=n_identities, n_persons=n_persons, n_nhs_suspect=n_suspect,
        n_by_rule=by_rule, n_edges_scored=edges.num_rows, n_edges_accepted=result.n_edges_accepted,
        n_edges_refused=result.n_edges_refused, refused_by_reason=result.refused_by_reason,
        n_over_merges_refused=night.n_over_merges_refused, id_events={k: int(v) for k, v in events.items()},
        threshold=threshold, model_sha256=model_sha, model_origin=choice.origin,
        model_path=str(choice.path), seconds=seconds,
        pairs=asdict(scored.night) if scored.night else {}, clustering=night.as_log(),
    )
    record_run(con, summary)
    return summary


def _write_record_person(con: duckdb.DuckDBPyConnection, rows: str, removed: pa.Table | None) -> None:
    """linkage.record_person from the relation `rows`, inside the caller's transaction. Whole
    (`removed` None: a full clustering), or as a delete+insert: `rows` holds every identity
    whose row is new or differs from last night's (night_clustering: the re-clustered ones
    and the carried ones whose probability moved), `removed` last night's identities gone."""
    select = f"""select source_dataset::varchar as source_dataset,
                        source_person_id::varchar as source_person_id,
                        person_id::varchar as person_id,
                        match_probability::double as match_probability,
                        match_rule::varchar as match_rule
                 from {rows}"""
    if removed is None:
        con.execute(f"create or replace table linkage.record_person as {select} "
                    "order by source_dataset, source_person_id")
        return
    con.execute(f"""delete from linkage.record_person r using {rows} n
                    where r.source_dataset = n.source_dataset and r.source_person_id = n.source_person_id""")
    if removed.num_rows:
        con.register("_removed_identities", removed)
        try:
            con.execute("""delete from linkage.record_person r using _removed_identities g
                           where r.source_dataset = g.source_dataset
                             and r.source_person_id = g.source_person_id""")
        finally:
            con.unregister("_removed_identities")
    con.execute(f"insert into linkage.record_person {select}")


def _stable_ids(con: duckdb.DuckDBPyConnection, nodes: pa.Table,
                night: night_clustering.NightClusters) -> tuple[pa.Array, pd.DataFrame]:
    """Each identity's stable person id and the id log (stable_ids.py). Carried identities
    keep last night's person; only the re-clustered ones, and last night's persons they
    held or lost, go through assign_ids (the others are uncontested there, so the result is
    the same), with every id of last night counted as taken."""
    has_previous = table_exists(con, "linkage", "record_person")
    ever = set(con.sql("select distinct person_id from linkage.person_id_log where event = 'new'")
               .to_arrow_table()["person_id"].to_pylist())   # Arrow: a million ids in a fraction of fetchall's time
    salt = stable_ids.warehouse_id_salt(con)
    redo = night.reclustered
    current = pa.table({
        "source_dataset": nodes.column("source_dataset").filter(pa.array(redo)),
        "source_person_id": nodes.column("source_person_id").filter(pa.array(redo)),
        "cluster": pa.array(night.clusters.cluster_of[redo], pa.int64()),
    })
    cur = con.cursor()
    try:
        if not has_previous:
            previous = pa.table({name: pa.array([], pa.string())
                                 for name in ("source_dataset", "source_person_id", "person_id")})
        elif night.full:
            previous = cur.sql("select source_dataset, source_person_id, person_id "
                               "from linkage.record_person").to_arrow_table()
        else:
            carried = pc.unique(night.previous_person.filter(pa.array(~redo)))
            cur.register("_carried_persons", pa.table({"person_id": carried}))
            previous = cur.sql("select source_dataset, source_person_id, person_id from linkage.record_person "
                               "anti join _carried_persons using (person_id)").to_arrow_table()
            ever.update(carried.to_pylist())
    finally:
        cur.close()
    assignment = stable_ids.assign_ids(current, previous, ever, salt, warehouse=con)
    # carried identities keep last night's id; the re-clustered ones take theirs, in order
    assigned = pa.array(assignment.person_id.to_numpy(dtype=object), pa.string())
    return pc.replace_with_mask(night.previous_person, pa.array(redo), assigned), assignment.log


def _refusal_log(con: duckdb.DuckDBPyConnection, result: clustering.Clusters, person_ids: pa.Array,
                 nodes: pa.Table) -> pd.DataFrame:
    """One `refused_<reason>` event per pair of persons kept apart over NHS numbers:
    the identity (source_dataset, source_person_id) of person_id scored a link to
    other_person_id that clustering refused. Logged the first run it happens only, so
    an unchanged night still logs nothing new."""
    datasets, ids = nodes.column("source_dataset"), nodes.column("source_person_id")
    seen: set[tuple[str, str, str]] = set()
    rows = []
    for a, b, reason in result.refused_pairs:
        event = f"refused_{reason}"
        key = (event, person_ids[a].as_py(), person_ids[b].as_py())
        if key in seen:
            continue
        seen.add(key)
        rows.append((*key, datasets[a].as_py(), ids[a].as_py(), None))
    log = pd.DataFrame(rows, columns=stable_ids.LOG_COLUMNS)
    if log.empty:
        return log
    logged = {tuple(r) for r in con.execute(
        "select event, person_id, other_person_id from linkage.person_id_log where event like 'refused_%'"
    ).fetchall()}
    keep = [(e, p, o) not in logged
            for e, p, o in zip(log["event"], log["person_id"], log["other_person_id"], strict=False)]
    return log[keep]


def build_person(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: int | None = None) -> int:
    """linkage.person from record_person: HMAC person_key, sizes, and when each id was
    first seen and last changed (membership differs from the previous run's).
    run_id defaults to the latest linkage run (the one that wrote record_person).

    What costs is per person, not per night: the ordered membership md5 is computed only
    for persons whose membership hash (an order-free 64-bit hash of their identities)
    differs from last night's row, and person_key (HMAC) only for ids without one made
    with tonight's key (checked on last night's rows first; another key recomputes all).
    Every value is the one a rebuild from scratch gives."""
    if run_id is None:
        run_id = con.execute("select coalesce(max(run_id), 1) from linkage.run_log").fetchall()[0][0]
    if not table_exists(con, "linkage", "person"):
        con.execute(
            """create table linkage.person (person_id varchar, person_key varchar, n_source_records integer,
                   min_link_probability double, first_seen_run integer, last_changed_run integer,
                   membership_md5 varchar, membership_hash ubigint)""")
    con.execute("alter table linkage.person add column if not exists membership_hash ubigint")
    opad, ipad = _hmac_pads(settings.pseudo_key)
    keys = {"opad": opad, "ipad": ipad}
    # Last night's keys are reused only if made with tonight's secret (the table is written
    # whole with one secret, so a sample of it decides; a rotation recomputes every key).
    reuse_keys = con.execute(
        f"""select count(*) > 0 and bool_and(person_key = {_hmac_sql('person_id')})
            from (select person_id, person_key from linkage.person limit 8)""", keys).fetchone()[0]
    con.execute(
        """create or replace temp table _person_now as
           select person_id, count(*)::integer as n_source_records,
                  min(match_probability) as min_link_probability,
                  bit_xor(hash(source_dataset, source_person_id)) as membership_hash
           from linkage.record_person group by person_id""")
    con.execute(
        """create or replace temp table _person_md5 as
           select person_id, md5(string_agg(source_dataset || '|' || source_person_id, ','
                                            order by source_dataset, source_person_id)) as membership_md5
           from linkage.record_person
           semi join (select n.person_id from _person_now n left join linkage.person p using (person_id)
                      where p.membership_hash is distinct from n.membership_hash
                         or p.membership_md5 is null) using (person_id)
           group by person_id""")
    con.execute(
        f"""create or replace temp table _person_new as
            select n.person_id,
                   case when $reuse and p.person_key is not null then p.person_key
                        else {_hmac_sql('n.person_id')} end as person_key,
                   n.n_source_records, n.min_link_probability,
                   coalesce(p.first_seen_run, $run)::integer as first_seen_run,
                   (case when p.membership_md5 = coalesce(m.membership_md5, p.membership_md5)
                         then p.last_changed_run else $run end)::integer as last_changed_run,
                   coalesce(m.membership_md5, p.membership_md5) as membership_md5,
                   n.membership_hash
            from _person_now n
            left join linkage.person p using (person_id)
            left join _person_md5 m using (person_id)""",
        {"run": run_id, "reuse": reuse_keys, **keys})
    # Only the rows that differ from last night's are written (most persons' rows are the
    # same: set difference, nulls equal); a person gone is deleted. Another key: all differ.
    con.execute("""create or replace temp table _person_changed as
                   select * from _person_new except select * from linkage.person""")
    con.execute("begin transaction")
    try:
        con.execute("""delete from linkage.person p where p.person_id in (select person_id from _person_changed)
                          or p.person_id not in (select person_id from _person_new)""")
        con.execute("insert into linkage.person select * from _person_changed order by person_id")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("drop table if exists _person_new")
    con.execute("drop table if exists _person_changed")
    con.execute("drop table if exists _person_now")
    con.execute("drop table if exists _person_md5")
    return con.execute("select count(*) from linkage.person").fetchall()[0][0]


def _hmac_pads(secret: str) -> tuple[bytes, bytes]:
    """HMAC's outer and inner padded keys (RFC 2104) for SHA-256 (64-byte blocks)."""
    key = secret.encode("utf-8")
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x5C for b in key), bytes(b ^ 0x36 for b in key)


def _hmac_sql(column: str) -> str:
    """HMAC-SHA-256 hex of a VARCHAR column in DuckDB (same value as `person_key`), so a
    million keys cost one vectorised pass instead of a Python loop; pads are parameters."""
    return f"sha256($opad::blob || unhex(sha256($ipad::blob || encode({column}))))"


def record_run(con: duckdb.DuckDBPyConnection, summary: LinkageSummary) -> None:
    con.execute(
        """insert into linkage.run_log (run_id, finished_at, model_sha256, threshold, summary,
                                        n_over_merges_refused, model_origin, n_identities_touched,
                                        n_pairs_compared, n_pairs_scored, n_identities_reclustered)
           values (?, now()::timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [summary.run_id, summary.model_sha256, summary.threshold, json.dumps(summary.as_metadata()),
         summary.n_over_merges_refused, summary.model_origin, summary.pairs.get("n_touched"),
         summary.pairs.get("n_pairs_compared"), summary.pairs.get("n_pairs_scored"),
         summary.clustering.get("n_identities_reclustered")],
    )


def link(con: duckdb.DuckDBPyConnection, settings: Settings,
         choice: model_store.ModelChoice | None = None, threshold: float = MATCH_THRESHOLD) -> LinkageSummary:
    """The whole nightly linkage on an open warehouse connection, with the deployment's
    model (model_store.choose_model) unless `choice` says otherwise."""
    choice = choice or model_store.choose_model(settings)
    t0 = time.perf_counter()
    build_source_persons(con)
    t_source = time.perf_counter() - t0
    summary = predict_and_cluster(con, choice, threshold)
    t1 = time.perf_counter()
    build_person(con, settings, summary.run_id)
    summary.seconds = {"source_person": t_source, **summary.seconds, "person": time.perf_counter() - t1}
    return summary
