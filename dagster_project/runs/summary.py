"""What a nightly run tells its operator: the summary, its figures, and the exit status.

Figures are read back from the warehouse (each may be absent if its step failed);
failed steps carry dbt's own message for dbt steps. A step that crashed (an error,
a full disk) outranks a failed gate: the run did not finish, so exit 3.
"""
from __future__ import annotations

import errno
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import duckdb_connection
from dagster_project.exit_codes import ExitCode
from dagster_project.settings import Settings

# OSError numbers that mean the machine, not the data, stopped the run, and how a
# Dagster error record (which keeps only text) spells them.
RESOURCE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
RESOURCE_ERROR_TEXTS = {os.strerror(n): n for n in RESOURCE_ERRNOS} | {f"[Errno {n}]": n for n in RESOURCE_ERRNOS}
MACHINE_FAILURE_ADVICE = "the machine stopped this step, not the data: free space or fix the disk, then run again"


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
    notes: list[str] = field(default_factory=list)
    machine_failure: bool = False   # a step was stopped by a full disk or an I/O error

    @property
    def exit_code(self) -> ExitCode:
        if self.success and self.published:
            return ExitCode.OK
        if self.machine_failure:
            return ExitCode.STEP_CRASHED
        if self.failed_gates:
            return ExitCode.GATE_FAILED
        return ExitCode.STEP_CRASHED

    def text(self) -> str:
        s = self.settings
        code = self.exit_code
        if code == ExitCode.OK:
            headline = "PUBLISHED"
        elif self.published:  # publish swapped the new copy in; a later step (the report) failed
            headline = "PUBLISHED, BUT A LATER STEP FAILED"
        else:
            headline = "NOT PUBLISHED"
        lines = ["", "carejourney nightly run: " + headline,
                 f"  took              {self.seconds:.0f}s",
                 f"  engine            {s.engine}" + (" (dbt and linkage; ingest, gates and publish on DuckDB)"
                                                      if s.on_spark else "")]
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
        lines += [f"  note              {n}" for n in self.notes]
        if self.published:
            # where report/build.py writes it
            from dagster_project.report.published_data import report_path

            report = report_path(s.published_dir)  # through the `published` link: this version's report
            lines.append(f"  published         {s.published_db} (+ Parquet beside it; aggregates)")
            lines.append(f"  analyst copy      {s.analyst_db} (+ Parquet beside it; person-level, pseudonymised)")
            if code == ExitCode.OK:
                lines.append(f"  report            {report}")
            else:
                lines.append(f"  report            NOT WRITTEN for this version: `carejourney report` writes it "
                             f"once the step above is fixed ({report})")
            lines.append('  query it          carejourney query "select * from marts.system_metrics limit 10"')
        else:
            lines.append(f"  published copy    untouched: {s.published_db} (and {s.analyst_db})")
            lines.append(f"  warehouse         {s.warehouse_db} (ops.load_ledger, raw.rejects for load problems)")
        if self.log_path:
            lines.append(f"  full log          {self.log_path}")
        lines.append(f"  exit status       {int(code)}: {code.meaning}")
        return "\n".join(lines)


def figures(settings: Settings, run_started: float) -> dict[str, object]:
    """Counts for the summary, read back from the warehouse (each may be absent if its step failed)."""
    if not settings.warehouse_db.exists():
        return {}
    queries = {
        "files loaded": "select count(*) filter (where status = 'loaded') || ' loaded, ' || "
                        "count(*) filter (where status = 'skipped_duplicate') || ' unchanged, ' || "
                        "count(*) filter (where status = 'rejected') || ' rejected' "
                        "from ops.load_ledger where epoch(started_at) >= ?",
        "files refused": "select case when count(*) = 0 then 'none' else "
                         "array_to_string(list(file_name order by load_id)[:5], ', ') "
                         "|| case when count(*) > 5 then ' and ' || (count(*) - 5) || ' more' else '' end "
                         "|| ' (reasons: ops.load_ledger)' end from ops.load_ledger "
                         "where status = 'rejected' and epoch(started_at) >= ?",
        "rows loaded": "select coalesce(sum(rows_loaded), 0) || ' (' || coalesce(sum(rows_rejected), 0) "
                       "|| ' rejected)' from ops.load_ledger where epoch(started_at) >= ?",
        "people linked": "select count(*) || ' people from ' || (select count(*) from linkage.record_person) "
                         "|| ' source identities' from linkage.person",
        "linkage model": "select (select coalesce(model_origin, 'shipped') || ' model, sha256 ' "
                         "|| left(model_sha256, 12) || ', ' || coalesce(n_over_merges_refused, 0) "
                         "|| ' over-merges refused' from linkage.run_log order by run_id desc limit 1)",
        # pair_cache.py: what tonight's linkage compared (null counts: Spark scored every pair)
        "linkage pairs": "select (select coalesce(n_identities_touched || ' identities new or changed, ' "
                         "|| n_pairs_compared || ' pairs compared, ' || n_pairs_scored || ' scored', "
                         "'every pair compared and scored') from linkage.run_log order by run_id desc limit 1)",
        "metrics computed": "select count(*) filter (where value is not null) || ' values in ' || count(*) "
                            "|| ' rows' from marts.system_metrics",
        # publish/analyst_base.py: tonight's analyst copy, written on last night's or whole, and why
        "analyst written": "select coalesce((select mode || ': ' || reason from ops.publish_log where tier = 'analyst' "
                        "and epoch(published_at) >= ? order by published_at desc limit 1), 'not written by this run')",
    }
    found: dict[str, object] = {}
    try:
        con = duckdb_connection.connect(settings, read_only=True)
    except duckdb.Error:
        return {}
    try:
        for label, sql in queries.items():
            try:
                params = [run_started] if "?" in sql else []
                found[label] = con.execute(sql, params).fetchone()[0]
            except duckdb.Error:
                found[label] = "n/a"
    finally:
        con.close()
    return found


