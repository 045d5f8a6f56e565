"""Ingest throughput at scale, beside the floor: DuckDB alone scanning the same files once.

    .venv/bin/python bench/bench_ingest.py --people 1000000            # generates, then loads
    .venv/bin/python bench/bench_ingest.py --landing DIR               # an existing landing folder

Writes bench/ingest_results.md (appends one section per run). Working data goes to
bench/work/ (git-ignored). Timings are measurements, never pass/fail.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dagster_project.ingest.discovery import discover  # noqa: E402
from dagster_project.ingest.run import ingest_landing  # noqa: E402
from dagster_project.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "ingest_results.md"


def _generate(people: int, seed: int, landing: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "dagster_project.cli", "generate", "--people", str(people),
                    "--out", str(landing), "--seed", str(seed), "--truth", str(landing.parent / "truth")],
                   check=True, cwd=ROOT)
    return time.monotonic() - started


def _floor(landing: Path) -> tuple[float, int]:
    """DuckDB's own CSV reader counting every record of every recognised file once."""
    files = [f for f in discover(landing) if f.table is not None]
    con = duckdb.connect()
    started = time.monotonic()
    total = 0
    for f in files:  # one file at a time: families differ in columns
        total += con.execute(f"select count(*) from read_csv('{f.path}', all_varchar=true, header=true, "
                             "strict_mode=false, null_padding=true)").fetchone()[0]
    return time.monotonic() - started, total


def _floor_load(landing: Path, work: Path) -> float:
    """DuckDB's own CSV reader copying every file into a table of a fresh database file:
    what any load that keeps all columns must at least pay (no line numbers, no rules)."""
    files = [f for f in discover(landing) if f.table is not None]
    path = work / "floor_load.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    started = time.monotonic()
    for i, f in enumerate(files):
        con.execute(f"create table t{i} as select * from read_csv('{f.path}', all_varchar=true, header=true, "
                    "strict_mode=false, null_padding=true)")
    con.execute("checkpoint")
    seconds = time.monotonic() - started
    con.close()
    path.unlink()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--landing", type=Path, help="use this landing folder instead of generating one")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "ingest")
    args = parser.parse_args()

    generate_seconds = None
    landing = args.landing
    if landing is None:
        landing = args.work / f"p{args.people}" / "landing"
        if not landing.exists():
            generate_seconds = _generate(args.people, args.seed, landing)
    warehouse = args.work / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    warehouse.mkdir(parents=True)

    files = [f for f in discover(landing)]
    size = sum(f.size_bytes for f in files)
    floor_seconds, floor_rows = _floor(landing)
    floor_load_seconds = _floor_load(landing, args.work)

    settings = Settings.from_env(landing, warehouse, pseudo_key="bench")
    con = duckdb.connect(str(settings.warehouse_db))
    started = time.monotonic()
    summary = ingest_landing(settings, con)
    ingest_seconds = time.monotonic() - started
    started = time.monotonic()
    again = ingest_landing(settings, con)
    rerun_seconds = time.monotonic() - started
    con.close()
    db_size = settings.warehouse_db.stat().st_size

    load = os.getloadavg()
    section = f"""
## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {landing.name if args.landing else f'{args.people:,} people'}

- landing: `{landing}`: {len(files)} files, {size / 1e6:,.0f} MB{f', generated in {generate_seconds:.0f} s' if generate_seconds else ''}
- machine: {os.cpu_count()} cores, {platform.python_version()}, DuckDB {duckdb.__version__}; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (other jobs share the machine)
- **floor** (DuckDB `read_csv` count(*) over every file once): {floor_seconds:.1f} s, {floor_rows:,} rows, {floor_rows / floor_seconds:,.0f} rows/s, {size / 1e6 / floor_seconds:,.0f} MB/s
- **floor to store** (DuckDB `read_csv` all-VARCHAR into tables of a new database file, checkpointed): {floor_load_seconds:.1f} s, {floor_rows / floor_load_seconds:,.0f} rows/s
- **ingest** (hash, read, split, rules, write raw + rejects + ledger): {ingest_seconds:.1f} s, {summary.rows_read:,} rows read ({summary.rows_loaded:,} loaded, {summary.rows_rejected:,} rejected), {summary.rows_read / ingest_seconds:,.0f} rows/s, {size / 1e6 / ingest_seconds:,.0f} MB/s = {ingest_seconds / floor_seconds:.1f}x the scan floor, {ingest_seconds / floor_load_seconds:.1f}x the store floor
- ingest time by step: {summary.seconds} (hash = fingerprinting new files; read = physical lines into DuckDB; check_and_write = split, rules, raw + rejects + ledger in one transaction)
- files: {summary.files_loaded} loaded, {summary.files_skipped} skipped duplicate, {summary.files_rejected} rejected; flags: {summary.flags}
- re-run over the unchanged landing: {rerun_seconds:.1f} s, {len(again.files)} files handled, {len(again.unchanged)} left alone
- warehouse.duckdb after ingest: {db_size / 1e6:,.0f} MB
"""
    print(section)
    if not RESULTS.exists():
        RESULTS.write_text("# Ingest benchmark\n\nProduced by `bench/bench_ingest.py`; newest last.\n")
    with RESULTS.open("a") as handle:
        handle.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
