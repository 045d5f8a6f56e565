"""Benchmark of the metric rules (dbt-B): how long the outcome, hospital_spell and
metric models take as the data grows.

It copies a built warehouse, multiplies the intermediate tables the metric models
read (each person and spell copied N times under new ids, population x N, so every
rate keeps its size), runs only the metric models with dbt, and reports each
model's time from dbt's run_results.json. Timings are a report, never a test.

    .venv/bin/python bench/bench_metrics.py --warehouse DIR --factor 100 [--report bench/metrics_results.md]

DIR is a warehouse folder after a full `carejourney run` (or dbt build); it is only read.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt"
DBT = Path(sys.executable).with_name("dbt")

# table -> id columns to make unique per copy
MULTIPLIED = {
    "int_hospital__spells": ("spell_id", "person_id"),
    "int_social_care__events": ("event_id", "person_id"),
    "int_person__deaths": ("person_id",),
    "int_community__attended_contacts": ("person_id",),
}
SELECTION = "int_outcomes__spell_outcomes+ metrics_periods+ metrics_population+"
EXCLUDE = "journey pathway_transitions person data_quality"


def multiply(db: Path, factor: int) -> dict[str, int]:
    con = duckdb.connect(str(db))
    try:
        sizes = {}
        for table, ids in MULTIPLIED.items():
            replaced = ", ".join(f"{c} || '#' || copy_no as {c}" for c in ids)
            con.execute(f"create or replace table intermediate.{table} as "
                        f"select * replace ({replaced}) from intermediate.{table}, range({factor}) r(copy_no)")
            sizes[table] = con.execute(f"select count(*) from intermediate.{table}").fetchone()[0]
        con.execute(f"create or replace table intermediate.int_reference__population as "
                    f"select * replace (population * {factor} as population) from intermediate.int_reference__population")
        return sizes
    finally:
        con.close()


def run_models(warehouse_dir: Path, work: Path) -> tuple[float, dict[str, float]]:
    env = {**os.environ, "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    completed = subprocess.run(
        [str(DBT), "run", "--select", SELECTION, "--exclude", EXCLUDE,
         "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"dbt run failed:\n{completed.stdout[-3000:]}{completed.stderr[-2000:]}")
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a built warehouse folder (read only)")
    parser.add_argument("--factor", type=int, default=100, help="copies of every person")
    parser.add_argument("--report", type=Path, help="write a markdown report here")
    args = parser.parse_args()
    source = args.warehouse / "warehouse.duckdb"
    if not source.exists():
        raise SystemExit(f"{source} not found: build a warehouse first (carejourney run ...)")
    with tempfile.TemporaryDirectory(prefix="bench_metrics_") as tmp:
        work = Path(tmp)
        (work / "warehouse").mkdir()
        shutil.copy(source, work / "warehouse" / "warehouse.duckdb")
        sizes = multiply(work / "warehouse" / "warehouse.duckdb", args.factor)
        wall, timings = run_models(work / "warehouse", work)
    lines = [
        "# Metric rules benchmark (bench/bench_metrics.py)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"source warehouse {args.warehouse}, factor {args.factor}.",
        "",
        "| input | rows |", "|---|---|",
        *[f"| {t} | {n:,} |" for t, n in sizes.items()],
        "",
        "| model | seconds |", "|---|---|",
        *[f"| {m} | {s:.2f} |" for m, s in sorted(timings.items(), key=lambda kv: -kv[1])],
        "",
        f"dbt run wall time (incl. start-up and parse): {wall:.1f} s",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.report:
        args.report.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