# dbt colours a unit test's diff (ANSI escapes) even in run_results.json's message
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def dbt_failures(settings: Settings, limit: int = 5) -> list[str]:
    """The dbt nodes that errored or failed in the warehouse's last dbt invocation, with dbt's message."""
    from dagster_project.dbt.assets import dbt_target_dir

    path = dbt_target_dir(settings) / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text()).get("results", [])
    bad = [r for r in results if r.get("status") in ("error", "fail")]
    lines = [f"{r['unique_id'].split('.')[-1]} {r['status']}: "
             f"{' '.join(_ANSI_ESCAPE.sub('', str(r.get('message') or '')).split())[:160]}"
             for r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"and {len(bad) - limit} more (see {path})")
    return lines


def describe_exception(exc: BaseException) -> str:
    """One line for an exception, saying plainly when the disk (not the data) is the problem."""
    for cause in _chain(exc):
        if isinstance(cause, OSError) and cause.errno in RESOURCE_ERRNOS:
            return machine_failure_line(cause.errno)
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300]


def is_machine_failure(exc: BaseException) -> bool:
    """A full disk, quota or I/O error anywhere in the exception's chain."""
    return any(isinstance(c, OSError) and c.errno in RESOURCE_ERRNOS for c in _chain(exc))


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def machine_failure_line(number: int) -> str:
    return f"{os.strerror(number)} ({errno.errorcode[number]}): {MACHINE_FAILURE_ADVICE}"


def _refused_by_publish(error):
    """The PublishError in a step error's chain (publish refused to publish), else None."""
    while error is not None:
        if error.cls_name == "PublishError":
            return error
        error = error.cause or error.context
    return None


def _error_line(error) -> str:
    """One line for a Dagster step error (SerializableErrorInfo), naming a full disk plainly."""
    texts = []
    while error is not None:
        texts.append(f"{error.cls_name or ''}: {error.message}")
        error = error.cause or error.context
    joined = " ".join(texts)
    for text, number in RESOURCE_ERROR_TEXTS.items():
        if text in joined:
            return machine_failure_line(number)
    return (texts[0].strip().splitlines() or ["failed"])[0][:300] if texts else "failed"


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
        if error is not None and _refused_by_publish(error):
            # publish's own checks (identifiers, opt-out, verification) stop publication the way a
            # gate does: exit 1, as `carejourney publish` gives for the same refusal
            failed_gates.append(f"{event.step_key}: publish refused: {_error_line(_refused_by_publish(error))}")
            continue
        message = _error_line(error) if error else "failed"
        if event.step_key.startswith("dbt_") and not message.endswith(MACHINE_FAILURE_ADVICE):
            message = "; ".join(dbt_failures(settings)) or message
        failed_steps.append(f"{event.step_key}: {message}")
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()
                    for m in [m.event_specific_data.materialization]}
    return RunSummary(
        settings=settings, seconds=time.time() - started, success=result.success,
        published="published/carejourney" in materialized,
        failed_gates=failed_gates, passed_gates=sum(1 for e in evaluations if e.passed),
        warnings=warnings,
        failed_steps=failed_steps, figures=figures(settings, started),
        machine_failure=any(step.endswith(MACHINE_FAILURE_ADVICE) for step in failed_steps),
    )
