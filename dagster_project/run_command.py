"""`carejourney run`: the whole nightly job, in process, with a summary and an exit status.

Exit status (../shared/contract/README.md): 0 when the run finished and published;
1 when a quality gate stopped publication; 2 when the run could not start (bad
options, no secret, unreadable landing folder); 3 when a step crashed. In every
non-zero case the last published copy is untouched and the message says where to look.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import progress
from dagster_project.contract import SOURCES
from dagster_project.settings import Settings, SettingsError

EXIT_OK, EXIT_GATE_FAILED, EXIT_CANNOT_START, EXIT_STEP_CRASHED = 0, 1, 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the whole nightly job in process (no daemon needed)",
        description="Load new deliveries, link people, build marts, run quality gates and publish.")
    parser.add_argument("--landing", help="landing folder (env CAREJOURNEY_LANDING_DIR; default data/landing)")
    parser.add_argument("--warehouse", help="warehouse folder (env CAREJOURNEY_WAREHOUSE_DIR; default data/warehouse)")
    parser.add_argument("--as-of", help="as-of date YYYY-MM-DD (env CAREJOURNEY_AS_OF; default: latest event date)")
    parser.add_argument("--demo", action="store_true",
                        help="demonstration run: make up a pseudonymisation secret if none is set")
    parser.set_defaults(func=run)


def landing_problem(landing: Path) -> str | None:
    """Why the landing folder cannot be read, or None if it can."""
    if not landing.exists():
        return (f"landing folder {landing} does not exist: point --landing or CAREJOURNEY_LANDING_DIR "
                "at the deliveries (or make demo data with `carejourney generate`)")
    if not landing.is_dir():
        return f"landing folder {landing} is not a folder"
    if not os.access(landing, os.R_OK | os.X_OK):
        return f"landing folder {landing} is not readable by this user: fix its permissions"
    present = [s for s in SOURCES if (landing / s).is_dir()]
    if not present:
        return (f"landing folder {landing} holds none of {', '.join(s + '/' for s in SOURCES)}: "
                "is it the right folder? (layout: ../shared/contract/inputs.md)")
    unreadable = [s for s in present if not os.access(landing / s, os.R_OK | os.X_OK)]
    if unreadable:
        return f"landing subfolders {', '.join(unreadable)} of {landing} are not readable: fix their permissions"
    return None


@dataclass
class RunSummary:
    settings: Settings
    seconds: float
    success: bool
    published: bool
    failed_gates: list[str] = field(default_factory=list)
    passed_gates: int = 0
    failed_steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def exit_code(self) -> int:
        if self.success and self.published:
            return EXIT_OK
        if self.failed_gates:
            return EXIT_GATE_FAILED
        return EXIT_STEP_CRASHED

    def text(self) -> str:
        s = self.settings
        lines = ["", "carejourney nightly run: " + ("PUBLISHED" if self.exit_code == EXIT_OK else "NOT PUBLISHED"),
                 f"  took              {self.seconds:.0f}s"]
        for label, value in self.figures.items():
            lines.append(f"  {label:<18}{value}")
        lines.append(f"  gates passed      {self.passed_gates}")
        if self.warnings:
            lines.append(f"  warnings          {len(self.warnings)} (checks at warn severity; they stop nothing)")
            lines += [f"    - {w.splitlines()[0][:200]}" for w in self.warnings[:5]]
        if self.failed_gates:
            lines.append(f"  gates FAILED      {len(self.failed_gates)}")
            lines += [f"    - {g}" for g in self.failed_gates]
            lines.append(f"    Data Docs: {s.data_docs_dir / 'index.html'}")
        for step in self.failed_steps:
            lines.append(f"  step FAILED       {step}")
        if self.exit_code == EXIT_OK:
            lines.append(f"  published         {s.published_db} (+ Parquet beside it)")
            lines.append('  query it          carejourney query "select * from marts.system_metrics limit 10"')
        else:
            lines.append(f"  published copy    untouched: {s.published_db}")
            lines.append(f"  warehouse         {s.warehouse_db} (ops.load_ledger, raw.rejects for load problems)")
        if self.log_path:
            lines.append(f"  full log          {self.log_path}")
        return "\n".join(lines)


def _figures(settings: Settings, run_started: float) -> dict[str, object]:
    """Counts for the summary, read back from the warehouse (each may be absent if its step failed)."""
    if not settings.warehouse_db.exists():
        return {}
    queries = {
        "files loaded": "select count(*) filter (where status = 'loaded') || ' loaded, ' || "
                        "count(*) filter (where status = 'skipped_duplicate') || ' unchanged, ' || "
                        "count(*) filter (where status = 'rejected') || ' rejected' "
                        "from ops.load_ledger where epoch(started_at) >= ?",
        "rows loaded": "select coalesce(sum(rows_loaded), 0) || ' (' || coalesce(sum(rows_rejected), 0) "
                       "|| ' rejected)' from ops.load_ledger where epoch(started_at) >= ?",
        "people linked": "select count(*) || ' people from ' || (select count(*) from linkage.record_person) "
                         "|| ' source identities' from linkage.person",
        "linkage model": "select (select coalesce(model_origin, 'shipped') || ' model, sha256 ' "
                         "|| left(model_sha256, 12) || ', ' || coalesce(n_over_merges_refused, 0) "
                         "|| ' over-merges refused' from linkage.run_log order by run_id desc limit 1)",
        "metrics computed": "select count(*) filter (where value is not null) || ' values in ' || count(*) "
                            "|| ' rows' from marts.system_metrics",
    }
    figures: dict[str, object] = {}
    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        for label, sql in queries.items():
            try:
                params = [run_started] if "?" in sql else []
                figures[label] = con.execute(sql, params).fetchone()[0]
            except duckdb.Error:
                figures[label] = "n/a"
    finally:
        con.close()
    return figures


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(args.landing, args.warehouse, args.as_of, demo=args.demo)
    except SettingsError as exc:
        print(f"carejourney run: cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    problem = landing_problem(settings.landing_dir)
    if problem:
        print(f"carejourney run: cannot start: {problem}", file=sys.stderr)
        return EXIT_CANNOT_START
    return execute(settings)


def execute(settings: Settings) -> int:
    """Run the nightly job in process for these settings; print progress and a summary."""
    import dagster as dg  # imported here so `carejourney --help` stays fast

    from dagster_project.definitions import build_definitions
    from dagster_project.jobs import NIGHTLY_JOB_NAME
    from dagster_project.resources import CarejourneyResource

    # The same settings for every step, and for dbt's subprocess.
    os.environ["CAREJOURNEY_WAREHOUSE_DIR"] = str(settings.warehouse_dir)
    resource = CarejourneyResource(
        landing_dir=str(settings.landing_dir), warehouse_dir=str(settings.warehouse_dir),
        as_of=settings.as_of.isoformat() if settings.as_of else "", demo=settings.demo)
    print(f"carejourney nightly run\n  landing   {settings.landing_dir}\n  warehouse {settings.warehouse_dir}\n"
          f"  as-of     {settings.as_of or 'latest event date in the data'}", flush=True)
    job = build_definitions(resource).resolve_job_def(NIGHTLY_JOB_NAME)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.reports_dir / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    print(f"  full log  {log_path}", flush=True)
    started = time.time()
    # The terminal gets one line per step; dbt's and Dagster's full output go to the log.
    progress.OUTPUT = sys.stdout
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        result = job.execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"loggers": {"progress": {}, "console": {"config": {"log_level": "INFO"}}}},
            tags={"carejourney/as_of": settings.as_of.isoformat() if settings.as_of else "latest-in-data",
                  "carejourney/trigger": "cli"},
        )
    summary = summarise(result, settings, started)
    summary.log_path = log_path
    print(summary.text(), flush=True)
    return summary.exit_code


def dbt_failures(limit: int = 5) -> list[str]:
    """The dbt nodes that errored or failed in the last dbt invocation, with dbt's message."""
    from dagster_project.dbt.assets import DBT_TARGET_DIR

    path = DBT_TARGET_DIR / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text()).get("results", [])
    bad = [r for r in results if r.get("status") in ("error", "fail")]
    lines = [f"{r['unique_id'].split('.')[-1]} {r['status']}: {' '.join(str(r.get('message') or '').split())[:160]}"
             for r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"and {len(bad) - limit} more (see {path})")
    return lines


def summarise(result, settings: Settings, started: float) -> RunSummary:
    import dagster as dg

    evaluations = result.get_asset_check_evaluations()
    # A check at WARN severity that does not pass is worth showing, but stops nothing.
    is_warning = lambda e: e.severity == dg.AssetCheckSeverity.WARN
    describe = lambda e: f"{e.asset_key.to_user_string()} · {e.check_name}: {e.description or 'failed'}"
    failed_gates = [describe(e) for e in evaluations if not e.passed and not is_warning(e)]
    warnings = [describe(e) for e in evaluations if not e.passed and is_warning(e)]
    failed_steps = []
    for event in result.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        message = (error.message.strip().splitlines() or [""])[0] if error else "failed"
        if event.step_key.startswith("dbt_"):
            message = "; ".join(dbt_failures()) or message
        failed_steps.append(f"{event.step_key}: {message}")
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()
                    for m in [m.event_specific_data.materialization]}
    return RunSummary(
        settings=settings, seconds=time.time() - started, success=result.success,
        published="published/carejourney" in materialized,
        failed_gates=failed_gates, passed_gates=sum(1 for e in evaluations if e.passed),
        warnings=warnings,
        failed_steps=failed_steps, figures=_figures(settings, started),
    )
