#!/usr/bin/env python3
"""End-to-end benchmark: generate, then a full `carejourney run`, per stage.

    .venv/bin/python bench/run.py --people 10000 100000 1000000 [--repeat 3] [--out bench/RESULTS.md]

For each population size it generates a landing folder (timed), measures the
floor (DuckDB reading every landing file once: count(*) per file), then runs the
nightly job as a subprocess. Stages are attributed from the run's progress lines
(one per Dagster step); peak resident memory is sampled from /proc over the whole
process tree (the run and its dbt subprocess) and attributed to the stage running
at the time. Short stages are repeated (--repeat, median reported); each repeat
starts from an empty warehouse so it measures a full first load, not a no-op.
Results go to a Markdown report with the machine it ran on. Work files go under
bench/work/ (ignored by git).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
BIN = Path(sys.executable).parent
STAGES = ("generate", "ingest", "dbt staging", "linkage", "dbt marts", "gates", "publish")


def stage_of(step_key: str) -> str:
    """The benchmark stage a Dagster step belongs to (by the step names our assets use)."""
    from dagster_project.quality.gates import GATES  # a gate's step is `<asset path>_<gate>`

    key = step_key.lower()
    if key in {"__".join(g.asset_key) + "_" + g.name for g in GATES.values()}:
        return "gates"
    if "dbt_before_linkage" in key:
        return "dbt staging"
    if "dbt_after_linkage" in key:
        return "dbt marts"
    if "publish" in key or "warehouse_compaction" in key:
        return "publish"  # compaction, the night's last step (after the report), counts with publish
    if "linkage" in key:
        return "linkage"
    if "ingest" in key or "load_ledger" in key or key.startswith("raw_current"):
        return "ingest"  # the load itself and its row-reconciliation check
    return "gates"  # other separate check steps (dbt data tests run inside the dbt steps)


# ------------------------------------------------------------- memory sampling
def _tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        rss[pid] = int(found.group(1)) * 1024 if found else 0
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


@dataclass
class StageClock:
    """Which stage is running now, and each stage's wall time and peak memory."""

    current: str = "startup"
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # 1-minute load average, sampled with memory

    def add_time(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def sample(self, rss: int) -> None:
        self.peak_rss[self.current] = max(self.peak_rss.get(self.current, 0), rss)
        self.load.append(os.getloadavg()[0])  # a shared machine's figures need the load they ran under


def _sample_memory(proc: subprocess.Popen, clock: StageClock, stop: threading.Event) -> None:
    while not stop.is_set() and proc.poll() is None:
        clock.sample(_tree_rss_bytes(proc.pid))
        time.sleep(0.2)


def run_timed(cmd: list[str], env: dict[str, str], log: Path, stage: str | None = None) -> tuple[float, StageClock, int]:
    """Run a command, attributing time and memory to stages from its progress lines."""
    clock = StageClock(current=stage or "startup")
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_memory, args=(proc, clock, stop), daemon=True)
        sampler.start()
        for line in proc.stdout:
            out.write(line)
            begun = re.search(r"▶ (\S+)", line)
            if stage is None and begun:  # memory is attributed to the step running now
                clock.current = stage_of(begun.group(1))
        proc.wait()
        stop.set()
        sampler.join()
    total = time.monotonic() - started
    if stage:
        clock.add_time(stage, total)
    else:
        clock.seconds = stage_seconds_from_log(log)
    return total, clock, proc.returncode


