"""One Data Docs front page for every gate of every run.

Each gate validates in its own ephemeral GX context, so GX's own index.html only
knows the last gate's page. A run log (gate_runs.jsonl beside the pages) and this
index, written after every gate, list every gate run with its verdict and page.
"""
from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

RUN_LOG = "gate_runs.jsonl"
INDEX = "index.html"
SHOWN = 500  # newest entries on the page; the log keeps everything


def record_gate_run(docs_dir: Path, gate: str, success: bool, page: Path | None, summary: str) -> Path:
    """Append this gate run to the log and rewrite the index; return the index path."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    entry = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "gate": gate,
             "success": success, "page": str(page.relative_to(docs_dir)) if page and page.is_relative_to(docs_dir) else None,
             "summary": summary}
    with (docs_dir / RUN_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
    entries = [json.loads(line) for line in (docs_dir / RUN_LOG).read_text(encoding="utf-8").splitlines() if line]
    rows = []
    for e in reversed(entries[-SHOWN:]):
        verdict = "passed" if e["success"] else "FAILED"
        link = f'<a href="{html.escape(e["page"])}">Data Docs</a>' if e["page"] else "no page"
        rows.append(f"<tr class='{verdict.lower()}'><td>{html.escape(e['at'])}</td><td>{html.escape(e['gate'])}</td>"
                    f"<td>{verdict}</td><td>{link}</td><td><pre>{html.escape(e['summary'])}</pre></td></tr>")
    index = docs_dir / INDEX
    index.write_text(
        "<!doctype html><meta charset='utf-8'><title>carejourney quality gates</title>"
        "<style>body{font-family:sans-serif}td{vertical-align:top;padding:4px}.failed{background:#fdd}"
        "pre{margin:0;white-space:pre-wrap}</style>"
        "<h1>carejourney quality gates</h1><p>Newest first. Suites: expectations/*.json.</p>"
        "<table><tr><th>when (UTC)</th><th>gate</th><th>verdict</th><th>page</th><th>message</th></tr>"
        + "".join(rows) + "</table>\n", encoding="utf-8")
    return index
