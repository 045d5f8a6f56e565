"""Incremental nights: which people tonight's dbt build must recompute, or that it must rebuild all.

The per-person dbt models (macro `incremental_by_person`: source records and identities,
spells, social care events, community referrals and contacts, demographics, deaths, the
outcome rules and the metrics' spell cohort; marts person, journey, hospital_spell) delete
and re-insert only the people in `linkage.affected_person`. Everything else (metrics, pathways, data
quality) is rebuilt from them.

The night is judged against the **baseline**: the state of the last dbt build of the
marts that completed (`ops.incremental_baseline`: the highest load id it covered, its
as-of date and the settings, code and key fingerprints; `linkage.record_person_built`:
who was who). It is written only after the whole build succeeded, so a night killed
half-way leaves the old baseline and the next night recomputes a superset of what the
killed one attempted (crash safety by construction).

A night is a **full rebuild** (dbt --full-refresh) when any of these holds:
  - there is no baseline (first night, `carejourney run --full-refresh`, a new warehouse);
  - the settings (linkage model included), the code (dbt models, seeds, Python) or the
    pseudonymisation key differ from the baseline's;
  - a reference snapshot that person-level models read (postcode directory, national
    data opt-out, deaths) loaded since the baseline: it can change anyone;
  - the as-of date moved back;
  - the people affected are at least FULL_REBUILD_SHARE of all people.
Otherwise the **affected people** are (old and new person ids, each with its key):
  - every person (before or after tonight's linkage) holding a source identity that a
    record loaded since the baseline names, or that an earlier version of the same
    record (same natural key) named; a care contact names its referral's patient;
  - every person whose linkage rows (identities, match probability, rule) changed;
  - then, until nothing is added, everyone sharing a hospital spell (PROCODE3 +
    PROVSPNOPS) with an affected person, as the spell model reads spells whole.
These have `records_changed`: every per-person model rebuilds them. Then, flagged
`records_changed` false, unless already in:
  - when the as-of date moved on, every person with a hospital spell whose follow-up
    window (the longest followup_days of seed metric_definitions) was still open;
  - and again everyone sharing a hospital spell with an affected person.
Only the models that read the as-of date (the follow-up rules and what is built on
them) rebuild those; a model whose inputs never read it says as_of_independent (dbt
macro incremental_by_person) and rebuilds only the people with records_changed. Only a
night that moves the as-of date (the first delivery of a new month) has people of the
second kind; the plan's reason gives both counts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from dagster_project import contract, keys
from dagster_project.linkage import night_clustering, pair_cache
from dagster_project.linkage.link import _hmac_pads, _hmac_sql
from dagster_project.settings import Settings
from dagster_project.sql import quote_ident

BASELINE = "ops.incremental_baseline"
SNAPSHOT = "linkage.record_person_built"
AFFECTED = "linkage.affected_person"   # also named by dbt macro affected_people_relation()
LOG = "ops.incremental_log"
# Tonight's decision and the baseline its affected people are relative to (one row; publish
# reads it to know whether last night's analyst copy is a valid base: publish/analyst_base.py).
NIGHT = "ops.incremental_night"
# When this share of all people is affected, a full rebuild costs about the same.
FULL_REBUILD_SHARE = 0.5
# Reference snapshots the per-person models read (population only feeds the metrics).
PERSON_LEVEL_REFERENCE = ("postcode_directory", "national_data_opt_out", "deaths")
# Sharing a spell between people is rare; a chain longer than this is rebuilt in full.
MAX_SPELL_CLOSURE_ROUNDS = 20
# Raw tables whose rows name a source identity (contract.SOURCE_PERSON_ID), by dataset.
PERSON_TABLES = ((contract.HES_APC, "hes_apc"), (contract.ASC_CLD, "asc_cld"),
                 (contract.CSDS_MPI, "csds"), (contract.CSDS_REFERRAL, "csds"))


@dataclass(frozen=True)
class NightPlan:
    mode: str                 # incremental | full
    reason: str
    max_load_id: int
    n_affected: int
    n_persons: int
    settings_fingerprint: str
    code_fingerprint: str
    key_fingerprint: str

    @property
    def full(self) -> bool:
        return self.mode == "full"


def _exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, name]).fetchone()[0])


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(f"""create table if not exists {BASELINE} (
        built_at timestamp, max_load_id bigint, as_of_date date, settings_fingerprint varchar,
        code_fingerprint varchar, key_fingerprint varchar)""")
    con.execute(f"""create table if not exists {LOG} (
        decided_at timestamp, mode varchar, reason varchar, max_load_id bigint, n_affected bigint,
        n_persons bigint)""")
    con.execute(f"create table if not exists {NIGHT} (decided_at timestamp, mode varchar, baseline_built_at timestamp)")


def forget_baseline(con: duckdb.DuckDBPyConnection) -> None:
    """The next build is a full rebuild (`carejourney run --full-refresh`), linkage's pair
    cache and clustering state included (every pair compared, every identity clustered afresh)."""
    _ensure_tables(con)
    con.execute(f"delete from {BASELINE}")
    pair_cache.forget(con)
    night_clustering.forget(con)


def plan_night(con: duckdb.DuckDBPyConnection, settings: Settings) -> NightPlan:
    """Decide tonight's build (see the module doc) and write linkage.affected_person
    (empty for a full rebuild). Needs linkage.record_person and linkage.person of tonight."""
    from dagster_project.runs import nothing_new

    _ensure_tables(con)
    fingerprints = (nothing_new.settings_fingerprint(settings), nothing_new.code_fingerprint(),
                    keys.fingerprint(settings.pseudo_key))
    max_load_id = con.execute("select coalesce(max(load_id), 0) from ops.load_ledger").fetchone()[0]
    n_persons = con.execute("select count(*) from linkage.person").fetchone()[0]
    reason, n_affected = _full_rebuild_reason(con, fingerprints), 0
    if reason is None:
        baseline_load_id, baseline_as_of = con.execute(
            f"select max_load_id, as_of_date from {BASELINE}").fetchone()
        settled = _collect_affected(con, baseline_load_id, baseline_as_of, _as_of(con))
        n_affected, n_records_changed = con.execute(
            "select count(distinct person_id), count(distinct person_id) filter (where records_changed) "
            "from _affected_ids").fetchone()
        if not settled:
            reason = f"people sharing hospital spells chain on past {MAX_SPELL_CLOSURE_ROUNDS} rounds"
        elif n_persons and n_affected >= FULL_REBUILD_SHARE * n_persons:
            reason = f"{n_affected} of {n_persons} people affected: as cheap to rebuild all"
    mode = "full" if reason else "incremental"
    if reason:
        con.execute("create or replace temp table _affected_ids (person_id varchar, records_changed boolean)")
        n_affected = n_persons
    else:
        reason = (f"{n_affected} of {n_persons} people affected since load {baseline_load_id} "
                  f"({_why_affected(n_affected, n_records_changed)})")
    _write_affected(con, settings)
    decided_at = con.execute("select now()::timestamp").fetchone()[0]
    con.execute(f"insert into {LOG} values (?, ?, ?, ?, ?, ?)",
                [decided_at, mode, reason, max_load_id, n_affected, n_persons])
    baseline_built_at = (con.execute(f"select max(built_at) from {BASELINE}").fetchone()[0]
                         if mode == "incremental" else None)
    con.execute(f"delete from {NIGHT}")
    con.execute(f"insert into {NIGHT} values (?, ?, ?)", [decided_at, mode, baseline_built_at])
    return NightPlan(mode, reason, max_load_id, n_affected, n_persons, *fingerprints)


def _why_affected(n_affected: int, n_records_changed: int) -> str:
    if n_records_changed == n_affected:
        return "all by their records or links"
    if n_records_changed == 0:
        return "all by the as-of date alone"
    return f"{n_records_changed} by their records or links, {n_affected - n_records_changed} by the as-of date alone"


def _full_rebuild_reason(con: duckdb.DuckDBPyConnection, fingerprints: tuple[str, str, str]) -> str | None:
    baseline = con.execute(
        f"select max_load_id, as_of_date, settings_fingerprint, code_fingerprint, key_fingerprint "
        f"from {BASELINE}").fetchone()
    if baseline is None:
        return "no complete build to start from (first night, or --full-refresh)"
    for what, before, now in zip(("settings or linkage model", "code", "pseudonymisation key"),
                                 baseline[2:], fingerprints, strict=True):
        if before != now:
            return f"the {what} changed since the last complete build"
    for table in (SNAPSHOT, "intermediate.int_hospital__spells", "intermediate.int_run__as_of"):
        if not _exists(con, table):
            return f"{table} is missing"
    reference = con.execute(
        "select string_agg(distinct table_name, ', ' order by table_name) from ops.load_ledger "
        "where load_id > ? and status = 'loaded' and table_name in (select unnest(?::varchar[]))",
        [baseline[0], list(PERSON_LEVEL_REFERENCE)]).fetchone()[0]
    if reference:
        return f"reference data that can change anyone loaded ({reference})"
    as_of = _as_of(con)
    if baseline[1] is not None and as_of is not None and as_of < baseline[1]:
        return f"the as-of date moved back ({baseline[1]} -> {as_of})"
    return None


def _as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """Tonight's as-of date: dbt builds int_run__as_of before linkage (dbt/assets.py)."""
    return con.execute("select max(as_of_date) from intermediate.int_run__as_of").fetchone()[0]