def stage_seconds_from_log(log: Path) -> dict[str, float]:
    """Wall time per stage from a run's progress lines: `✔ <step> (<seconds>s)` as the
    run measured each step, and a failed step from its start to its failure."""
    seconds: dict[str, float] = {}
    started: dict[str, int] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        stamp = re.match(r"(\d\d):(\d\d):(\d\d)", line)
        now = int(stamp[1]) * 3600 + int(stamp[2]) * 60 + int(stamp[3]) if stamp else None
        if (begun := re.search(r"▶ (\S+)$", line)) and now is not None:
            started[begun[1]] = now
        elif done := re.search(r"✔ (\S+) \(([\d.]+)s\)", line):
            seconds[stage_of(done[1])] = seconds.get(stage_of(done[1]), 0.0) + float(done[2])
        elif (failed := re.search(r"✘ step_failure (\S+):", line)) and now is not None and failed[1] in started:
            took = (now - started[failed[1]]) % 86400
            seconds[stage_of(failed[1])] = seconds.get(stage_of(failed[1]), 0.0) + took
    return seconds


# ------------------------------------------------------------- the floor
def floor_seconds(landing: Path) -> tuple[float, int]:
    """Time for DuckDB to read every landing file once (count(*) per file), and the rows."""
    import duckdb

    files = sorted(p for p in landing.rglob("*") if p.is_file() and re.search(r"\.csv(\.gz)?$", p.name))
    con = duckdb.connect()
    started = time.monotonic()
    rows = 0
    for path in files:
        rows += con.execute(
            "select count(*) from read_csv(?, all_varchar = true, header = true, strict_mode = false, "
            "null_padding = true, ignore_errors = true)", [str(path)]).fetchone()[0]
    return time.monotonic() - started, rows


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# ------------------------------------------------------------- one size
def bench_size(people: int, repeat: int, seed: int, work: Path = WORK, simulation: bool = True) -> dict:
    landing, truth, warehouse = (work / f"{people}" / name for name in ("landing", "truth", "warehouse"))
    shutil.rmtree(work / f"{people}", ignore_errors=True)
    (work / f"{people}").mkdir(parents=True)
    # a fresh random secret per size (the warehouse is new each time); a weak one is refused
    env = {**os.environ, "CAREJOURNEY_PSEUDO_KEY": secrets.token_hex(32), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("CAREJOURNEY_AS_OF", None)

    print(f"[{people:,}] generate", flush=True)
    gen_seconds, gen_clock, code = run_timed(
        [str(BIN / "carejourney"), "generate", "--people", str(people), "--seed", str(seed),
         "--out", str(landing), "--truth", str(truth)], env, work / f"{people}" / "generate.log", stage="generate")
    if code != 0:
        raise SystemExit(f"generate failed for {people} people: see {work / f'{people}' / 'generate.log'}")

    floors = [floor_seconds(landing) for _ in range(max(1, repeat))]
    floor = statistics.median(f[0] for f in floors)
    landing_rows = floors[0][1]

    runs = []
    for attempt in range(max(1, repeat)):
        shutil.rmtree(warehouse, ignore_errors=True)
        print(f"[{people:,}] run {attempt + 1}/{repeat}", flush=True)
        log = work / f"{people}" / f"run{attempt + 1}.log"
        seconds, clock, code = run_timed(
            [str(BIN / "carejourney"), "run", "--landing", str(landing), "--warehouse", str(warehouse)], env, log)
        runs.append({"seconds": seconds, "stages": clock.seconds, "peak_rss": clock.peak_rss, "exit": code,
                     "load": clock.load})
        if code != 0:
            print(f"  run exited {code}: see {log}", flush=True)
    metrics = marts_metrics(warehouse / "warehouse.duckdb")
    if metrics and simulation:
        metrics["simulation"] = simulation_metrics(people, seed, int(metrics["financial_year"][:4]))
    stage_seconds = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs) for s in STAGES[1:]}
    stage_peak = {s: max(r["peak_rss"].get(s, 0) for r in runs) for s in STAGES[1:]}
    return {
        "people": people,
        "landing_bytes": folder_bytes(landing),
        "landing_rows": landing_rows,
        "generate_seconds": gen_seconds,
        "generate_peak_rss": max(gen_clock.peak_rss.values() or [0]),
        "floor_seconds": floor,
        "run_seconds": statistics.median(r["seconds"] for r in runs),
        "run_exit_codes": [r["exit"] for r in runs],
        "stage_seconds": stage_seconds,
        "stage_peak_rss": stage_peak,
        "run_peak_rss": max(max(r["peak_rss"].values() or [0]) for r in runs),
        "warehouse_db_bytes": (warehouse / "warehouse.duckdb").stat().st_size if (warehouse / "warehouse.duckdb").exists() else 0,
        "published_bytes": folder_bytes(warehouse / "published"),
        "repeats": len(runs),
        "metrics": metrics,
        "load_during_run": [statistics.mean(r["load"]) if r["load"] else None for r in runs],
        "load_max_during_run": [max(r["load"], default=None) for r in runs],
        "generate_load": statistics.mean(gen_clock.load) if gen_clock.load else None,
    }


