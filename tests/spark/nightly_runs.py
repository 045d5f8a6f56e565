"""The whole nightly on each engine over one landing: the Spark tests' one expensive thing
(conftest.py makes it once per session).

One small generated landing is run with `carejourney run`, once per engine
(CAREJOURNEY_ENGINE), into two fresh warehouses that share the secret and the person-id
salt (both are per-deployment state, not engine behaviour). The two runs are independent
(own warehouse, own Spark metastore, own processes), so they run side by side: the Spark
run spends much of its time waiting on JVM start-ups and Spark's per-query latency, which
the DuckDB run fills. test_nightly_two_engines.py compares their marts and identities;
test_dbt_on_spark.py reads the dbt unit tests' results of the Spark night (CAREJOURNEY_DBT_UNIT_TESTS)
and opens its catalog (one JVM) for the relation-by-relation comparison.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

BIN = Path(sys.executable).parent
PEOPLE = 300
# Seed 1: with issue 16's care home draws, seed 3's 300 people have no care home admission
# in a complete year, so care_home_from_hospital_pct had no value and dbt's
# every_metric_has_a_complete_year_value warned on both engines; seed 1 gives every metric
# a value (PASS 272, WARN 0 on DuckDB).
SEED = 1
PSEUDO_KEY = "3c1f5a7e9b2d4f6081a3c5e7092b4d6f" "8e0a2c4e6081a3c5e7f9b1d3f5a7c9e1"  # 32 random bytes, hex
ID_SALT = "7a" * 32
ENGINES = ("duckdb", "spark")
RUN_TIMEOUT_SECONDS = 1200


@dataclass(frozen=True)
class NightlyRun:
    engine: str
    landing: Path
    warehouse: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse / "warehouse.duckdb"


def _env(engine: str, warehouse: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREJOURNEY_", "DAGSTER_HOME"))}
    env.update({"CAREJOURNEY_PSEUDO_KEY": PSEUDO_KEY, "CAREJOURNEY_ENGINE": engine,
                "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    if engine == "spark":
        # The dbt unit tests on Spark run inside the Spark night's two dbt builds, each
        # before its model (test_dbt_on_spark.py reads their results): a JVM of their own
        # would pay Spark's start-up and JIT warm-up again (~3 min of CPU on 2 cores).
        env["CAREJOURNEY_DBT_UNIT_TESTS"] = "1"
    return env


def _fresh_warehouse(path: Path) -> Path:
    """A new warehouse with the shared person-id salt (linkage/stable_ids.py reads it)."""
    path.mkdir(mode=0o700, parents=True)
    con = duckdb.connect(str(path / "warehouse.duckdb"))
    con.execute("create schema ops")
    con.execute("create table ops.person_id_salt (salt varchar, created_at timestamp)")
    con.execute("insert into ops.person_id_salt values (?, now()::timestamp)", [ID_SALT])
    con.close()
    return path


def run_both_engines(root: Path) -> dict[str, NightlyRun]:
    """Generate the landing under root and run the nightly on both engines at once."""
    landing = root / "landing"
    subprocess.run([str(BIN / "carejourney"), "generate", "--people", str(PEOPLE), "--seed", str(SEED),
                    "--out", str(landing)], check=True, capture_output=True, text=True)
    started = {}
    for engine in ENGINES:
        warehouse = _fresh_warehouse(root / f"warehouse_{engine}")
        log = root / f"{engine}.stdout"
        err = root / f"{engine}.stderr"
        with log.open("w") as out, err.open("w") as errors:
            proc = subprocess.Popen([str(BIN / "carejourney"), "run", "--landing", str(landing),
                                     "--warehouse", str(warehouse)],
                                    env=_env(engine, warehouse), stdout=out, stderr=errors, text=True)
        started[engine] = (proc, warehouse, log, err)
    runs = {}
    try:
        for engine, (proc, warehouse, log, err) in started.items():
            returncode = proc.wait(timeout=RUN_TIMEOUT_SECONDS)
            runs[engine] = NightlyRun(engine, landing, warehouse, returncode, log.read_text(), err.read_text())
    finally:
        for proc, *_ in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return runs
