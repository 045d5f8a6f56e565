"""The quality gates: which frame each suite validates, and on which asset it runs.

`run_gate(name, con, settings)` is the plain-Python core the Dagster checks, the
CLI and the tests share. A gate fails (never raises) when its frame cannot be
built, because a gate that cannot look must not let publication through. A frame
equal to one the same gate passed on, under the same suite and code, reuses that
verdict instead of validating again (gate_reuse.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.quality import frames, gate_reuse, gx_runner
from dagster_project.quality.docs_index import PROCESS_RUN_ID, record_gate_run
from dagster_project.quality.gx_runner import (
    ExpectationOutcome,
    SuiteFileError,
    validate,
)
from dagster_project.settings import EXPECTATIONS_DIR, Settings


@dataclass(frozen=True)
class Gate:
    name: str
    asset_key: tuple[str, ...]
    frame: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
    description: str
    label_column: str | None = None  # names an offending row in failure messages

    @property
    def suite_path(self) -> Path:
        return EXPECTATIONS_DIR / f"{self.name}.json"


GATES: dict[str, Gate] = {g.name: g for g in (
    Gate("raw_hes_apc", ("ops", "load_ledger"), partial(frames.raw_source_frame, source="hes_apc"),
         "HES APC latest delivery: rejected/flagged shares, NHS number completeness, dates, codes",
         "file_name"),
    Gate("raw_asc_cld", ("ops", "load_ledger"), partial(frames.raw_source_frame, source="asc_cld"),
         "CLD latest delivery: rejected/flagged shares, NHS number completeness, dates, codes",
         "file_name"),
    Gate("raw_csds", ("ops", "load_ledger"), partial(frames.raw_source_frame, source="csds"),
         "CSDS latest delivery: rejected/flagged shares, NHS number completeness, dates, codes",
         "file_name"),
    Gate("raw_reference", ("ops", "load_ledger"), frames.reference_frame,
         "Reference snapshots: the latest file of each table loaded, not empty, not shrunk beyond a set "
         "share against the version before it (a truncated opt-out list would publish opted-out people), "
         "one file per table in the landing; the opt-out list delivered and every row of it usable",
         "row_label"),
    Gate("linkage", ("linkage", "record_person"), frames.linkage_frame,
         "Linkage: cluster sizes, one valid NHS number per person, share linked across services"),
    Gate("marts_journey", ("marts", "journey"), frames.journey_frame,
         "Journey: order, no negative durations, hospital events reconcile with spells"),
    Gate("marts_hospital_spell", ("marts", "hospital_spell"), frames.hospital_spell_frame,
         "Hospital spells: no negative durations, count reconciles with current raw episodes"),
    Gate("marts_system_metrics", ("marts", "system_metrics"), frames.system_metrics_frame,
         "System metrics: known ids and periods, values in range per unit", "row_label"),
)}


@dataclass(frozen=True)
class GateResult:
    name: str
    success: bool
    message: str
    failures: list[ExpectationOutcome] = field(default_factory=list)
    docs_page: Path | None = None
    n_rows: int = 0
    # the gate run whose passing verdict this one reuses (gate_reuse.py); None: validated now
    reused_from: gate_reuse.PassedRun | None = None


def _failure_message(gate: Gate, failures: list[ExpectationOutcome], docs_page: Path | None) -> str:
    lines = [f"quality gate {gate.name} failed ({gate.suite_path.name}):"]
    lines += [f"  - {f.describe()}" for f in failures]
    lines.append(f"  Data Docs: {docs_page}" if docs_page else "  Data Docs: not written")
    lines.append("  Publication stopped; the last published copy is untouched.")
    return "\n".join(lines)


def run_gate(name: str, con: duckdb.DuckDBPyConnection, settings: Settings,
             run_id: str | None = None) -> GateResult:
    """Build the gate's frame, validate it with its suite, write Data Docs, say what failed.

    run_id groups the gates of one run on the Data Docs index (the Dagster run id).
    """
    if name not in GATES:
        raise KeyError(f"unknown quality gate {name!r}; known: {', '.join(GATES)}")
    gate = GATES[name]
    try:
        frame = gate.frame(con)
    except (duckdb.Error, LookupError) as exc:
        message = (f"quality gate {name} could not read the warehouse {settings.warehouse_db}: {exc}. "
                   f"Publication stopped; check the step that builds {'/'.join(gate.asset_key)}.")
        record_gate_run(settings.data_docs_dir, name, False, None, message, run_id)
        return GateResult(name, False, message)
    build_docs = gx_runner.BUILD_DATA_DOCS
    key = gate_reuse.reuse_key(name, gate.label_column, gate.suite_path, frame, build_docs)
    passed = gate_reuse.find_pass(con, name, key, settings.data_docs_dir, build_docs)
    if passed is not None:
        message = (f"quality gate {name} passed: the same {len(frame)} rows, suite and code as gate run "
                   f"{passed.run_id} ({passed.passed_at:%Y-%m-%d %H:%M:%S} UTC), which passed; its verdict "
                   f"is reused, not recomputed. Data Docs of that run: {passed.docs_page}")
        record_gate_run(settings.data_docs_dir, name, True, passed.docs_page, message, run_id)
        return GateResult(name, True, message, [], passed.docs_page, len(frame), reused_from=passed)
    try:
        run = validate(frame, gate.suite_path, settings.data_docs_dir, gate.label_column)
    except SuiteFileError as exc:
        return GateResult(name, False, f"quality gate {name}: {exc}. Publication stopped.", n_rows=len(frame))
    if run.success:
        message = f"quality gate {name} passed ({len(run.outcomes)} expectations, {len(frame)} rows); " \
                  f"Data Docs: {run.docs_page}"
        try:
            gate_reuse.record_pass(con, name, key, run_id or PROCESS_RUN_ID, message, run.docs_page,
                                   settings.data_docs_dir, len(frame))
        except duckdb.Error as exc:   # e.g. a read-only connection: the verdict stands, only not reusable
            message += f" (not kept for reuse: {exc})"
    else:
        message = _failure_message(gate, run.failures, run.docs_page)
    record_gate_run(settings.data_docs_dir, name, run.success, run.docs_page, message, run_id)
    return GateResult(name, run.success, message, run.failures, run.docs_page, len(frame))