# ------------------------------------------------------------- marts vs England
def simulation_metrics(people: int, seed: int, year: int) -> dict[str, float | None]:
    """The simulation's own figures for the same financial year, computed the marts' way
    (generate/calibration.py): the marts should say the same, England should be near."""
    from dagster_project.generate.calibration import compute
    from dagster_project.generate.config import GeneratorConfig
    from dagster_project.generate.generator import simulate

    figures = compute(simulate(GeneratorConfig(people=people, seed=seed)))
    return {name: f.value for name, f in figures.get(year, {}).items()}


def marts_metrics(database: Path) -> dict:
    """The latest financial year with every follow-up complete, all councils, from the
    exact (warehouse) system_metrics: what the marts say, to hold against England."""
    import duckdb

    if not database.exists():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        year = con.execute(
            "select max(period_start) from marts.system_metrics where period_type = 'financial_year' "
            "and la_code = 'ALL' and note is null and value is not null "
            "and metric_id = 'reablement_at_home_91d_pct'").fetchone()[0]
        rows = con.execute(
            "select metric_id, value from marts.system_metrics where period_type = 'financial_year' "
            "and la_code = 'ALL' and period_start = ?", [year]).fetchall()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return {"financial_year": str(year), "values": dict(rows)}


# ------------------------------------------------------------- report
def machine() -> str:
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return (f"{os.cpu_count()} cores ({cpu.group(1).strip() if cpu else platform.processor()}), "
            f"{mem_kb / 1024 / 1024:.0f} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}")


def load_cell(result: dict) -> str:
    """The 1-minute load average while the runs ran (older results did not record it)."""
    means, peaks = result.get("load_during_run") or [], result.get("load_max_during_run") or []
    if not means or None in means:
        return "not recorded"
    return ", ".join(f"{m:.1f} / {p:.1f}" for m, p in zip(means, peaks, strict=True))


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(results: list[dict]) -> str:
    lines = ["# Benchmark results\n",
             f"Machine: {machine()}  \nDate: {dt.date.today().isoformat()}  \n"
             f"Command: `.venv/bin/python bench/run.py --people {' '.join(str(r['people']) for r in results)}"
             f" --repeat {max(r['repeats'] for r in results)}` (runs per size: "
             f"{', '.join(str(r['repeats']) for r in results)}; 1M runs once)\n",
             "## Whole run\n",
             "| people | landing | landing rows | generate | generate peak RSS | floor (DuckDB scan) | full run | run / floor | run peak RSS | warehouse.duckdb | published | exit | load during run (mean / max) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        lines.append(
            f"| {r['people']:,} | {mb(r['landing_bytes'])} | {r['landing_rows']:,} | {r['generate_seconds']:.1f}s | "
            f"{mb(r['generate_peak_rss'])} | {r['floor_seconds']:.2f}s | {r['run_seconds']:.1f}s | "
            f"{r['run_seconds'] / max(r['floor_seconds'], 1e-9):.1f}x | {mb(r['run_peak_rss'])} | "
            f"{mb(r['warehouse_db_bytes'])} | {mb(r['published_bytes'])} | {r['run_exit_codes']} | {load_cell(r)} |")
    lines += ["", "## Per stage (median wall time; peak RSS of the process tree while the stage ran; rows/s = landing rows / stage time)\n",
              "| people | " + " | ".join(STAGES[1:]) + " |", "|---:|" + "---:|" * len(STAGES[1:])]
    for r in results:
        cells = [f"{r['stage_seconds'][s]:.1f}s · {mb(r['stage_peak_rss'][s])} · "
                 f"{r['landing_rows'] / r['stage_seconds'][s]:,.0f} rows/s" if r["stage_seconds"][s] > 0
                 else "not reached" for s in STAGES[1:]]  # a run stopped before the stage
        lines.append(f"| {r['people']:,} | " + " | ".join(cells) + " |")
    by_size = {r["people"]: r for r in results}
    pairs = [(a, b) for a, b in zip(sorted(by_size), sorted(by_size)[1:], strict=False)]
    if pairs:
        lines += ["", "## Scaling (cost ratio per step up in size; 10x people is linear at 10.0)\n",
                  "| from → to | generate | " + " | ".join(STAGES[1:]) + " | full run |", "|---|" + "---:|" * (len(STAGES) + 1)]
        for a, b in pairs:
            ra, rb = by_size[a], by_size[b]
            ratio = lambda x, y: f"{y / x:.1f}" if x > 0 else "n/a"
            cells = [ratio(ra["stage_seconds"][s], rb["stage_seconds"][s]) for s in STAGES[1:]]
            lines.append(f"| {a:,} → {b:,} | {ratio(ra['generate_seconds'], rb['generate_seconds'])} | "
                         + " | ".join(cells) + f" | {ratio(ra['run_seconds'], rb['run_seconds'])} |")
    lines += targets(results)
    lines += marts_vs_england(results)
    return "\n".join(lines) + "\n"


