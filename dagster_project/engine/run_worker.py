"""The run's worker: one long-lived process for all of a run's dbt commands (and, on Spark, its Spark work).

`python -m dagster_project.engine.run_worker <request.json>`. A run's dbt steps (dbt before
linkage, dbt after linkage) run in this one process, one after another, with dbt's
programmatic `dbtRunner`, instead of one `dbt` process each:

- **DuckDB** (the default engine): the worker starts with the nightly run and imports dbt
  and its adapter while ingest runs, so a dbt step starts at once instead of paying
  dbt's start-up (seconds of imports and CLI set-up per step; bench/RESULTS.md "sixth
  round"). After each dbt command it closes dbt's DuckDB database, so the Dagster
  process can open the warehouse file again (DuckDB admits one writing process).
- **Spark**: the worker also holds the run's one Spark session (one JVM), for dbt and the
  Splink scores (step `linkage`): a JVM compiles Spark's planner once a night instead of
  once per step (bench/suite_time.md: JIT was 56-80% of each short-lived JVM's CPU). A
  local run keeps its catalog in an embedded Derby metastore that one JVM at a time may
  open, so no other process touches it meanwhile.

- The Dagster process owns the worker through RunWorker (resources.EngineResource starts
  it as the nightly run starts, or at a run's first dbt or Spark step, and stops it when
  the run ends, failed or not). It talks to it over a Unix socket in a private temporary
  folder. If the Dagster process dies (killed run), the worker sees its stdin close and
  exits at once; a JVM follows (pyspark's gateway JVM exits when its parent's pipe
  closes), and DuckDB's lock on the warehouse goes with the process: nothing is left
  holding the metastore or the warehouse for the next night.
- dbt steps: dagster-dbt runs `RunWorker.dbt_executable`, a script calling
  engine/dbt_client.py, which forwards dbt's argv, working directory and environment
  here. dbt runs in process (dbtRunner) with stdout sent back to the client, so dagster-dbt
  reads dbt's own JSON event lines; dbt's artifacts land in the target path dagster-dbt
  gave it (DBT_TARGET_PATH), as with a dbt subprocess. dbt-spark's `session` method calls
  `SparkSession.builder...getOrCreate()` for every statement and never stops the session,
  so it reuses this process's session.
- Step `linkage` (Spark only): the Splink scores on Spark, handed to DuckDB as Parquet
  (exchange.linkage_dir): the Splink input's nodes and the scored pairs. It reads the
  identities, linkage.source_person, from the Spark catalog (the table dbt's model
  int_linkage__source_person built there with the dbt half before linkage). Clustering
  and stable ids run in the Dagster process (linkage/link.py), as on DuckDB.

Each step the worker serves is recorded (worker pid; on Spark the JVM pid and Spark
application id) in `worker-steps.jsonl` beside its log in <reports>/<engine>: one worker
(and one JVM) per night, checkably (tests/spark/test_nightly_two_engines.py,
tests/orchestration/test_run_worker_duckdb.py).
"""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster_project.engine.dbt_client import EXIT_ERROR, EXIT_PREFIX
from dagster_project.settings import Settings, SparkSettings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STEP_LINKAGE = "linkage"
STEP_DBT = "dbt"
DBT_CLIENT_NAME = "carejourney-dbt"
STEPS_LOG = "worker-steps.jsonl"
WORKER_LOG = "worker.log"
REQUEST_FILE = "worker-request.json"
START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 120


class WorkerError(RuntimeError):
    """The run's worker did not start or answer; the message says so, with the worker's log tail."""


class SparkStepError(WorkerError):
    """A Spark step failed; the message names it and ends with the worker's log tail."""


def worker_log_dir(settings: Settings) -> Path:
    """Where the run's worker keeps its log and its steps: <reports>/<engine>."""
    return settings.reports_dir / settings.engine


def request_for(settings: Settings, **extra: object) -> dict:
    return {"engine": settings.engine, "landing_dir": str(settings.landing_dir),
            "warehouse_dir": str(settings.warehouse_dir),
            "spark": {"master": settings.spark.master, "warehouse_dir": str(settings.spark_dir),
                      "conf": dict(settings.spark.conf)}, **extra}


