"""Stable person ids across runs, with merges and splits logged.

Each cluster of this run takes the id of the previous run's person it shares most
identities with; one previous id goes to at most one cluster. Candidates are taken
greatest overlap first, ties broken by the previous id, then by the cluster's
smallest identity key, so the outcome never depends on row order. A cluster that
inherits nothing gets a new id: "P" + the first 16 hex digits of SHA-256 of the
warehouse's id salt and its smallest identity key ("#1", "#2"... appended if that id
was ever issued before), so re-running on the same warehouse gives the same ids.
The salt is random per warehouse, kept in ops.person_id_salt (inside the private
warehouse file) and independent of the pseudonymisation secret: without it a
person_id cannot be recomputed from a known local id.

Set-based in DuckDB; only the contested candidates (a cluster or a previous id
with more than one candidate: merges and splits) go through the greedy loop in
Python, so an unchanged night of a million people costs a few joins.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

KEY_SEPARATOR = "\x1f"  # joins source_dataset and source_person_id into one key
SALT_SEPARATOR = "\x1e"  # between the warehouse's id salt and the identity key
LOG_COLUMNS = ["event", "person_id", "other_person_id", "source_dataset", "source_person_id", "n_records"]


@dataclass
class IdAssignment:
    person_id: pd.Series          # per current identity, aligned with the input rows
    log: pd.DataFrame             # LOG_COLUMNS


def warehouse_id_salt(con: duckdb.DuckDBPyConnection) -> str:
    """This warehouse's id salt, made (32 random bytes) the first time it is asked for."""
    con.execute("create schema if not exists ops")
    con.execute("create table if not exists ops.person_id_salt (salt varchar, created_at timestamp)")
    row = con.execute("select salt from ops.person_id_salt limit 1").fetchone()
    if row:
        return row[0]
    salt = secrets.token_hex(32)
    con.execute("insert into ops.person_id_salt values (?, now()::timestamp)", [salt])
    return salt


def new_person_id(seed_key: str, taken: set[str], salt: str) -> str:
    attempt = 0
    while True:
        text = seed_key if attempt == 0 else f"{seed_key}#{attempt}"
        candidate = "P" + hashlib.sha256(f"{salt}{SALT_SEPARATOR}{text}".encode()).hexdigest()[:16]
        if candidate not in taken:
            return candidate
        attempt += 1


def assign_ids(current: pd.DataFrame | pa.Table, previous: pd.DataFrame | pa.Table,
               ever_issued: set[str], salt: str,
               warehouse: duckdb.DuckDBPyConnection | None = None) -> IdAssignment:
    """current: source_dataset, source_person_id, cluster. previous: source_dataset,
    source_person_id, person_id (empty on the first run). salt: warehouse_id_salt()."""
    if not salt:
        raise ValueError("assign_ids needs the warehouse's id salt (warehouse_id_salt)")
    # On the warehouse's own instance (a cursor: its temp tables are its own) the work keeps
    # the run's memory limit and spill folder (duckdb_connection.py). Without a warehouse
    # (the unit tests: no run, no Settings) a plain in-memory database of its own.
    con = warehouse.cursor() if warehouse is not None else duckdb.connect()
    try:
        return _assign(con, _arrow(current), _arrow(previous), ever_issued, salt)
    finally:
        con.close()


def _arrow(frame: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame.astype({c: "object" for c in frame.columns if c != "cluster"}),
                                preserve_index=False)