def targets(results: list[dict]) -> list[str]:
    """Issue 8's targets at the largest size, met or not, and the stage that costs most."""
    r = max(results, key=lambda x: x["people"])
    ratio = r["run_seconds"] / max(r["floor_seconds"], 1e-9)
    rows = [("full run under 10 minutes", f"{r['run_seconds'] / 60:.1f} min", r["run_seconds"] < 600),
            ("peak memory under 6 GB", mb(r["run_peak_rss"]), r["run_peak_rss"] < 6e9),
            ("full run under 10x the floor", f"{ratio:.1f}x ({r['floor_seconds']:.1f}s floor)", ratio < 10)]
    stages = sorted(r["stage_seconds"].items(), key=lambda kv: -kv[1])
    accounted = sum(r["stage_seconds"].values())
    lines = ["", f"## Targets at {r['people']:,} people (2 cores, 24 GiB)\n", "| target | measured | met |", "|---|---:|---|"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in rows]
    lines += ["", "Where the time goes: " + ", ".join(
        f"{stage} {sec:.0f}s ({100 * sec / r['run_seconds']:.0f}%)" for stage, sec in stages)
        + f"; process start-up, Dagster and step hand-over {r['run_seconds'] - accounted:.0f}s."]
    return lines


def marts_vs_england(results: list[dict]) -> list[str]:
    """The metrics the marts computed, beside England's ranges (the generator's calibration
    targets, ../shared/calibration.md), per population size."""
    from dagster_project.generate.calibration import TARGETS

    sized = [r for r in results if r.get("metrics")]
    if not sized:
        return []
    names = sorted({m for r in sized for m in r["metrics"]["values"]})
    lines = ["", "## The marts' metrics against England (latest complete financial year, all councils)\n",
             ("Each size: the marts' value, then the simulation's own figure for the same financial year "
              "computed the marts' way (`generate/calibration.py`: opted-out people removed, people counted "
              "once where the contract counts people). The two differ only by the landing's mess "
              "(wrong dates of birth, unlinked records); a clean landing gives the same numbers "
              "(tests/orchestration/test_nightly_e2e.py).\n"),
             "| metric | England | " + " | ".join(
                 f"{r['people']:,} ({r['metrics']['financial_year'][:4]}) marts | simulation" for r in sized) + " |",
             "|---|---:|" + "---:|---:|" * len(sized)]

    def cell(value: float | None, target: tuple[float, float] | None) -> str:
        flag = "" if value is None or not target or target[0] <= value <= target[1] else " ⚠"
        return "null" if value is None else f"{value:,.1f}{flag}"

    for name in names:
        target = TARGETS.get(name)  # exact names only: an all-ages metric is not a 65+ range
        england = f"{target[0]:g}-{target[1]:g}" if target else "n/a"
        cells = [f"{cell(r['metrics']['values'].get(name), target)} | "
                 + (f"{cell(r['metrics']['simulation'].get(name), target)}" if "simulation" in r["metrics"]
                    else "not simulated (--no-simulation)") for r in sized]
        lines.append(f"| {name} | {england} | " + " | ".join(cells) + " |")
    lines.append("\n⚠ = outside England's range. Small populations are noisy (one year of falls or care home "
                 "admissions at 100,000 people has a standard error of ~5-9%); 100,000 people is the "
                 "calibration size.")
    return lines


