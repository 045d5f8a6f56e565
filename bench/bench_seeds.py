#!/usr/bin/env python3
"""`carejourney run` on the generator's default mess at many seeds: does every night publish?

Issue 12's acceptance: `carejourney run` publishes (exit 0) on every seed 1 to 10 at 50k
people. Per seed: `carejourney generate --people N --seed S` (kept under --work between
runs), then `carejourney run` on a fresh warehouse, in its own process, as a deployment
would run it. From the run's own summary (stdout) and the warehouse: the exit code, the
people linked, the over-merges clustering refused (linkage.run_log), the gates passed and
any gate that failed (its message), wall time and the machine's load average.

    .venv/bin/python bench/bench_seeds.py [--people 50000] [--seeds 1 .. 10] [--work DIR]

Writes bench/seeds_results.md (and .json beside it), rewritten after every seed so a
long run that is stopped still leaves what it measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "seeds_results.md"


def generate(people: int, seed: int, base: Path, env: dict) -> tuple[Path, float]:
    landing = base / "landing"
    started = time.perf_counter()
    if not (base / "truth" / "person_truth.csv").exists():
        shutil.rmtree(landing, ignore_errors=True)
        out = subprocess.run([str(BIN / "carejourney"), "generate", "--people", str(people), "--seed", str(seed),
                              "--out", str(landing), "--truth", str(base / "truth")],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"bench_seeds: generate failed for seed {seed}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return landing, time.perf_counter() - started


def summary_line(stdout: str, label: str) -> str | None:
    match = re.search(rf"^  {re.escape(label)}\s+(.*)$", stdout, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def failed_gates(stdout: str) -> list[str]:
    """The `- gate` lines under `gates FAILED` in the run summary."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  gates FAILED"):
            return [x.strip()[2:] for x in lines[i + 1:] if x.startswith("    - ")]
    return []


def linkage_figures(warehouse: Path) -> dict:
    """Over-merges refused and the model from linkage.run_log; the most valid NHS numbers any
    person holds (the linkage gate's ceiling is 2)."""
    db = warehouse / "warehouse.duckdb"
    if not db.exists():
        return {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("""select n_over_merges_refused, model_origin || ' ' || left(model_sha256, 12)
                             from linkage.run_log order by run_id desc limit 1""").fetchall()
        most = con.execute(
            """select max(n) from (select count(distinct sp.nhs_number) filter (where sp.nhs_number_status = 'valid') n
               from linkage.record_person rp join linkage.source_person sp using (source_dataset, source_person_id)
               group by rp.person_id)""").fetchall()[0][0]
    except duckdb.Error as exc:
        return {"linkage_figures_error": str(exc).splitlines()[0]}
    finally:
        con.close()
    if not row:
        return {}
    return {"over_merges_refused": row[0][0], "model": row[0][1], "most_valid_nhs_numbers_in_a_person": most}


def run_seed(people: int, seed: int, work: Path) -> dict:
    base = work / f"p{people}_s{seed}"
    warehouse = base / "warehouse"
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           # a fixed strong key per seed, so reruns give the same ids
           "CAREJOURNEY_PSEUDO_KEY": hashlib.sha256(f"bench-seeds-{seed}".encode()).hexdigest()}
    env.pop("CAREJOURNEY_LINKAGE_MODEL", None)   # the shipped model, as a new deployment has
    landing, generate_s = generate(people, seed, base, env)
    shutil.rmtree(warehouse, ignore_errors=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    out = subprocess.run([str(BIN / "carejourney"), "run", "--landing", str(landing), "--warehouse", str(warehouse)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    (base / "run.log").write_text(out.stdout + "\n--- stderr ---\n" + out.stderr)
    return {"seed": seed, "people": people, "exit_code": out.returncode, "wall_s": wall, "generate_s": generate_s,
            "load_avg": (load_before + os.getloadavg()[0]) / 2,
            "people_linked": summary_line(out.stdout, "people linked"),
            "linkage_model": summary_line(out.stdout, "linkage model"),
            "gates_passed": summary_line(out.stdout, "gates passed"),
            "gates_failed": failed_gates(out.stdout),
            "failed_steps": re.findall(r"^  step FAILED\s+(.*)$", out.stdout, flags=re.MULTILINE),
            "log": str(base / "run.log"), **linkage_figures(warehouse)}


def markdown(results: list[dict], people: int) -> str:
    lines = ["# `carejourney run` on many seeds (bench/bench_seeds.py)", "",
             (f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores "
              f"(shared with other jobs: see the load column), Python {platform.python_version()}. Per seed: "
              f"`carejourney generate --people {people:,} --seed S` (default mess), then `carejourney run` on a fresh "
              "warehouse with the shipped linkage model. Exit 0 = published, 1 = a gate stopped publication, "
              "3 = a step crashed. Over-merges refused: links clustering refused because they would put two "
              "different trusted NHS numbers, or a third valid one, into one person (linkage.run_log)."), "",
             "| seed | exit | people linked (persons from identities) | over-merges refused | most valid NHS numbers in a person "
             "| gates passed | gates failed | wall (s) | load avg (1 min) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        failed = "; ".join(r["gates_failed"] + [f"step: {s}" for s in r["failed_steps"]]) or "none"
        linked = r["people_linked"] or "n/a"
        lines.append(f"| {r['seed']} | {r['exit_code']} | {linked} | {r.get('over_merges_refused', 'n/a')} "
                     f"| {r.get('most_valid_nhs_numbers_in_a_person', 'n/a')} | {r['gates_passed'] or 'n/a'} "
                     f"| {failed} | {r['wall_s']:.0f} | {r['load_avg']:.1f} |")
    published = sum(r["exit_code"] == 0 for r in results)
    models = sorted({r["model"] for r in results if r.get("model")})
    model = ", ".join(models) or "n/a"
    lines += ["", f"Published: {published} of {len(results)} seeds. Linkage model: {model}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "seeds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the .json beside --out, re-reading each seed's warehouse")
    args = parser.parse_args()
    if args.report_only:
        results = json.loads(args.out.with_suffix(".json").read_text())
        for r in results:
            r.update(linkage_figures(Path(r["log"]).parent / "warehouse"))
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        args.out.write_text(markdown(results, results[0]["people"]))
        print(args.out.read_text())
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in args.seeds:
        result = run_seed(args.people, seed, args.work)
        print(json.dumps(result), flush=True)
        results.append(result)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        args.out.write_text(markdown(results, args.people))
    print(args.out.read_text())
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