def touched_identities_sql(tables: tuple[str, ...] | None = None) -> str:
    """Source identities named by a record loaded after $load_id, or by any version of it
    (the identity it named before a correction). `tables`: the raw tables to look at
    (default every person-bearing one, care contacts through their referrals)."""
    parts = []
    for table, dataset in PERSON_TABLES:
        if tables is not None and table.name not in tables:
            continue
        keys_ = ", ".join(quote_ident(c) for c in table.natural_key)
        parts.append(
            f"""select '{dataset}' as source_dataset, {contract.source_person_id_sql(dataset, 'r')} as source_person_id
                from raw.{table.name} r
                semi join (select distinct {keys_} from raw.{table.name} where _load_id > $load_id) k
                    using ({keys_})""")
    if tables is not None and contract.CSDS_CONTACT.name not in tables:
        return "\nunion\n".join(parts) or ("select null::varchar as source_dataset, "
                                           "null::varchar as source_person_id where false")
    # A care contact names no patient: its referral (every version of it) does.
    referral, contact = contract.CSDS_REFERRAL.name, contract.CSDS_CONTACT.name
    contact_keys = ", ".join(quote_ident(c) for c in contract.CSDS_CONTACT.natural_key)
    parts.append(
        f"""select 'csds', {contract.source_person_id_sql('csds', 'r')}
            from raw.{referral} r
            semi join (select distinct c."OrgID_Provider", c."ServiceRequestId" from raw.{contact} c
                       semi join (select distinct {contact_keys} from raw.{contact} where _load_id > $load_id) k
                           using ({contact_keys})) s
                using ("OrgID_Provider", "ServiceRequestId")""")
    return "\nunion\n".join(parts)