def settings_from_request(request: dict) -> Settings:
    spark = request["spark"]
    return Settings(Path(request["landing_dir"]), Path(request["warehouse_dir"]), None, "",
                    engine=request["engine"],
                    spark=SparkSettings(master=spark["master"], warehouse_dir=Path(spark["warehouse_dir"]),
                                        conf=tuple(sorted(spark["conf"].items()))))


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class RunWorker:
    """The run's worker seen from the Dagster process: started here, given steps, stopped."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / WORKER_LOG
        self.steps_path = log_dir / STEPS_LOG
        self.steps_path.unlink(missing_ok=True)
        # The socket and the dbt script in a private folder of their own: a short path (a Unix
        # socket's is limited to ~100 bytes) that only this user can reach.
        self._dir = Path(tempfile.mkdtemp(prefix="carejourney-worker-"))
        self.socket_path = self._dir / "worker.sock"
        self.dbt_executable = self._dir / DBT_CLIENT_NAME
        self.dbt_executable.write_text(
            f"#!{sys.executable}\nimport sys\nfrom dagster_project.engine.dbt_client import main\n"
            f"sys.exit(main({str(self.socket_path)!r}, {str(self.log_path)!r}, sys.argv))\n")
        self.dbt_executable.chmod(0o700)
        request_path = log_dir / REQUEST_FILE
        request_path.write_text(json.dumps(request_for(settings, socket=str(self.socket_path),
                                                       steps_log=str(self.steps_path))))
        with self.log_path.open("w") as log:
            # stdin stays open while this process lives: the worker ends when it closes.
            self.process = subprocess.Popen([sys.executable, "-m", __name__, str(request_path)],
                                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        self._started = time.monotonic()

    def wait_until_listening(self) -> None:
        """Return once the worker listens (its first imports done); WorkerError if it ended or
        did not listen within START_TIMEOUT_SECONDS. Started early, it is listening by then."""
        deadline = self._started + START_TIMEOUT_SECONDS
        while not self.socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise WorkerError(f"the run's worker did not start (exit {self.process.returncode}); "
                                  f"its log is {self.log_path}:\n{_tail(self.log_path)}")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.process.pid

    def run_step(self, step: str, **request: object) -> dict:
        """Run a step in the worker; its result (a JSON object). SparkStepError if it fails."""
        self.wait_until_listening()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(str(self.socket_path))
                conn.sendall(json.dumps({"kind": "step", "step": step, "request": request}).encode() + b"\n")
                with conn.makefile("rb") as replies:
                    line = replies.readline()
            reply = json.loads(line) if line else {"error": "the worker ended during the step"}
        except OSError as exc:
            reply = {"error": f"the worker does not answer ({exc})"}
        if "error" in reply:
            raise SparkStepError(f"Spark step {step!r} failed in the run's Spark worker (pid {self.pid}): "
                                 f"{reply['error'].strip().splitlines()[-1]}; its log is {self.log_path}:\n"
                                 f"{_tail(self.log_path)}")
        return reply["result"]

    def stop(self) -> None:
        """Stop the worker, on Spark with its JVM (asked first; killed if it does not end in time)."""
        if self.process.poll() is None and not self.socket_path.exists():
            # Not listening yet (stopped while it starts): it ends when its stdin closes.
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # type: ignore[union-attr]
        if self.process.poll() is None:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(STOP_TIMEOUT_SECONDS)
                conn.connect(str(self.socket_path))
                conn.sendall(b'{"kind": "stop"}\n')
                conn.recv(64)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # type: ignore[union-attr]
        shutil.rmtree(self._dir, ignore_errors=True)


# ----- inside the worker process -----

class _Worker:
    def __init__(self, settings: Settings, steps_log: Path) -> None:
        self.settings = settings
        self.steps_log = steps_log
        self._session: SparkSession | None = None

    def session(self) -> SparkSession:
        """The worker's one Spark session, started at its first step; stopped when the worker stops."""
        if self._session is None:
            from dagster_project.engine.spark_session import start_session

            self._session = start_session(self.settings)
            self._session.sparkContext.setCheckpointDir(str(self.settings.spark_dir / "checkpoints"))
        return self._session

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

    def record(self, step: str, **extra: object) -> None:
        spark = self._session
        entry: dict[str, Any] = {"step": step, "engine": self.settings.engine, "worker_pid": os.getpid(), **extra}
        if spark is not None:
            from pyspark.sql import SparkSession

            entry["application_id"] = spark.sparkContext.applicationId
            entry["same_session"] = SparkSession._instantiatedSession is spark
            with contextlib.suppress(Exception):  # no local JVM on Databricks Connect
                entry["jvm_pid"] = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
        with self.steps_log.open("a") as log:
            log.write(json.dumps(entry) + "\n")

    def dbt(self, header: dict, conn: socket.socket) -> int:
        """dbt in this process, its stdout sent to the client; dbt's exit code."""
        from dbt.cli.main import dbtRunner

        out = io.TextIOWrapper(conn.makefile("wb"), encoding="utf-8", line_buffering=True)
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        code = EXIT_ERROR
        try:
            if self.settings.on_spark:
                self.session()  # configured as the run's (spark_session.start_session) before dbt's adapter asks for it
            os.environ.clear()
            os.environ.update(header["env"])
            os.chdir(header["cwd"])
            with contextlib.redirect_stdout(out):
                try:
                    result = dbtRunner().invoke(header["argv"])
                finally:
                    if not self.settings.on_spark:
                        _release_duckdb()
            # dbt's own exit codes (dbt.cli.main:cli): 0 ok, 1 failures, 2 error
            code = 0 if result.success else 1 if result.exception is None else EXIT_ERROR
            if result.exception is not None:
                print(f"dbt {' '.join(header['argv'][:1])} ended with {result.exception!r}", flush=True)
        except Exception:
            traceback.print_exc()
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            with contextlib.suppress(OSError, ValueError):
                out.flush()
        self.record(STEP_DBT, command=header["argv"][:1], exit=code)
        return code

    def step(self, name: str, request: dict) -> dict:
        if not self.settings.on_spark:
            raise RuntimeError(f"step {name!r} runs only on Spark; this run's engine is {self.settings.engine}")
        return STEPS[name](self.session(), self.settings, request)

    def warm_up(self) -> None:
        """Import dbt's CLI and this engine's dbt adapter now, not at the first dbt step."""
        import dbt.cli.main

        if self.settings.on_spark:
            import dbt.adapters.spark
        else:
            import dbt.adapters.duckdb  # noqa: F401


