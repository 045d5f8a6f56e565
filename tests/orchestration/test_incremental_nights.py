"""Incremental nights give the same warehouse as a full rebuild of the same landing.

A small generated landing (with the generator's mess: corrections, duplicates, keying
slips) is replayed night by night into one warehouse, each night as the nightly job
runs it (ingest, dbt's half before linkage, linkage on dbt's linkage.source_person, the
night's plan, dbt's half after linkage, the baseline): first load, a correcting re-delivery,
a new quarter, a late file for an old period, an opt-out added, a retraction (a re-delivered CLD
record naming another person), one council's next quarter (the as-of date moves on for people
whose records stand); the correcting re-delivery also gives a HES patient a CLD
person's NHS number, so that person's suspect flag changes on a night that does not
touch it. Then a fresh warehouse with the same id salt builds
the final landing in one full night. Every intermediate and mart table the per-person
models feed must be equal, rows sorted, byte for byte (person ids and keys replaced by
each person's smallest identity, as a full rebuild mints ids afresh: "up to id
stability"), and linkage.record_person must put the same identities together.

dbt runs only what the per-person models need (their upstream and themselves): the
aggregates are plain tables rebuilt from them every night. After each night publish
writes the analyst copy (the person-level tier; the aggregates' tier is written whole
every night and needs the aggregates): on the nights whose base it can prove it starts
from the last copy (publish/analyst_base.py), and the copy must equal a full write of
the same warehouse, table for table (rows, types, comments, Parquet).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from warehouse_compare import analyst_copy, canonical_tables, connect, linkage_scores, people, staging_rows

from dagster_project import duckdb_connection
from dagster_project.dbt.assets import BEFORE_LINKAGE, build_args
from dagster_project.dbt.project import dbt_project
from dagster_project.ingest.run import ingest_landing
from dagster_project.linkage import model_store
from dagster_project.linkage.link import build_person, predict_and_cluster
from dagster_project.publish import core as publish_core
from dagster_project.publish import identifiers, kept_identifiers
from dagster_project.runs import incremental, staging_plan
from dagster_project.settings import DBT_PROJECT_DIR, Settings

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PSEUDO_KEY = "0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4" "a3928170f6e5d4c3b2a1908f7e6d5c4b"  # 32 random bytes, hex
# The per-person models and everything upstream of them (not the aggregates).
PER_PERSON = "+person +journey +hospital_spell"
HELD_BACK = "asc_cld_E08000036_20230930.csv"   # the late file for an old period
AS_OF_MOVER = "asc_cld_E08000032_20240630.csv"  # the last night: the as-of date moves on


# seed 14 (11 until issue 16's care home draws changed the generator's random stream): the
# test needs pairs for linkage to score on the first night and an incremental night that
# compares only some of them, and 400 people give only a handful (seed 11 now: none on the
# first night; 12 and 13: no night comparing a part; 14 and 15 pass)
@pytest.fixture(scope="module")
def full_landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nights_landing")
    subprocess.run([str(BIN / "carejourney"), "generate", "--people", "400", "--seed", "14",
                    "--start", "2023-04-01", "--end", "2024-06-30", "--councils", "3",
                    "--out", str(root / "landing"), "--truth", str(root / "truth")],
                   check=True, capture_output=True, timeout=300)
    return root / "landing"


def _copy(full: Path, landing: Path, until: str, skip: tuple[str, ...] = ()) -> None:
    """Deliveries dated up to `until` (YYYYMMDD) and the reference files."""
    for path in sorted(full.rglob("*.csv")):
        stamp = path.stem.rsplit("_", 1)[-1]
        if path.parent.name != "reference" and (stamp > until or path.name in skip):
            continue
        target = landing / path.relative_to(full)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _rewrite(path: Path, change) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows = change(rows)
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _correct_a_hes_record(full: Path, landing: Path) -> None:
    """Re-deliver the latest HES file with one episode's discharge moved a day later and
    one patient's postcode corrected, under a later delivery date."""
    source = sorted((landing / "hes_apc").glob("*.csv"))[-1]
    target = source.with_name("hes_apc_20240101.csv")
    shutil.copy2(source, target)

    def change(rows):
        header = rows[0]
        dis, end, post = header.index("DISDATE"), header.index("EPIEND"), header.index("HOMEADD")
        for row in rows[1:]:
            if row[dis] and row[dis] == row[end]:
                moved = (dt.date.fromisoformat(row[dis]) + dt.timedelta(days=1)).isoformat()
                row[dis] = row[end] = moved
                break
        rows[2][post] = "LS1 4AP"
        return rows
    _rewrite(target, change)
    _key_someone_elses_number(landing, source, target)


