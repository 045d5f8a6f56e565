"""Acceptance: the report opens offline in headless Chromium with every chart drawn, no errors."""
from __future__ import annotations

import re

import pytest
from published_fixture import make_published

from dagster_project.report.build import write_report
from dagster_project.settings import Settings

pytestmark = pytest.mark.slow


def test_the_report_renders_offline_with_every_chart_and_no_console_error(tmp_path, browser, artifacts):
    make_published(tmp_path / "warehouse", extras=True)
    report = write_report(Settings.from_env(warehouse_dir=tmp_path / "warehouse", require_key=False))
    declared = len(re.findall(r'data-chart="', report.path.read_text()))
    assert declared == report.charts > 20

    seen = browser.render(tmp_path / "warehouse" / "published" / "report" / "index.html",
                  screenshot=artifacts / "report.png", settle_selector="[data-chart] .js-plotly-plot .main-svg",
                  expected=declared, count_selectors={
                      "containers": "[data-chart]",
                      "drawn": "[data-chart] .js-plotly-plot",
                      "with_svg": "[data-chart] .js-plotly-plot .main-svg",
                      "spc_points": "[data-chart^='spc-'] .scatterlayer .point",
                      "sankey_links": "[data-chart^='sankey-'] .sankey-link",
                  })
    assert seen.console_errors == []
    assert seen.remote_requests == [], "the report must not fetch anything: it opens offline"
    assert seen.failed_loads == []
    assert seen.counts["containers"] == seen.counts["drawn"] == declared
    assert seen.counts["with_svg"] >= declared
    assert seen.counts["spc_points"] >= 24 and seen.counts["sankey_links"] >= 4
    assert seen.screenshot.stat().st_size > 10_000