def _release_duckdb() -> None:
    """Close the DuckDB database dbt opened, so the Dagster process can open the warehouse.

    dbt-duckdb keeps its database (a class attribute of its connection manager) until the
    process ends, which a dbt subprocess soon does; this process lives on, and DuckDB admits
    one process writing a file. dbt has closed its own connections when invoke returns."""
    import gc

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if environment is not None:
            environment.close()
    gc.collect()  # any cursor left unreferenced keeps the database open until collected


def _linkage(spark: SparkSession, settings: Settings, request: dict) -> dict:
    import pyarrow.parquet as pq

    from dagster_project.engine import exchange
    from dagster_project.engine.spark_session import DBT_SESSION_CONF, spark_conf
    from dagster_project.engine.sql_runner import SparkRunner
    from dagster_project.linkage import splink_runner
    from dagster_project.linkage.link import score_with
    from dagster_project.linkage.model_store import ModelChoice
    from dagster_project.linkage.source_person import SOURCE_PERSON

    # dbt's session settings (DBT_SESSION_CONF, set by dbt's getOrCreate) are dbt's only:
    # Splink scores with the run's own, as it did in a session of its own.
    ours = spark_conf(settings)
    for key in DBT_SESSION_CONF:
        if key in ours:
            spark.conf.set(key, ours[key])
        else:
            spark.conf.unset(key)
    runner = SparkRunner(spark)
    try:
        if not runner.columns(SOURCE_PERSON):
            raise RuntimeError(f"Spark linkage: no table {SOURCE_PERSON} in the Spark catalog; the dbt half "
                               "before linkage builds it (dbt model int_linkage__source_person): run it first")
        n_identities = runner.scalar(f"select count(*) from {SOURCE_PERSON}")
        choice = ModelChoice(Path(request["model_path"]), request["model_origin"])
        scored = score_with(runner, choice, lambda model: splink_runner.predict_edges_on_spark(spark, model))
        out = exchange.linkage_dir(settings)
        shutil.rmtree(out, ignore_errors=True)  # never a previous run's pairs beside this run's identities
        out.mkdir(parents=True)
        pq.write_table(scored.nodes, out / "nodes.parquet")
        pq.write_table(scored.edges, out / "edges.parquet")
        (out / "model.json").write_text(json.dumps(scored.model))
        result = {"identities": n_identities, "pairs_scored": scored.edges.num_rows, "seconds": scored.seconds}
        (out / "result.json").write_text(json.dumps(result))
        return result
    finally:
        # Splink's temporary views and cached frames go with the step: dbt after linkage
        # lists the schema's relations (temporary views among them) in the same session.
        for table in spark.catalog.listTables():
            if table.isTemporary:
                spark.catalog.dropTempView(table.name)
        spark.catalog.clearCache()


