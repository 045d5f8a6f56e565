"""Acceptance: the Data Docs index and a gate's page open offline, styled, with no console error."""
from __future__ import annotations

import re

import pytest

from dagster_project.quality import gx_runner
from dagster_project.quality.gates import run_gate
from dagster_project.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def data_docs(tmp_path, monkeypatch):
    """Two gates run on the quality tests' tiny warehouse, Data Docs on."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "quality"))
    from warehouse_fixture import PSEUDO_KEY, build_warehouse

    monkeypatch.setattr(gx_runner, "BUILD_DATA_DOCS", True)
    settings = Settings.from_env(landing_dir=tmp_path / "landing", warehouse_dir=tmp_path / "warehouse",
                                 pseudo_key=PSEUDO_KEY)
    con = build_warehouse(settings.warehouse_db)
    try:
        results = [run_gate(name, con, settings, run_id="browser-test") for name in ("raw_hes_apc", "marts_system_metrics")]
    finally:
        con.close()
    return settings.data_docs_dir, results


def test_the_index_and_a_gate_page_render_offline_without_errors(browser, artifacts, data_docs):
    docs_dir, results = data_docs
    index = browser.render(docs_dir / "index.html", screenshot=artifacts / "data_docs_index.png",
                   count_selectors={"gate_links": "a[href^='validations/']"})
    assert index.console_errors == [] and index.remote_requests == [] and index.failed_loads == []
    assert index.counts["gate_links"] == len(results)

    page = results[1].docs_page
    seen = browser.render(page, screenshot=artifacts / "data_docs_gate_page.png", count_selectors={
        "tables": "table.table", "passed_icons": ".fa-check-circle",
    }, expressions={
        # Bootstrap's reboot sets a system font stack and tables to collapse: only if the vendored CSS loaded
        "table_border": "getComputedStyle(document.querySelector('table.table')).borderCollapse",
        "icon": "getComputedStyle(document.querySelector('.fa-check-circle'), '::before').content",
        "jquery": "typeof window.jQuery === 'function' && typeof jQuery.fn.modal === 'function'",
    })
    assert seen.console_errors == [], "GX's inline scripts need the vendored jQuery and Bootstrap"
    assert seen.remote_requests == [], "nothing may be fetched from a CDN"
    assert seen.failed_loads == []
    assert seen.counts["tables"] > 0 and seen.counts["passed_icons"] > 0
    assert seen.values == {"table_border": "collapse", "icon": '"✔"', "jquery": True}
    text = page.read_text()
    assert not re.search(r"""<(script|link|img)\b[^>]*\b(src|href)=["']?(https?:)?//""", text, re.IGNORECASE)