def _assign(con: duckdb.DuckDBPyConnection, current: pa.Table, previous: pa.Table,
            ever_issued: set[str], salt: str) -> IdAssignment:
    con.register("cur_in", current)
    con.register("prev_in", previous)
    sep = KEY_SEPARATOR
    con.execute(f"""
        create temp table cur as
        select row_number() over () - 1 as row_ix, cast(source_dataset as varchar) as source_dataset,
               cast(source_person_id as varchar) as source_person_id, cast(cluster as bigint) as cluster,
               cast(source_dataset as varchar) || '{sep}' || cast(source_person_id as varchar) as key
        from cur_in""")
    con.execute("""
        create temp table prev as
        select cast(source_dataset as varchar) as source_dataset,
               cast(source_person_id as varchar) as source_person_id,
               cast(person_id as varchar) as person_id from prev_in""")
    con.execute("""
        create temp table overlap as
        select c.cluster, p.person_id, count(*) as n from cur c join prev p using (source_dataset, source_person_id)
        group by all""")
    con.execute("""
        create temp table clusters as
        select cluster, min(key) as min_key, count(*) as n_records from cur group by cluster""")
    # Uncontested: the cluster's only candidate, and that id's only candidate cluster.
    con.execute("""
        create temp table cand as
        select o.*, k.min_key,
               count(*) over (partition by o.cluster) as per_cluster,
               count(*) over (partition by o.person_id) as per_person
        from overlap o join clusters k using (cluster)""")
    assigned: dict[int, str] = dict(con.execute(
        "select cluster, person_id from cand where per_cluster = 1 and per_person = 1").fetchall())
    used_old = set(assigned.values())
    contested = con.execute(
        """select cluster, person_id from cand where not (per_cluster = 1 and per_person = 1)
           order by n desc, person_id, min_key""").fetchall()
    for cluster, person_id in contested:
        if cluster in assigned or person_id in used_old:
            continue
        assigned[cluster] = person_id
        used_old.add(person_id)

    # New ids for clusters that inherited nothing, in order of their smallest key.
    con.register("inherited_in", pa.table({"cluster": pa.array(list(assigned), pa.int64()),
                                           "person_id": pa.array(list(assigned.values()), pa.string())}))
    con.execute("create temp table inherited as select * from inherited_in")
    fresh = con.execute(
        """select cluster, min_key, 'P' || left(sha256($salt || min_key), 16) as natural_id, n_records
           from clusters anti join inherited using (cluster) order by min_key""",
        {"salt": salt + SALT_SEPARATOR}).fetchall()
    taken = set(ever_issued)
    taken.update(r[0] for r in con.execute("select distinct person_id from prev").fetchall())
    taken.update(used_old)
    new_rows = []
    events: list[tuple] = []
    for cluster, min_key, natural_id, n_records in fresh:
        pid = natural_id if natural_id not in taken else new_person_id(min_key, taken, salt)
        taken.add(pid)
        new_rows.append((cluster, pid))
        events.append(("new", pid, None, None, None, n_records))
    if new_rows:
        con.register("fresh_in", pa.table({"cluster": pa.array([r[0] for r in new_rows], pa.int64()),
                                           "person_id": pa.array([r[1] for r in new_rows], pa.string())}))
        con.execute("insert into inherited select * from fresh_in")

    logged = con.execute("""
        with mapped as (select c.*, i.person_id as new_id from cur c join inherited i using (cluster)),
        merges as (
            -- a cluster that kept one previous id and took in identities of another
            select 'merge' as event, i.person_id, o.person_id as other_person_id,
                   null as source_dataset, null as source_person_id, o.n as n_records, 1 as k
            from overlap o join inherited i using (cluster)
            where o.person_id <> i.person_id
              and i.person_id in (select person_id from prev)),
        splits as (
            -- a previous person whose identities now sit in several clusters
            select 'split' as event, o.person_id, i.person_id as other_person_id,
                   null, null, o.n, 2
            from overlap o join inherited i using (cluster)
            where o.person_id <> i.person_id
              and o.person_id in (select person_id from overlap group by person_id having count(*) > 1)),
        retired as (
            select 'retired', person_id, null, null, null, null, 3
            from (select distinct person_id from prev) anti join inherited using (person_id)),
        moved as (
            select 'record_moved', m.new_id, p.person_id, m.source_dataset, m.source_person_id, null, 4
            from mapped m join prev p using (source_dataset, source_person_id)
            where m.new_id <> p.person_id)
        select * exclude (k) from (
            select * from merges union all select * from splits union all select * from retired
            union all select * from moved)
        order by k, person_id, other_person_id, source_dataset, source_person_id""").fetchall()
    person_ids = con.execute(
        "select i.person_id from cur c join inherited i using (cluster) order by c.row_ix").fetchall()
    log = pd.DataFrame(events + logged, columns=LOG_COLUMNS)
    return IdAssignment(person_id=pd.Series([r[0] for r in person_ids], dtype=object), log=log)
