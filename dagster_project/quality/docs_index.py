"""One Data Docs front page for every gate of every run.

Each gate validates in its own ephemeral GX context, so GX's own index.html only
knows the last gate's page. A run log (gate_runs.jsonl beside the pages) and this
index, written after every gate, list every run (newest first) with each gate's
verdict and a link to its page; a page that is gone is said to be gone, not linked.
"""
from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import os
import uuid
from pathlib import Path

RUN_LOG = "gate_runs.jsonl"
INDEX = "index.html"
SHOWN = 500  # newest entries on the page; the log keeps everything

# Gates run outside Dagster (`carejourney publish`) share one id per process; the
# Dagster checks pass their run id, so the index and the UI name the same run.
PROCESS_RUN_ID = f"process-{os.getpid()}-{uuid.uuid4().hex[:8]}"

STYLE = ("body{font-family:Arial,Helvetica,sans-serif;margin:16px;color:#231F20}td,th{vertical-align:top;"
         "padding:4px 8px;text-align:left}table{border-collapse:collapse}tr.run th{background:#E8EDEE;"
         "border-top:2px solid #425563}.failed{background:#FDDDDD}pre{margin:0;white-space:pre-wrap;"
         "font-size:12px}.gone{color:#768692}")


def record_gate_run(docs_dir: Path, gate: str, success: bool, page: Path | None, summary: str,
                    run_id: str | None = None) -> Path:
    """Append this gate run to the log and rewrite the index; return the index path."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    entry = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "run_id": run_id or PROCESS_RUN_ID,
             "gate": gate, "success": success,
             "page": str(page.relative_to(docs_dir)) if page and page.is_relative_to(docs_dir) else None,
             "summary": summary}
    with (docs_dir / RUN_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
    entries = [json.loads(line) for line in (docs_dir / RUN_LOG).read_text(encoding="utf-8").splitlines() if line]
    index = docs_dir / INDEX
    temporary = index.with_name(f".{INDEX}.{os.getpid()}.tmp")
    temporary.write_text(render_index(docs_dir, entries[-SHOWN:]), encoding="utf-8")
    os.replace(temporary, index)
    return index


def _link(docs_dir: Path, page: str | None) -> str:
    if not page:
        return "no page"
    if not (docs_dir / page).exists():
        return "<span class='gone'>page removed</span>"
    return f'<a href="{html.escape(page)}">Data Docs</a>'


def render_index(docs_dir: Path, entries: list[dict]) -> str:
    """The index page: runs newest first, each with its gates in the order they ran."""
    rows = []
    # consecutive entries of one run form its block (older logs have no run_id: one block per entry)
    runs = [list(group) for _, group in itertools.groupby(entries, key=lambda e: e.get("run_id") or e["at"])]
    for run in reversed(runs):
        failed = [e["gate"] for e in run if not e["success"]]
        verdict = f"{len(failed)} FAILED: {', '.join(failed)}" if failed else "all passed"
        rows.append(f"<tr class='run'><th colspan='5'>run {html.escape(str(run[0].get('run_id') or '-'))}, "
                    f"{html.escape(run[0]['at'])} UTC: {len(run)} gate(s), {html.escape(verdict)}</th></tr>")
        for e in run:
            state = "passed" if e["success"] else "FAILED"
            rows.append(f"<tr class='{state.lower()}'><td>{html.escape(e['at'])}</td><td>{html.escape(e['gate'])}</td>"
                        f"<td>{state}</td><td>{_link(docs_dir, e['page'])}</td>"
                        f"<td><pre>{html.escape(e['summary'])}</pre></td></tr>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>carejourney quality gates</title>"
            f"<style>{STYLE}</style></head><body><h1>carejourney quality gates</h1>"
            "<p>Every run, newest first, with each gate's verdict and its Great Expectations Data Docs page "
            "(they open offline). Suites and thresholds: expectations/*.json.</p>"
            "<table><tr><th>when (UTC)</th><th>gate</th><th>verdict</th><th>page</th><th>message</th></tr>"
            + "".join(rows) + "</table></body></html>\n")
