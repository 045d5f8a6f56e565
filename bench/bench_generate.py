"""Benchmark `carejourney generate`: wall time, peak memory and output size at 100k and 1M people.

Each size runs in its own process under /usr/bin/time -v (peak RSS of that process
alone); results, the machine and the calibration figures at 100k go to
bench/generate_results.md. Working data goes to bench/work/ (git-ignored).

    .venv/bin/python bench/bench_generate.py [--sizes 100000 1000000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "generate_results.md"
TARGETS = {100_000: 60.0, 1_000_000: 300.0}  # seconds (issue 2)
MEMORY_TARGET_MB = 4096


def machine() -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1).strip() if found else cpu
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text())
        mem = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else mem
    import duckdb
    import numpy
    import pyarrow
    return (f"{os.cpu_count()} cores ({cpu}), {mem} RAM, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, numpy {numpy.__version__}, pyarrow {pyarrow.__version__}, "
            f"duckdb {duckdb.__version__}")


def run_size(people: int, seed: int) -> dict[str, object]:
    out = WORK / f"landing_{people}"
    truth = WORK / f"truth_{people}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(truth, ignore_errors=True)
    cmd = [sys.executable, "-m", "dagster_project.cli", "generate", "--people", str(people),
           "--out", str(out), "--truth", str(truth), "--seed", str(seed)]
    timer = shutil.which("time") or "/usr/bin/time"
    use_timer = Path(timer).exists()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.run(([timer, "-v"] if use_timer else []) + cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"generate --people {people} failed:\n{proc.stderr[-3000:]}")
    peak_mb = float("nan")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if found:
        peak_mb = int(found.group(1)) / 1024
    else:
        import resource
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    files = [p for p in out.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 1024 / 1024
    phases = [line for line in proc.stderr.splitlines() if line.startswith("[generate")
              and "delivery 20" not in line]
    rows = {}
    for folder in ("hes_apc", "asc_cld", "csds"):
        rows[folder] = sum(sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in (out / folder).iterdir())
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(truth, ignore_errors=True)
    return {"people": people, "wall": wall, "load": (load_before, os.getloadavg()[0]), "peak_mb": peak_mb, "size_mb": size_mb, "files": len(files),
            "phases": phases, "rows": rows}


CALIBRATION_SEEDS = (1, 2, 3)      # issue 16's acceptance: 100k people, seeds 1 to 3
NOISE_FREE_PEOPLE = 1_000_000      # the same seeds at 1M: the expected level, a third of the noise


def calibration_section(people: int, seeds: tuple[int, ...]) -> list[str]:
    """Every complete financial year of every seed: the full report, the stationarity of the
    volume metrics (each change with its standard error and verdict, and a chi-square test
    across the years) and, for each figure outside England's range, its standard error and verdict."""
    sys.path.insert(0, str(ROOT))
    from dagster_project.generate.calibration import (
        NOISE_WIDTH,
        VOLUME_METRICS,
        check,
        compute,
        report,
        standard_error,
        stationarity,
        stationarity_report,
    )
    from dagster_project.generate.config import GeneratorConfig
    from dagster_project.generate.generator import simulate

    lines, volumes, verdicts = [], [], {"in": 0, "noise": 0, "out": 0}
    changes, steady = {"in": 0, "noise": 0, "out": 0}, {"stationary": 0, "step": 0}
    shown = (*VOLUME_METRICS, "care_home_admissions_65_per_100k", "long_term_support_65_pct",
             "emergency_65_winter_excess_pct")
    for seed in seeds:
        figures = compute(simulate(GeneratorConfig(people=people, seed=seed)))
        rows = check(figures)
        for row in rows:
            verdicts[row[4]] += 1
        for result in stationarity(figures):
            steady[result.verdict] += 1
            for change in result.changes:
                changes[change.verdict] += 1
        lines += [f"### Seed {seed}", "", "```", report(figures), "", *stationarity_report(figures), "", *(
            f"FY{year} {name} = {value:,.2f} outside England's range by {'at most' if verdict == 'noise' else 'more than'}"
            f" {NOISE_WIDTH:g} SE (SE {se:,.2f}): {verdict}"
            for year, name, value, se, verdict in rows if verdict != "in"), "```", ""]
        for year in sorted(figures):
            cells = []
            for name in shown:
                figure = figures[year][name]
                se = standard_error(name, figure) or 0.0
                cells.append(f"{figure.value:,.1f} ± {se:,.1f}" if name.endswith("_pct") else
                             f"{figure.value:,.0f} ({figure.numerator:,.0f}) ± {100 * se / figure.value:.1f}%")
            volumes.append(f"| {seed} | FY{year % 100:02d}/{(year + 1) % 100:02d} | " + " | ".join(cells) + " |")
    head = ["Volumes per seed and year: value, in brackets the count it rests on, ± one standard error "
            "of independent draws (admissions cluster in people: the variance is the sum over people of "
            "their count squared, ~1.35x the Poisson standard error for emergency admissions 65+; care home "
            "admissions are people, Poisson; the winter excess in points). The generator draws its event "
            "totals with variance below Poisson by design (generate/draws.py: the simulated people stand for "
            "a scaled-down England, whose yearly totals move by a few percent only): for the admissions "
            "these standard errors are upper bounds, and their year-to-year changes sit far inside them. "
            "Care home admissions are drawn the same way (generate/processes.first_events_by_age: each "
            "person's hazard unchanged, each age band's yearly number within about one admission), so their "
            "Poisson standard errors are upper bounds too; deaths keep their Poisson noise. The 65+ share on "
            "long-term support (care homes included) with its binomial standard error.", "",
            "| seed | year | " + " | ".join(shown) + " |", "|---:|---|" + "---:|" * len(shown), *volumes, "",
            f"Figures with an England range: {verdicts['in']} inside, {verdicts['noise']} outside by at most "
            f"{NOISE_WIDTH:g} standard errors, {verdicts['out']} further out.",
            f"Volume changes (year to year, limit 6%; first to last, limit 10%): {changes['in']} within the limit, "
            f"{changes['noise']} beyond it by at most {NOISE_WIDTH:g} standard errors, {changes['out']} further. "
            f"Volume metrics one level across the years (chi-square, p >= 0.01): {steady['stationary']} of "
            f"{steady['stationary'] + steady['step']}.", ""]
    return head + lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results = []
    for people in args.sizes:
        print(f"generating {people:,} people ...", flush=True)
        results.append(run_size(people, args.seed))
        r = results[-1]
        print(f"  {r['wall']:.1f}s, peak {r['peak_mb']:.0f} MB, {r['size_mb']:.0f} MB in {r['files']} files", flush=True)
    lines = [
        "# `carejourney generate` benchmark",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `bench/bench_generate.py` (seed {args.seed}).",
        f"Machine: {machine()}.",
        "",
        "Targets (issue 2): 100k people well under 1 minute; 1M people under 5 minutes with peak memory under 4 GB.",
        "",
        "| people (at start) | wall time | peak RSS | landing size | files | HES rows | CLD rows | CSDS rows "
        "| load avg before/after | target met |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        target = TARGETS.get(r["people"])
        ok = (target is None or r["wall"] < target) and r["peak_mb"] < MEMORY_TARGET_MB
        lines.append(f"| {r['people']:,} | {r['wall']:.1f} s | {r['peak_mb']:.0f} MB | {r['size_mb']:.0f} MB | "
                     f"{r['files']} | {r['rows']['hes_apc']:,} | {r['rows']['asc_cld']:,} | {r['rows']['csds']:,} | "
                     f"{r['load'][0]:.1f} / {r['load'][1]:.1f} | {'yes' if ok else 'NO'} |")
    lines += ["", "Rows are delivered rows summed over all (overlapping) deliveries, header excluded. "
              "The 1-minute load average shows how busy the (shared) machine was: on 2 cores, "
              "anything above 2 means the generator was sharing the CPUs and its wall time is inflated.", ""]
    for r in results:
        lines += [f"## Phases at {r['people']:,} people (stderr progress)", "", "```", *r["phases"], "```", ""]
    lines += [("## Calibration at 100,000 people, seeds 1-3 (simulation, each complete financial year, the "
               "marts' definitions: generate/calibration.py)"), "", *calibration_section(100_000, CALIBRATION_SEEDS),
              f"## Calibration at {NOISE_FREE_PEOPLE:,} people, seeds 1-3 (the same, a third of the noise)", "",
              *calibration_section(NOISE_FREE_PEOPLE, CALIBRATION_SEEDS)]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