STEPS = {STEP_LINKAGE: _linkage}


def _end_with_parent(private_dir: Path) -> None:
    """The Dagster process holds our stdin: when it closes (that process ended, even killed),
    end at once, removing the socket's folder; the JVM, a child of this process, ends when
    its own pipe from here closes."""
    with contextlib.suppress(Exception):
        sys.stdin.buffer.read()
    # To the worker's log (sys.__stdout__), not sys.stdout: during a dbt step that is the dbt
    # client's socket, gone with the run; a failed print here would end this thread and
    # leave the worker, its JVM and the metastore's lock alive.
    with contextlib.suppress(Exception):
        print("the run's process is gone: the run's worker ends", file=sys.__stdout__, flush=True)
    shutil.rmtree(private_dir, ignore_errors=True)
    os._exit(3)


def serve(request: dict) -> int:
    worker = _Worker(settings_from_request(request), Path(request["steps_log"]))
    socket_path = request["socket"]
    threading.Thread(target=_end_with_parent, args=(Path(socket_path).parent,), daemon=True).start()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".new")
    listener.listen(1)
    os.rename(socket_path + ".new", socket_path)  # the client's sign that it may connect
    print(f"{worker.settings.engine} worker {os.getpid()} listening", flush=True)
    # dbt's start-up, once, while the run's first steps go on (a request waits in the
    # listener's backlog meanwhile): dbt's CLI and the adapter this engine's profile loads.
    worker.warm_up()
    try:
        while True:
            conn, _ = listener.accept()
            with conn, conn.makefile("rb") as requests:
                line = requests.readline()
                if not line:
                    continue
                header = json.loads(line)
                if header["kind"] == "stop":
                    conn.sendall(b'{"stopping": true}\n')
                    return 0
                if header["kind"] == "dbt":
                    code = worker.dbt(header, conn)
                    with contextlib.suppress(OSError):
                        conn.sendall(EXIT_PREFIX + f"{code}\n".encode())
                    continue
                started = time.monotonic()
                print(f"Spark step {header['step']} starts", flush=True)
                try:
                    reply: dict[str, Any] = {"result": worker.step(header["step"], header["request"])}
                except Exception:
                    traceback.print_exc()
                    sys.stdout.flush()
                    reply = {"error": traceback.format_exc()}
                worker.record(header["step"], ok="result" in reply)
                print(f"Spark step {header['step']} ended in {time.monotonic() - started:.1f} s", flush=True)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode() + b"\n")
    finally:
        listener.close()
        worker.stop()


if __name__ == "__main__":
    exit_code = serve(json.loads(Path(sys.argv[1]).read_text()))
    # multiprocessing's own exit work (what atexit would run): the named semaphores dbt's
    # runs made are released, not left to the resource tracker's "leaked" clean-up
    multiprocessing.util._exit_function()
    sys.stdout.flush()
    # Asked to stop, with everything stopped and closed (serve's finally): end now, without
    # the interpreter's finalisation, which takes ~2 s once dbt is imported and would be
    # the end of every night (the Dagster process waits for this process to end).
    os._exit(exit_code)
