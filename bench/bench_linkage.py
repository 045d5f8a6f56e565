#!/usr/bin/env python3
"""Linkage time and memory at 100k and 1M people, with accuracy, into bench/linkage_results.md.

Per size: `carejourney generate` (cached under bench/work/), ingest, dbt seed + staging,
then linkage in a fresh subprocess so its wall time and peak RSS are its own, then
evaluation against the generator's truth.

    .venv/bin/python bench/bench_linkage.py --people 100000 1000000
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the interpreter running this script (a worktree shares its virtualenv)
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "linkage_results.md"

_CHILD = r"""
import json, resource, sys, time
import duckdb
from dagster_project.linkage.link import link
from dagster_project.settings import Settings
settings = Settings.from_env(warehouse_dir=sys.argv[1], pseudo_key="bench")
con = duckdb.connect(str(settings.warehouse_db))
t = time.perf_counter()
summary = link(con, settings)
wall = time.perf_counter() - t
con.close()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_rss_mb": peak_mb, "summary": summary.as_metadata()}))
"""


def run(cmd: list[str], env: dict | None = None) -> str:
    print("+", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_linkage: step failed ({out.returncode}): {' '.join(cmd)}\n"
                         f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def prepare(people: int, seed: int, work: Path) -> tuple[Path, Path]:
    base = work / f"p{people}"
    landing, truth, warehouse = base / "landing", base / "truth", base / "warehouse"
    if not (truth / "person_truth.csv").exists():
        run([str(BIN / "carejourney"), "generate", "--people", str(people), "--seed", str(seed),
             "--out", str(landing), "--truth", str(truth)])
    if not (warehouse / ".staged").exists():
        env = {**os.environ, "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse),
               "CAREJOURNEY_LANDING_DIR": str(landing), "CAREJOURNEY_PSEUDO_KEY": "bench"}
        run([str(BIN / "python"), "-c",
             "import duckdb; from dagster_project.settings import Settings; "
             "from dagster_project.ingest.run import ingest_landing; s = Settings.from_env(); "
             "s.warehouse_dir.mkdir(parents=True, exist_ok=True); "
             "c = duckdb.connect(str(s.warehouse_db)); ingest_landing(s, c); c.close()"], env)
        # its own dbt target folder: other runs from this checkout must not share its manifest
        where = ["--project-dir", "dbt", "--profiles-dir", "dbt", "--target-path", str(base / "dbt_target")]
        run([str(BIN / "dbt"), "--quiet", "seed", *where], env)
        run([str(BIN / "dbt"), "--quiet", "run", "--select", "path:models/staging", *where], env)
        (warehouse / ".staged").touch()
    return warehouse, truth


def bench(people: int, seed: int, work: Path) -> dict:
    warehouse, truth = prepare(people, seed, work)
    # a clean linkage state each time: the first run of a warehouse is the expensive one
    import duckdb

    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    con.execute("drop schema if exists linkage cascade")
    con.close()
    load_before = os.getloadavg()[0]
    child = json.loads(run([str(BIN / "python"), "-c", _CHILD, str(warehouse)]).strip().splitlines()[-1])
    child["load_avg"] = (load_before + os.getloadavg()[0]) / 2
    t = time.perf_counter()
    run([str(BIN / "carejourney"), "evaluate-linkage", "--truth", str(truth), "--warehouse", str(warehouse)])
    eval_s = time.perf_counter() - t
    report = json.loads((warehouse / "reports" / "linkage_evaluation.json").read_text())
    return {"people": people, **child, "evaluate_s": eval_s, "report": report}


def fmt(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def write(results: list[dict]) -> None:
    lines = [
        "# Linkage benchmark", "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; "
        "`.venv/bin/python bench/bench_linkage.py --people ...`. Linkage = source persons + "
        "Splink prediction with the committed model + clustering + stable ids + person table, "
        "first run on the warehouse (every person id new), in its own process. The load average "
        "is the machine's (other jobs share its 2 cores): times at a load above 2 are inflated.", "",
        "| people | identities | persons | scored pairs | wall (s) | peak RSS (MB) | source_person / predict / cluster / ids / person (s) | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["summary"]
        sec = s["seconds"]
        parts = " / ".join(f"{sec.get(k, 0):.1f}" for k in ("source_person", "predict", "cluster", "ids", "person"))
        lines.append(f"| {r['people']:,} | {s['n_identities']:,} | {s['n_persons']:,} | {s['n_edges_scored']:,} "
                     f"| {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} | {parts} | {r['load_avg']:.1f} |")
    lines += ["", "Accuracy (pairwise, against the generator's truth):", "",
              "| people | precision | recall | recall w/o valid NHS no. | baseline precision | baseline recall | baseline recall w/o valid NHS no. |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        m, b = r["report"]["linkage"], r["report"]["nhs_number_baseline"]
        lines.append(f"| {r['people']:,} | {fmt(m['overall']['precision'])} | {fmt(m['overall']['recall'])} | "
                     f"{fmt(m['without_valid_nhs_number']['recall'])} | {fmt(b['overall']['precision'])} | "
                     f"{fmt(b['overall']['recall'])} | {fmt(b['without_valid_nhs_number']['recall'])} |")
    # keep the FEBRL section (bench_linkage_febrl.py writes it below its marker)
    febrl_marker = "<!-- febrl:"
    current = RESULTS.read_text() if RESULTS.exists() else ""
    febrl = current[current.index(febrl_marker):] if febrl_marker in current else ""
    RESULTS.write_text("\n".join(lines) + "\n" + ("\n" + febrl if febrl else ""))
    print(RESULTS.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work",
                        help="where generated landings and warehouses are kept between runs")
    args = parser.parse_args()
    results = [bench(n, args.seed, args.work) for n in args.people]
    write(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