def _date(text: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _key_someone_elses_number(landing: Path, source: Path, target: Path) -> None:
    """In the re-delivered HES file, a patient seen in no other HES file is given a CLD person's NHS
    number (keyed from someone else's notes): a birth date decades apart and another postcode,
    so both holders become suspect (int_linkage__nhs_number_suspects). The CLD person's
    records did not change: its flag changes though its identity is not touched tonight,
    which linkage.source_person's incremental build must catch (macro incremental_by_identity)."""
    seen: set[tuple[str, str]] = set()
    elsewhere: set[str] = set()   # numbers HES or CSDS carry
    for path in (landing / "hes_apc").glob("*.csv"):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                elsewhere.add(row["NEWNHSNO"].strip())
                if path not in (source, target):
                    seen.add((row["PROCODE3"], row["LOPATID"]))
    for path in (landing / "csds").glob("csds_cyp001_mpi_*.csv"):
        with path.open(newline="") as handle:
            elsewhere.update(row["NHSNumber"].strip() for row in csv.DictReader(handle))
    holders: dict[str, set[str]] = {}   # number: the CLD identities carrying it
    cld = []
    for path in (landing / "asc_cld").glob("*.csv"):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                holders.setdefault(row["NHS Number"].strip(), set()).add(
                    row["LA Code"] + "|" + row["LA Person Unique Identifier"])
                cld.append(row)

    def change(rows):
        header = rows[0]
        number, dob, post = header.index("NEWNHSNO"), header.index("DOB"), header.index("HOMEADD")
        patient = (header.index("PROCODE3"), header.index("LOPATID"))
        for row in rows[3:]:
            key = (row[patient[0]], row[patient[1]])
            born = _date(row[dob])
            if key in seen or born is None:
                continue
            for other in cld:
                other_born = _date(other["Date of Birth"])
                lent = other["NHS Number"].strip()
                if (lent and len(holders[lent]) == 1 and lent not in elsewhere
                        and other_born is not None and abs(other_born.year - born.year) > 20
                        and other_born.month != born.month and other_born.day != born.day
                        and other["Postcode"].replace(" ", "") != row[post].replace(" ", "")):
                    for episode in rows[1:]:   # every episode of the patient
                        if (episode[patient[0]], episode[patient[1]]) == key:
                            episode[number] = lent
                    return rows
        raise AssertionError("no HES patient seen once and CLD person to share a number with")
    _rewrite(target, change)


def _opt_out(landing: Path) -> None:
    """Two more people opt out: NHS numbers from the first HES file."""
    with next((landing / "hes_apc").glob("*.csv")).open(newline="") as handle:
        numbers = [row["NEWNHSNO"] for row in csv.DictReader(handle) if row["NEWNHSNO"]][:2]
    path = landing / "reference" / "national_data_opt_out.csv"
    path.write_text(path.read_text() + "".join(f"{n}\n" for n in numbers))


def _retract_a_cld_record(landing: Path) -> None:
    """Re-deliver a council's latest CLD file with one event's record given to another
    person of the council (the event retracted from the first)."""
    source = sorted((landing / "asc_cld").glob("asc_cld_E08000032_*.csv"))[-1]
    stamp = source.stem.rsplit("_", 1)[-1]
    later = (dt.datetime.strptime(stamp, "%Y%m%d").date() + dt.timedelta(days=1)).strftime("%Y%m%d")
    target = source.with_name(f"asc_cld_E08000032_{later}.csv")
    shutil.copy2(source, target)

    def change(rows):
        header = rows[0]
        pid = header.index("LA Person Unique Identifier")
        others = [r for r in rows[1:] if r[pid] != rows[1][pid]]
        donor = others[0]
        rows[1] = [donor[i] if header[i] in _PERSON_COLUMNS else v for i, v in enumerate(rows[1])]
        return rows
    _rewrite(target, change)


_PERSON_COLUMNS = {"LA Person Unique Identifier", "NHS Number", "First Name", "Last Name", "Gender",
                   "Date of Birth", "Date of Death", "Postcode"}


# The parsed project, per parse-time vars: every dbt invocation of the test runs on it.
# Left to itself dbt parses again on each invocation: in full for each new warehouse (its
# path is a var and a connection key), partly on every other night, each time the same
# files and vars giving the same manifest (bench/suite_time.md, "h13-suite"). Only the
# vars that dbt/profiles.yml reads (the warehouse and its DuckDB settings: where to
# connect, not what the models are) are left out of the key; each invocation still passes
# them, so each build connects to its own warehouse.
_MANIFESTS: dict[str, Manifest] = {}
_PROFILE_VARS = ("warehouse_dir", "duckdb_")


def _dbt(args: list[str], work: Path) -> None:
    paths = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--quiet"]
    run_vars = args[args.index("--vars") + 1]
    key = json.dumps({name: value for name, value in json.loads(run_vars).items()
                      if not name.startswith(_PROFILE_VARS)}, sort_keys=True)
    if key not in _MANIFESTS:
        parsed = dbtRunner().invoke(["parse", "--vars", run_vars, *paths])
        assert parsed.success, f"dbt parse failed: {parsed.exception}"
        _MANIFESTS[key] = parsed.result
    result = dbtRunner(manifest=_MANIFESTS[key]).invoke([*args, *paths])
    assert result.success, f"dbt {' '.join(args)} failed: {result.exception}"


def night(landing: Path, warehouse: Path, work: Path) -> tuple[incremental.NightPlan, bool]:
    """One nightly job without the gates and publish: its plan, and whether staging was rebuilt whole."""
    settings = Settings.from_env(landing, warehouse, None, pseudo_key=PSEUDO_KEY)
    warehouse.mkdir(parents=True, exist_ok=True)
    with duckdb_connection.connect(settings) as con:
        ingest_landing(settings, con)
        # as the nightly job: seeds and the staging of sources with no new load stand as the
        # last complete build left them (runs/staging_plan.py)
        staging = staging_plan.plan_staging(con, settings, dbt_project.manifest_path)
        exclude = staging.exclude_selectors()
    _dbt([*build_args(settings, full_refresh=staging.full), "--select", BEFORE_LINKAGE,
          *(["--exclude", " ".join(exclude)] if exclude else []),
          "--exclude-resource-type", "test"], work)
    with duckdb_connection.connect(settings) as con:
        # linkage.source_person, rebuilt by identity, flags exactly tonight's suspects and holds
        # every identity once (an identity flagged or unflagged tonight need not be touched)
        assert con.execute("""select count(*) from linkage.source_person sp
            where sp.nhs_number_suspect <> ((sp.source_dataset, sp.source_person_id) in
                  (select source_dataset, source_person_id from intermediate.int_linkage__nhs_number_suspects))
            """).fetchone()[0] == 0
        assert con.execute("select count(*) from linkage.source_person").fetchone() == con.execute(
            "select count(*) from intermediate.int_linkage__identities").fetchone()
        # as the nightly job's linkage assets: on dbt's linkage.source_person (link() would rebuild it)
        predict_and_cluster(con, model_store.choose_model(settings))
        build_person(con, settings)
        plan = incremental.plan_night(con, settings)
    _dbt([*build_args(settings, plan), "--select", PER_PERSON, "--exclude", BEFORE_LINKAGE,
          "--exclude-resource-type", "test"], work)
    with duckdb_connection.connect(settings) as con:
        incremental.mark_built(con, plan)
    return plan, staging.full


def publish_analyst_copy(landing: Path, warehouse: Path, work: Path) -> tuple[str, str]:
    """publish's analyst tier after a night (the tiers patched by the test); the copy must equal
    a full write of the same warehouse, and the identifier tables it keeps a whole build. Returns how the
    copy was written (full | incremental) and how the identifier tables were made (kept_identifiers)."""
    settings = Settings.from_env(landing, warehouse, None, pseudo_key=PSEUDO_KEY)
    with duckdb_connection.connect(settings) as con:
        result = publish_core.publish(settings, con)
        full = work / "full_writes" / result.analyst_version_dir.name
        full.mkdir(parents=True)
        docs = {relation: mart.doc for relation, mart in publish_core.MARTS.items()}
        publish_core._write(con, con.execute("select current_database()").fetchone()[0], publish_core.ANALYST,
                            full, settings, docs)
        # the identifier tables publish keeps (built whole or brought up to date) equal a whole build
        whole = identifiers.build_identifier_tables(con)
        kept = [(kept_identifiers.VALUES, "value"), (kept_identifiers.TOKENS, "token")]
        assert [con.execute(f"select {c}, kind from {t} order by all").fetchall() for t, c in kept] == \
            [con.execute(f"select * from {t} order by all").fetchall() for t in whole], result.identifier_plan
    assert analyst_copy(result.analyst_version_dir) == analyst_copy(full), result.analyst_plan
    return result.analyst_plan.mode, result.identifier_plan.mode


def test_incremental_nights_equal_a_full_rebuild(full_landing, tmp_path, monkeypatch):
    # At this size a re-delivery touches most people, where a real night would rebuild
    # all (FULL_REBUILD_SHARE); here every night the rules allow is incremental.
    monkeypatch.setattr(incremental, "FULL_REBUILD_SHARE", 1.01)
    # this test builds the per-person marts only: publish writes the analyst tier alone
    monkeypatch.setattr(publish_core, "TIERS", (publish_core.ANALYST,))
    monkeypatch.setattr(publish_core, "MART_TABLES", publish_core.ANALYST_TABLES)
    landing, warehouse, work = tmp_path / "landing", tmp_path / "warehouse", tmp_path / "dbt"
    landing.mkdir()
    plans, staging_full, copies, identifier_modes = {}, {}, {}, {}

    def tonight(name: str) -> None:
        plans[name], staging_full[name] = night(landing, warehouse, work)
        copies[name], identifier_modes[name] = publish_analyst_copy(landing, warehouse, work)

    _copy(full_landing, landing, "20230930", skip=(HELD_BACK,))
    tonight("first load")
    _correct_a_hes_record(full_landing, landing)
    tonight("correcting re-delivery")
    _copy(full_landing, landing, "20240331", skip=(HELD_BACK,))
    tonight("new quarter")
    _copy(full_landing, landing, "20240331")
    tonight("late file")
    _opt_out(landing)
    tonight("opt-out added")
    _retract_a_cld_record(landing)
    tonight("retraction")
    # Last, so nothing after it rebuilds who it left out: one council's next quarter. The
    # as-of date moves on three months while most people's records stand, so the follow-up
    # rules recompute people whose records did not change, and the other models do not.
    shutil.copy(full_landing / "asc_cld" / AS_OF_MOVER, landing / "asc_cld" / AS_OF_MOVER)
    tonight("as-of moves on")
    with connect(warehouse / "warehouse.duckdb") as con:
        assert con.execute("select count(*) filter (where records_changed) > 0, count(*) filter (where not records_changed) > 0 "
                           "from linkage.affected_person").fetchone() == (True, True)

    modes = {name: plan.mode for name, plan in plans.items()}
    assert modes == {"first load": "full", "correcting re-delivery": "incremental", "new quarter": "incremental",
                     "late file": "incremental", "opt-out added": "full", "retraction": "incremental",
                     "as-of moves on": "incremental"}, \
        {name: plan.reason for name, plan in plans.items()}
    # the analyst copy started from the last one on every incremental night, and was whole otherwise
    assert copies == modes
    # the identifier tables were built whole on the full nights, brought up to date on the others
    assert identifier_modes == {name: {"full": kept_identifiers.WHOLE, "incremental": kept_identifiers.UPDATED}[mode]
                                for name, mode in modes.items()}
    # Staging started from the baseline (macro incremental_by_record) on every night but the first.
    assert staging_full == {name: name == "first load" for name in plans}, staging_full
    # Incremental nights recomputed some people, not everyone.
    for name in ("correcting re-delivery", "as-of moves on", "late file", "retraction"):
        assert 0 < plans[name].n_affected < plans[name].n_persons, (name, plans[name])

    # The same landing in one full night, in a warehouse minting ids from the same salt.
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    with connect(warehouse / "warehouse.duckdb") as con:
        salt = con.execute("select salt, created_at from ops.person_id_salt").fetchall()
    with connect(rebuilt / "warehouse.duckdb") as con:
        con.execute("create schema ops; create table ops.person_id_salt (salt varchar, created_at timestamp)")
        con.executemany("insert into ops.person_id_salt values (?, ?)", salt)
    assert night(landing, rebuilt, work)[0].mode == "full"

    assert people(warehouse / "warehouse.duckdb") == people(rebuilt / "warehouse.duckdb")
    # linkage compared only the touched identities' pairs, yet holds a full rebuild's very values
    scores, pairs = linkage_scores(warehouse / "warehouse.duckdb")
    assert (scores, pairs) == linkage_scores(rebuilt / "warehouse.duckdb") and pairs
    with connect(warehouse / "warehouse.duckdb") as con:
        counts = con.execute("""select n_identities_touched, n_pairs_compared, n_pairs_scored,
                                       (summary->>'n_identities')::bigint from linkage.run_log order by run_id""").fetchall()
    assert counts[0][0] == counts[0][3] and counts[0][1] == counts[0][2] > 0, counts   # first night: all
    assert all(t < n and c <= s for t, c, s, n in counts[1:]) and any(0 < c < s for _, c, s, _ in counts), counts
    # clustering: every identity the first night; later nights only the components that could
    # change (linkage/night_clustering.py), some on the nights that touched identities
    with connect(warehouse / "warehouse.duckdb") as con:
        clustered = con.execute("""select (summary->'clustering'->>'full')::boolean, n_identities_reclustered,
                                          (summary->>'n_identities')::bigint from linkage.run_log order by run_id""").fetchall()
    assert clustered[0][0] and clustered[0][1] == clustered[0][2], clustered
    assert all(not full and r < n for full, r, n in clustered[1:]), clustered
    assert any(r > 0 for _, r, _ in clustered[1:]) and any(r == 0 for _, r, _ in clustered[1:]), clustered
    assert staging_rows(warehouse / "warehouse.duckdb") == staging_rows(rebuilt / "warehouse.duckdb")
    # the linkage input rebuilt by identity (macro incremental_by_identity) is a full build's
    source_persons = []
    for database in (warehouse / "warehouse.duckdb", rebuilt / "warehouse.duckdb"):
        with connect(database) as con:
            source_persons.append(con.execute("select * from linkage.source_person order by all").fetchall())
    assert source_persons[0] == source_persons[1]
    with connect(warehouse / "warehouse.duckdb") as con:   # the number keyed from CLD notes: both suspect
        assert con.execute("select count(*) from linkage.source_person where nhs_number_suspect "
                           "and source_dataset = 'asc_cld'").fetchone()[0] > 0
    got, expected = canonical_tables(warehouse / "warehouse.duckdb"), canonical_tables(rebuilt / "warehouse.duckdb")
    assert got.keys() == expected.keys()
    assert {"marts.person", "marts.journey", "marts.hospital_spell", "intermediate.int_hospital__spells",
            "intermediate.int_linkage__records", "intermediate.int_linkage__identities"} <= got.keys()
    different = [name for name in expected if got[name] != expected[name]]
    assert not different, f"incremental nights differ from a full rebuild in {different}"