def rewrite_metrics_section(out: Path, warehouse_db: Path, people: int, seed: int) -> None:
    """Replace only the marts-against-England section of an existing report, from one
    finished warehouse (e.g. a 100k run made outside the benchmark)."""
    metrics = marts_metrics(warehouse_db)
    if not metrics:
        raise SystemExit(f"no system_metrics in {warehouse_db}: run `carejourney run` first")
    metrics["simulation"] = simulation_metrics(people, seed, int(metrics["financial_year"][:4]))
    section = "\n".join(marts_vs_england([{"people": people, "metrics": metrics}]))
    heading = "\n## The marts' metrics against England"
    text = out.read_text() if out.exists() else ""
    before = text.split(heading)[0].rstrip("\n") if heading in text else text.rstrip("\n")
    after = ""
    if heading in text:
        rest = text.split(heading, 1)[1]
        nxt = rest.find("\n## ")
        after = rest[nxt:] if nxt >= 0 else ""
    note = (f"\n\n(Seed {seed}, {people:,} people only: this section was regenerated alone from one warehouse "
            "with `--metrics-only`; the timings above come from the full benchmark run.)\n")
    out.write_text(before + "\n" + section + note + after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size below 1M (1M runs once)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--work", type=Path, default=WORK,
                        help="where landings, warehouses, logs and results.json go (default bench/work/)")
    parser.add_argument("--no-simulation", action="store_true",
                        help="skip re-simulating each size for the metrics comparison (minutes and GBs at 3M+)")
    parser.add_argument("--from-logs", action="store_true",
                        help="re-read the saved run logs and results under bench/work/ and rewrite the report")
    parser.add_argument("--metrics-only", type=Path, metavar="WAREHOUSE_DB",
                        help="rewrite only the metrics section of --out from this warehouse.duckdb "
                             "(generated with --people N --seed S)")
    args = parser.parse_args()
    if args.metrics_only:
        rewrite_metrics_section(args.out, args.metrics_only, args.people[0], args.seed)
        print(f"wrote {args.out}")
        return
    if args.from_logs:
        results = json.loads((args.work / "results.json").read_text())
        for r in results:
            per_run = [stage_seconds_from_log(log) for log in sorted((args.work / str(r["people"])).glob("run*.log"))]
            r["stage_seconds"] = {s: statistics.median(p.get(s, 0.0) for p in per_run) for s in STAGES[1:]}
        (args.work / "results.json").write_text(json.dumps(results, indent=2))
        args.out.write_text(report(results))
        print(f"wrote {args.out}")
        return
    results = []
    for people in args.people:
        results.append(bench_size(people, 1 if people >= 1_000_000 else args.repeat, args.seed,
                                  args.work, simulation=not args.no_simulation))
        (args.work / "results.json").write_text(json.dumps(results, indent=2))
    args.out.write_text(report(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
