"""The nightly job end to end on a small generated landing, as an operator runs it.

One uninterrupted run is the reference. Then the same landing is run in a fresh
warehouse night by night: a first night without one late file, then an incremental
night SIGKILLed at two points (during the dbt build after linkage, during publish);
after each kill the warehouse still opens, the published copy is either absent/old or
whole, and a final uninterrupted run (over a landing now fully loaded, so also a no-op
for ingest) must give the reference result (up to id stability: warehouse_compare.py).
A kill during ingest is tests/ingest/test_deliveries.py's.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from warehouse_compare import canonical_tables, clock_free_delivery_date, linkage_scores, people

from dagster_project.engine.run_worker import STEP_DBT, STEPS_LOG
from dagster_project.exit_codes import ExitCode
from dagster_project.generate.calibration import MART_METRICS, compute, marts_figures
from dagster_project.generate.config import GeneratorConfig, MessConfig
from dagster_project.generate.generator import simulate
from dagster_project.publish.core import ANALYST_TABLES, PUBLISHED_TABLES

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PEOPLE = 1500
# A short window and three councils: few deliveries keep the runs quick, and one
# complete financial year (2023/24) with its follow-up still exercises every metric.
# Clean (no mess but the malformed rows every latest delivery carries, so the reject
# path still runs): the marts must then count exactly what the simulation holds; the
# mess itself is exercised by the ingest, linkage and quality tests.
LANDING = GeneratorConfig(people=PEOPLE, seed=7, start=dt.date(2023, 4, 1), end=dt.date(2024, 9, 30), councils=3,
                          mess=MessConfig.clean())
COMPLETE_YEAR = 2023
PSEUDO_KEY = "5f0c1e9a7b3d2468ace13579bdf02468" "9a8b7c6d5e4f30211f2e3d4c5b6a7988"  # 32 random bytes, hex
MARTS = ANALYST_TABLES + PUBLISHED_TABLES
COPIES = {"published": PUBLISHED_TABLES, "analyst": ANALYST_TABLES}


def _env(warehouse: Path, dagster_home: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "CAREJOURNEY_PSEUDO_KEY": PSEUDO_KEY, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in ("CAREJOURNEY_LANDING_DIR", "CAREJOURNEY_AS_OF", "DAGSTER_HOME", "CAREJOURNEY_PUBLISHED_GROUP",
                 "CAREJOURNEY_ANALYST_GROUP", "CAREJOURNEY_LOCK_WAIT_SECONDS"):
        env.pop(name, None)
    env["CAREJOURNEY_WAREHOUSE_DIR"] = str(warehouse)
    if dagster_home:
        env["DAGSTER_HOME"] = str(dagster_home)
    return env


def carejourney_run(landing: Path, warehouse: Path, *extra: str,
                    dagster_home: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "carejourney"), "run", "--landing", str(landing), "--warehouse", str(warehouse), *extra],
                          env=_env(warehouse, dagster_home), capture_output=True, text=True, timeout=900,
                          check=False)


def run_and_kill(landing: Path, warehouse: Path, step_fragment: str, delay: float) -> str:
    """Start a run, SIGKILL its whole process group `delay` s after a step containing
    `step_fragment` starts; return what it printed. Fails if the step never starts."""
    proc = subprocess.Popen([str(BIN / "carejourney"), "run", "--landing", str(landing), "--warehouse", str(warehouse)],
                            env=_env(warehouse), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if "▶" in line and step_fragment in line:
                time.sleep(delay)
                os.killpg(proc.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"step {step_fragment!r} never started:\n{''.join(seen)}")
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return "".join(seen)


def fingerprint(database: Path, tables: tuple[str, ...] = MARTS) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash of every mart table."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        out = {}
        for table in tables:
            columns = {c for (c,) in con.execute("select column_name from information_schema.columns "
                                                 "where table_schema = 'marts' and table_name = ?", [table]).fetchall()}
            # data_quality: a reference file's delivery date is its load date (warehouse_compare.py)
            rows = (f"(select * replace ({clock_free_delivery_date()} as delivery_date) from marts.{table})"
                    if {"delivery_date", "table_name"} <= columns else f"marts.{table}")
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash(t::varchar)), 0)::varchar from {rows} t").fetchone()
            out[table] = (count, digest)
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    subprocess.run([str(BIN / "carejourney"), "generate", "--people", str(LANDING.people), "--seed", str(LANDING.seed),
                    "--start", LANDING.start.isoformat(), "--end", LANDING.end.isoformat(),
                    "--councils", str(LANDING.councils), "--clean",
                    "--out", str(root / "landing"), "--truth", str(root / "truth")], check=True,
                   capture_output=True, timeout=300)
    return root / "landing"


@pytest.fixture(scope="module")
def reference(landing, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("reference")
    warehouse = root / "warehouse"
    # recorded in a Dagster home, as `python3 dev.py demo` records into the project's .dagster_home/
    (root / "dagster_home").mkdir()
    result = carejourney_run(landing, warehouse, dagster_home=root / "dagster_home")
    return warehouse, result


def test_nightly_run_publishes_and_summarises(reference):
    warehouse, result = reference
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    out = result.stdout
    assert "PUBLISHED" in out and "NOT PUBLISHED" not in out
    for label in ("files loaded", "rows loaded", "people linked", "metrics computed", "gates passed", "published"):
        assert label in out, f"summary lacks {label!r}:\n{out}"
    # a first night has no analyst copy to start from (publish/analyst_base.py), and says so
    assert "analyst written   full: no analyst copy recorded to start from (first publish)" in out, out
    for copy, tables in COPIES.items():
        prints = fingerprint(warehouse / copy / "carejourney.duckdb", tables)
        assert all(count > 0 for table, (count, _) in prints.items() if table != "pathway_transitions"), prints
        for table in tables:
            assert (warehouse / copy / f"{table}.parquet").exists()
    # the report of this very version sits inside it
    report = (warehouse / "published" / "report" / "index.html").resolve()
    assert report.parent.parent == (warehouse / "published").resolve()
    assert report.parent.parent.name in report.read_text()
    # dbt's artifacts stay with this warehouse (two warehouses run from one install never share them)
    assert (warehouse / "dbt_target" / "run_results.json").exists()


def test_the_nights_dbt_steps_ran_in_one_worker_that_ended_with_the_run(reference):
    """Both dbt steps (before and after linkage) in the run's one worker (engine/run_worker.py),
    which was gone when the run ended."""
    warehouse, result = reference
    assert result.returncode == ExitCode.OK
    steps = [json.loads(line) for line in (warehouse / "reports" / "duckdb" / STEPS_LOG).read_text().splitlines()]
    assert [(step["step"], step["engine"], step["exit"]) for step in steps] == [(STEP_DBT, "duckdb", 0)] * 2
    [worker_pid] = {step["worker_pid"] for step in steps}
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)


def test_a_real_night_leaves_only_private_files(reference):
    """Issue 11 item 4 on the real job (dbt, GX, Dagster and publish all write here)."""
    warehouse, result = reference
    assert result.returncode == ExitCode.OK
    checked = 0
    for path in [warehouse, *warehouse.rglob("*")]:
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, f"{path}: {oct(path.stat().st_mode)}"
        checked += 1
    assert checked > 20 and any((warehouse / "gx_data_docs").rglob("*.html"))


def test_an_unchanged_night_is_a_no_op_and_a_changed_key_is_refused(reference, landing):
    """Issue 14 item 1 and issue 11 item 6 on the real warehouse: no rebuild, no re-keying."""
    warehouse, result = reference
    assert result.returncode == ExitCode.OK
    version = (warehouse / "published").resolve()
    published = {p.relative_to(version): p.read_bytes() for p in version.rglob("*") if p.is_file()}
    again = carejourney_run(landing, warehouse)
    assert again.returncode == ExitCode.OK, again.stdout + again.stderr
    assert "nothing new since run 1; published copy unchanged" in again.stdout
    assert "▶" not in again.stdout  # no step ran
    rekeyed = subprocess.run([str(BIN / "carejourney"), "run", "--landing", str(landing), "--warehouse", str(warehouse)],
                             env={**_env(warehouse), "CAREJOURNEY_PSEUDO_KEY": PSEUDO_KEY[::-1]},
                             check=False, capture_output=True, text=True, timeout=300)
    assert rekeyed.returncode == ExitCode.CANNOT_START and "--rotate-key" in rekeyed.stderr
    assert (warehouse / "published").resolve() == version
    assert {p.relative_to(version): p.read_bytes() for p in version.rglob("*") if p.is_file()} == published


def test_marts_count_what_the_simulation_holds(reference):
    """Issue 16: every metric of the complete financial year (all councils) has the
    numerator and denominator that generate/calibration.py finds in the simulation
    itself, computed the marts' way (opted-out people removed, people counted once).
    The calibration report is what the generator is tuned with, so a gap here would
    mean the tuning and the marts measure different things."""
    warehouse, result = reference
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    expected = compute(simulate(LANDING))[COMPLETE_YEAR]
    marts = marts_figures(str(warehouse / "warehouse.duckdb"), COMPLETE_YEAR)
    differences = {
        metric: ((marts[metric].numerator, marts[metric].denominator),
                 (expected[metric].numerator, expected[metric].denominator))
        for metric in MART_METRICS
        if (marts[metric].numerator, marts[metric].denominator)
        != (expected[metric].numerator, expected[metric].denominator)}
    assert not differences, f"marts (numerator, denominator) vs simulation: {differences}"
    assert all(expected[m].denominator > 0 for m in MART_METRICS), expected


def test_the_run_is_recorded_in_the_dagster_home_for_the_ui(reference):
    """What `dagster dev` shows after the demo: the run, its materialisations and its checks."""
    import dagster as dg

    warehouse, result = reference
    assert result.returncode == ExitCode.OK
    with dg.DagsterInstance.from_config(str(warehouse.parent / "dagster_home")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
        materialized = {e.dagster_event.asset_key for e in instance.all_logs(
            runs[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
        assert {dg.AssetKey(["published", "carejourney"]), dg.AssetKey(["published", "report"])} <= materialized
        checks = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        assert len(checks) > 7


def test_killed_incremental_night_recovers_to_the_same_result(reference, landing, tmp_path):
    """A first night over the landing less one council's latest CLD file, uninterrupted;
    then that file arrives and the second night, incremental, is SIGKILLed during the
    dbt build after linkage and again during publish; the next run must give the
    reference warehouse (one uninterrupted full night over the whole landing), up to
    id stability, and the same published copy."""
    import shutil

    ref_warehouse, ref_result = reference
    assert ref_result.returncode == ExitCode.OK
    warehouse = tmp_path / "warehouse"
    # New person ids are minted from a random per-warehouse salt (linkage/stable_ids.py):
    # two warehouses agree id for id only when they share it, so this one gets the reference's.
    warehouse.mkdir()
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    con.execute(f"attach '{ref_warehouse / 'warehouse.duckdb'}' as ref (read_only)")
    con.execute("create schema ops; create table ops.person_id_salt as select * from ref.ops.person_id_salt")
    con.close()
    nights = tmp_path / "landing"
    shutil.copytree(landing, nights)
    late = max((nights / "asc_cld").glob("asc_cld_*.csv"), key=lambda p: (p.stem[-8:], p.name))
    held = tmp_path / late.name
    late.rename(held)
    first = carejourney_run(nights, warehouse)
    assert first.returncode == ExitCode.OK, first.stdout + first.stderr
    held.rename(late)
    for step, delay in (("dbt_after_linkage", 4.0), ("publish", 0.3)):
        run_and_kill(nights, warehouse, step, delay)
        # After any kill the warehouse opens, and a published copy, if any, is whole.
        duckdb.connect(str(warehouse / "warehouse.duckdb")).close()
        for copy, tables in COPIES.items():
            if (warehouse / copy / "carejourney.duckdb").exists():
                assert all(count >= 0 for count, _ in fingerprint(warehouse / copy / "carejourney.duckdb",
                                                                   tables).values())
    # The killed runs loaded the late file, so this run loads nothing: the ledger stays.
    ledger = "select count(*), sum(rows_loaded) from ops.load_ledger where status = 'loaded'"
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    ledger_before = con.execute(ledger).fetchone()
    con.close()
    result = carejourney_run(nights, warehouse)
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    assert "0 loaded" in result.stdout
    # Only the CLD file arrived after the first night: the night killed in dbt after linkage
    # rebuilt and tested CLD's staging alone, the seeds and other sources standing as the
    # first night left them (runs/staging_plan.py); the night killed in publish had finished
    # its dbt build, so this last night found every source unchanged, and still gives the
    # reference result (below).
    first_kill, *_, last = [p.read_text() for p in sorted((warehouse / "reports").glob("run-*.log"))[1:]]
    assert "seeds and staging of csds, hes_apc, reference unchanged since load" in first_kill
    before_linkage = next(line for line in first_kill.splitlines() if line.startswith("Finished running"))
    staging_built = set(re.findall(r"OK created sql \w+ model (staging\.\w+)", first_kill))
    assert staging_built == {"staging.stg_asc_cld__events"}, staging_built
    assert "seed" not in before_linkage, before_linkage
    assert "seeds and staging of asc_cld, csds, hes_apc, reference unchanged since load" in last
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    assert con.execute(ledger).fetchone() == ledger_before
    modes = [m for (m,) in con.execute("select mode from ops.incremental_log order by decided_at").fetchall()]
    con.close()
    # first night full; the killed nights and the last one incremental (people of the late file)
    assert modes[0] == "full" and set(modes[1:]) == {"incremental"}, modes
    # the night killed in publish had finished its dbt build: the last night's affected people are
    # relative to that build, the analyst copy in place to the first night's, so it is written whole
    assert "analyst written   full: the analyst copy was written from the build of" in result.stdout, result.stdout
    assert people(warehouse / "warehouse.duckdb") == people(ref_warehouse / "warehouse.duckdb")
    # the pair cache written by the killed night is right: same comparison vectors, same probabilities
    assert linkage_scores(warehouse / "warehouse.duckdb") == linkage_scores(ref_warehouse / "warehouse.duckdb")
    got = canonical_tables(warehouse / "warehouse.duckdb")
    expected = canonical_tables(ref_warehouse / "warehouse.duckdb")
    assert [name for name in expected if got.get(name) != expected[name]] == []
    assert fingerprint(warehouse / "published" / "carejourney.duckdb", PUBLISHED_TABLES) == fingerprint(
        ref_warehouse / "published" / "carejourney.duckdb", PUBLISHED_TABLES)
    # the analyst copy's pseudonyms follow the person ids: the same rows, counted
    assert {t: n for t, (n, _) in fingerprint(warehouse / "analyst" / "carejourney.duckdb", ANALYST_TABLES).items()} \
        == {t: n for t, (n, _) in fingerprint(ref_warehouse / "analyst" / "carejourney.duckdb",
                                              ANALYST_TABLES).items()}


def test_failed_gate_exits_non_zero_and_leaves_published_copy(reference, landing, tmp_path):
    """A delivery of rubbish (every row rejected) breaks the raw gate: exit 1, nothing published."""
    warehouse, _ = reference
    copies = [warehouse / copy / "carejourney.duckdb" for copy in COPIES]
    before = [copy.read_bytes() for copy in copies]
    bad_landing = tmp_path / "landing"
    subprocess.run(["cp", "-r", str(landing), str(bad_landing)], check=True)
    header = (bad_landing / "hes_apc").glob("hes_apc_*.csv").__next__().read_text().splitlines()[0]
    rubbish = "\n".join(["," * header.count(",")] * 5000)  # rows with no key and no dates
    (bad_landing / "hes_apc" / "hes_apc_20991231.csv").write_text(header + "\n" + rubbish + "\n")
    result = carejourney_run(bad_landing, warehouse)
    assert result.returncode == ExitCode.GATE_FAILED, result.stdout + result.stderr
    assert "NOT PUBLISHED" in result.stdout and "gates FAILED" in result.stdout
    assert [copy.read_bytes() for copy in copies] == before


def test_unreadable_landing_exits_cannot_start(tmp_path):
    result = carejourney_run(tmp_path / "missing", tmp_path / "warehouse")
    assert result.returncode == ExitCode.CANNOT_START
    assert "does not exist" in result.stderr


def test_sensor_fires_on_a_new_file_and_not_on_loaded_ones(reference, landing, tmp_path):
    import shutil

    import dagster as dg

    from dagster_project.resources import CarejourneyResource
    from dagster_project.sensors import new_delivery_sensor

    warehouse, result = reference
    assert result.returncode == ExitCode.OK

    def evaluate(landing_dir: Path):
        # the deployment's key: the sensor starts no run that the start checks would refuse
        resource = CarejourneyResource(landing_dir=str(landing_dir), warehouse_dir=str(warehouse), pseudo_key=PSEUDO_KEY)
        return new_delivery_sensor(dg.build_sensor_context(resources={"carejourney": resource}))

    # Everything in the landing folder is in the ledger: nothing to do.
    assert isinstance(evaluate(landing), dg.SkipReason)
    # A new delivery arrives (a copy of the reference landing plus one new file).
    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    newest = max((copy / "hes_apc").glob("hes_apc_*.csv"))
    shutil.copy(newest, copy / "hes_apc" / "hes_apc_20991231.csv")
    (copy / "hes_apc" / "hes_apc_20991231.csv").write_text(newest.read_text() + "\n")  # new bytes
    fired = evaluate(copy)
    assert isinstance(fired, dg.SensorResult) and len(fired.run_requests) == 1
    request = fired.run_requests[0]
    assert request.tags["carejourney/new_files"] == "1"
    # The same pending set always gives the same run key: no duplicate runs per tick.
    assert evaluate(copy).run_requests[0].run_key == request.run_key
    # An unknown file in the folder is not a delivery.
    (landing / "hes_apc" / "README.txt").write_text("not a delivery")
    try:
        assert isinstance(evaluate(landing), dg.SkipReason)
    finally:
        (landing / "hes_apc" / "README.txt").unlink()