def _collect_affected(con: duckdb.DuckDBPyConnection, baseline_load_id: int,
                      baseline_as_of: dt.date | None, as_of: dt.date | None) -> bool:
    """Fill temp table _affected_ids(person_id, records_changed); False if a spell closure
    did not settle."""
    con.execute(f"create or replace temp table _touched as {touched_identities_sql()}",
                {"load_id": baseline_load_id})
    con.execute(f"""
        create or replace temp table _affected_ids as
        select person_id, true as records_changed from (
            select person_id from linkage.record_person semi join _touched using (source_dataset, source_person_id)
            union select person_id from {SNAPSHOT} semi join _touched using (source_dataset, source_person_id)
            union select person_id from (select * from linkage.record_person except select * from {SNAPSHOT})
            union select person_id from (select * from {SNAPSHOT} except select * from linkage.record_person))""")
    # Everyone who shares a hospital spell with an affected person, now or at the baseline.
    con.execute(f"""
        create or replace temp table _spell_people as
        select distinct e.spell_id, p.person_id
        from staging.stg_hes_apc__episodes e
        join (select source_dataset, source_person_id, person_id from linkage.record_person
              union select source_dataset, source_person_id, person_id from {SNAPSHOT}) p
            using (source_dataset, source_person_id)
        where e.spell_id in (select spell_id from staging.stg_hes_apc__episodes
                             group by spell_id having count(distinct source_person_id) > 1)""")
    if not _close_over_shared_spells(con, records_changed=True):
        return False
    if as_of == baseline_as_of:
        return True
    # Outcome flags are "not yet known" while discharge + window > as-of (macro
    # followup_flag): only spells whose longest window was open at the earlier date move.
    con.execute(f"""
        insert into _affected_ids
        select distinct s.person_id, false from intermediate.int_hospital__spells s
        where (s.discharge_date is null
               or s.discharge_date + (select max(followup_days) from seeds.metric_definitions)::integer
                  >= least('{baseline_as_of or as_of}'::date, '{as_of or baseline_as_of}'::date))
          and not exists (select 1 from _affected_ids a where a.person_id = s.person_id)""")
    return _close_over_shared_spells(con, records_changed=False)


def _close_over_shared_spells(con: duckdb.DuckDBPyConnection, records_changed: bool) -> bool:
    """Add to _affected_ids, flagged `records_changed`, everyone sharing a hospital spell
    with someone in it, to a fixed point; False if that takes more than
    MAX_SPELL_CLOSURE_ROUNDS rounds."""
    for _ in range(MAX_SPELL_CLOSURE_ROUNDS):
        added = con.execute("""
            insert into _affected_ids
            select distinct o.person_id, ? from _spell_people s
            join _spell_people o using (spell_id)
            where s.person_id in (select person_id from _affected_ids)
              and not exists (select 1 from _affected_ids a where a.person_id = o.person_id)""",
            [records_changed]).fetchone()[0]
        if not added:
            return True
    return False


def _write_affected(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    opad, ipad = _hmac_pads(settings.pseudo_key)
    con.execute("create schema if not exists linkage")
    con.execute(
        f"""create or replace table {AFFECTED} as
            select person_id, {_hmac_sql('person_id')} as person_key, records_changed
            from (select person_id, bool_or(records_changed) as records_changed from _affected_ids
                  where person_id is not null group by person_id)
            order by person_id""", {"opad": opad, "ipad": ipad})


def mark_built(con: duckdb.DuckDBPyConnection, plan: NightPlan) -> None:
    """The dbt build of this plan completed: it is the baseline of the next night."""
    _ensure_tables(con)
    con.execute("begin transaction")
    try:
        con.execute(f"create or replace table {SNAPSHOT} as select * from linkage.record_person")
        con.execute(f"delete from {BASELINE}")
        con.execute(f"insert into {BASELINE} values (now()::timestamp, ?, ?, ?, ?, ?)",
                    [plan.max_load_id, _as_of(con), plan.settings_fingerprint, plan.code_fingerprint,
                     plan.key_fingerprint])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
