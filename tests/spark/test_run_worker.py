"""The run's worker on Spark (engine/run_worker.py) leaves nothing behind: not after a failed
step (the run's resource stops it), not after the run's process is killed (the worker sees
its stdin close and ends, its JVM with it), and the next worker opens the same metastore.

The one-JVM-per-night half is checked on the pair's Spark night (test_nightly_two_engines.py).
Each worker here starts a real JVM: the failing step is the linkage step on an empty
catalog, which opens the Derby metastore (the thing a leftover JVM would keep locked).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.engine.run_worker import REQUEST_FILE, STEP_LINKAGE, STEPS_LOG, WORKER_LOG, SparkStepError
from dagster_project.engine.spark_session import spark_problem
from dagster_project.resources import CarejourneyResource, EngineResource

pytestmark = pytest.mark.slow

NO_TABLE = "no table linkage.source_person in the Spark catalog"

# A process that starts the run's Spark worker, fails a Spark step in it (the JVM is up and
# has opened the metastore), says so, and waits to be killed.
KILLED_RUN = """
import sys, time
from dagster_project.resources import CarejourneyResource, EngineResource
engine = EngineResource(carejourney=CarejourneyResource(landing_dir=sys.argv[1], warehouse_dir=sys.argv[2],
                                                        engine="spark"))
try:
    engine.run_spark_step("linkage", model_path="unused", model_origin="unused")
except Exception as exc:
    print("failed:", exc, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _steps(warehouse: Path) -> list[dict]:
    return [json.loads(line) for line in (warehouse / "reports" / "spark" / STEPS_LOG).read_text().splitlines()]


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.fixture
def spark_env(monkeypatch, tmp_path):
    if problem := spark_problem():
        pytest.skip(problem)
    for name in ("CAREJOURNEY_SPARK_MASTER", "CAREJOURNEY_SPARK_WAREHOUSE_DIR", "CAREJOURNEY_SPARK_CONF"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "landing").mkdir()
    return tmp_path


def test_no_spark_process_is_left_after_a_killed_run_or_a_failed_step(spark_env: Path):
    landing, warehouse = spark_env / "landing", spark_env / "warehouse"
    killed = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(landing), str(warehouse)],
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        said = killed.stdout.readline()  # type: ignore[union-attr]
        assert NO_TABLE in said
        [first] = _steps(warehouse)
        assert first["step"] == STEP_LINKAGE and first["ok"] is False
        assert _alive(first["worker_pid"]) and _alive(first["jvm_pid"])
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert _gone_within([first["worker_pid"], first["jvm_pid"]], 60), "the killed run's Spark worker or JVM lives on"
    request = json.loads((warehouse / "reports" / "spark" / REQUEST_FILE).read_text())
    assert not Path(request["socket"]).parent.exists()  # its private socket folder went with it

    # The next run's worker opens the same metastore (nothing holds it); its failed step is
    # reported naming the step, with the worker's log; the run's end stops worker and JVM.
    engine = EngineResource(carejourney=CarejourneyResource(landing_dir=str(landing), warehouse_dir=str(warehouse),
                                                            engine="spark"))
    with dg.build_resources({"engine": engine}) as resources:
        with pytest.raises(SparkStepError) as failed:
            resources.engine.run_spark_step(STEP_LINKAGE, model_path="unused", model_origin="unused")
        [second] = _steps(warehouse)
        assert _alive(second["worker_pid"]) and _alive(second["jvm_pid"])
    message = str(failed.value)
    assert f"Spark step {STEP_LINKAGE!r} failed" in message and NO_TABLE in message
    assert WORKER_LOG in message and "Traceback" in message  # the worker's log tail
    assert second["worker_pid"] != first["worker_pid"]
    assert _gone_within([second["worker_pid"], second["jvm_pid"]], 10), "the Spark worker outlived the run"


# The run's process dies during a dbt step: the worker's stdout is then dbt's client's
# socket (worker.dbt redirects it there), which died with the run.
ORPHANED_MID_DBT = """
import socket, sys
from pathlib import Path
from dagster_project.engine.run_worker import _end_with_parent
mine, clients = socket.socketpair()
clients.close()
sys.stdout = mine.makefile("w")
_end_with_parent(Path(sys.argv[1]))
"""


def test_the_worker_ends_with_its_run_even_in_the_middle_of_a_dbt_step(tmp_path: Path):
    private_dir = tmp_path / "carejourney-worker-x"
    private_dir.mkdir()
    ended = subprocess.run([sys.executable, "-c", ORPHANED_MID_DBT, str(private_dir)], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
    assert ended.returncode == 3, ended.stderr
    assert "the run's process is gone" in ended.stdout
    assert not private_dir.exists()
