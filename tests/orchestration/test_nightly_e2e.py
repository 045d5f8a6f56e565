"""The nightly job end to end on a small generated landing, as an operator runs it.

One uninterrupted run is the reference. Then the same landing is run in a fresh
warehouse that is SIGKILLed at several points (during ingest, during the dbt marts
build, during publish); after each kill the warehouse still opens, the published
copy is either absent/old or whole, and a final uninterrupted run (over a landing
now fully loaded, so also a no-op for ingest) must give exactly the reference result.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project.run_command import EXIT_CANNOT_START, EXIT_GATE_FAILED, EXIT_OK

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PEOPLE = 1500
MARTS = ("person", "journey", "hospital_spell", "system_metrics", "pathway_transitions", "data_quality")


def _env(warehouse: Path, dagster_home: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "CAREJOURNEY_PSEUDO_KEY": "test-secret", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in ("CAREJOURNEY_LANDING_DIR", "CAREJOURNEY_AS_OF", "DAGSTER_HOME"):
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


def fingerprint(database: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content hash of every mart table."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        out = {}
        for table in MARTS:
            count, digest = con.execute(
                f"select count(*), coalesce(sum(hash(t::varchar)), 0)::varchar from marts.{table} t").fetchone()
            out[table] = (count, digest)
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    # A short window and three councils: few deliveries keep the runs quick, and one
    # complete financial year (2023/24) with its follow-up still exercises every metric.
    subprocess.run([str(BIN / "carejourney"), "generate", "--people", str(PEOPLE), "--seed", "7",
                    "--start", "2023-04-01", "--end", "2024-09-30", "--councils", "3",
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
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    out = result.stdout
    assert "PUBLISHED" in out and "NOT PUBLISHED" not in out
    for label in ("files loaded", "rows loaded", "people linked", "metrics computed", "gates passed", "published"):
        assert label in out, f"summary lacks {label!r}:\n{out}"
    published = warehouse / "published" / "carejourney.duckdb"
    prints = fingerprint(published)
    assert all(count > 0 for table, (count, _) in prints.items() if table != "pathway_transitions"), prints
    for table in MARTS:
        assert (warehouse / "published" / f"{table}.parquet").exists()
    # the report of this very version sits inside it
    report = (warehouse / "published" / "report" / "index.html").resolve()
    assert report.parent.parent == (warehouse / "published").resolve()
    assert report.parent.parent.name in report.read_text()


def test_the_run_is_recorded_in_the_dagster_home_for_the_ui(reference):
    """What `dagster dev` shows after the demo: the run, its materialisations and its checks."""
    import dagster as dg

    warehouse, result = reference
    assert result.returncode == EXIT_OK
    with dg.DagsterInstance.from_config(str(warehouse.parent / "dagster_home")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
        materialized = {e.dagster_event.asset_key for e in instance.all_logs(
            runs[0].run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
        assert {dg.AssetKey(["published", "carejourney"]), dg.AssetKey(["published", "report"])} <= materialized
        checks = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        assert len(checks) > 7


def test_killed_runs_recover_to_the_same_result(reference, landing, tmp_path):
    ref_warehouse, ref_result = reference
    assert ref_result.returncode == EXIT_OK
    expected = fingerprint(ref_warehouse / "warehouse.duckdb")
    warehouse = tmp_path / "warehouse"
    for step, delay in (("ingest", 1.0), ("dbt_after_linkage", 4.0), ("publish", 0.3)):
        run_and_kill(landing, warehouse, step, delay)
        # After any kill the warehouse opens, and a published copy, if any, is whole.
        duckdb.connect(str(warehouse / "warehouse.duckdb")).close()
        published = warehouse / "published" / "carejourney.duckdb"
        if published.exists():
            assert all(count >= 0 for count, _ in fingerprint(published).values())
    # By now every file was loaded by the killed runs, so this run is also a run over
    # an unchanged landing: nothing new loads, the ledger stays as it is.
    ledger = "select count(*), sum(rows_loaded) from ops.load_ledger where status = 'loaded'"
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    ledger_before = con.execute(ledger).fetchone()
    con.close()
    result = carejourney_run(landing, warehouse)
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert "0 loaded" in result.stdout
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    assert con.execute(ledger).fetchone() == ledger_before
    con.close()
    assert fingerprint(warehouse / "warehouse.duckdb") == expected
    assert fingerprint(warehouse / "published" / "carejourney.duckdb") == fingerprint(
        ref_warehouse / "published" / "carejourney.duckdb")


def test_failed_gate_exits_non_zero_and_leaves_published_copy(reference, landing, tmp_path):
    """A delivery of rubbish (every row rejected) breaks the raw gate: exit 1, nothing published."""
    warehouse, _ = reference
    published = warehouse / "published" / "carejourney.duckdb"
    before = published.read_bytes()
    bad_landing = tmp_path / "landing"
    subprocess.run(["cp", "-r", str(landing), str(bad_landing)], check=True)
    header = (bad_landing / "hes_apc").glob("hes_apc_*.csv").__next__().read_text().splitlines()[0]
    rubbish = "\n".join(["," * header.count(",")] * 5000)  # rows with no key and no dates
    (bad_landing / "hes_apc" / "hes_apc_20991231.csv").write_text(header + "\n" + rubbish + "\n")
    result = carejourney_run(bad_landing, warehouse)
    assert result.returncode == EXIT_GATE_FAILED, result.stdout + result.stderr
    assert "NOT PUBLISHED" in result.stdout and "gates FAILED" in result.stdout
    assert published.read_bytes() == before


def test_unreadable_landing_exits_cannot_start(tmp_path):
    result = carejourney_run(tmp_path / "missing", tmp_path / "warehouse")
    assert result.returncode == EXIT_CANNOT_START
    assert "does not exist" in result.stderr


def test_sensor_fires_on_a_new_file_and_not_on_loaded_ones(reference, landing, tmp_path):
    import shutil

    import dagster as dg

    from dagster_project.resources import CarejourneyResource
    from dagster_project.sensors import new_delivery_sensor

    warehouse, result = reference
    assert result.returncode == EXIT_OK

    def evaluate(landing_dir: Path):
        resource = CarejourneyResource(landing_dir=str(landing_dir), warehouse_dir=str(warehouse))
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
