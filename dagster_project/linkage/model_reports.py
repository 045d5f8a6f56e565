"""Splink's own review charts of a trained model, as self-contained HTML files.

Written by training under `<warehouse>/reports/linkage_model/` for the reviewer:
match weights, m/u parameters, and the comparison viewer (example pairs per
comparison pattern, scored with the trained model on the training data). No
internet at run time: charts are saved with Splink's bundled vega libraries
inlined (`to_html(inline=True)`); the comparison viewer bundles them already,
and its Google Fonts links are removed (the page falls back to a local font).

The comparison viewer shows example record pairs, identifiable fields included:
it belongs with warehouse.duckdb (private to the service account), never in
published/.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import duckdb

from dagster_project.engine.sql_runner import DuckDBRunner
from dagster_project.linkage import splink_runner

REPORT_SUBDIR = "linkage_model"
# <link> tags that would fetch fonts from the internet when the page is opened.
_REMOTE_LINK = re.compile(r'<link[^>]*href="https?://[^"]*"[^>]*>\s*', re.IGNORECASE)


def write_model_reports(con: duckdb.DuckDBPyConnection, model: dict, reports_dir: Path,
                        example_rows: int = 2) -> list[Path]:
    """The three charts for `model`, predicting on the current linkage_splink_input."""
    out_dir = reports_dir / REPORT_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    # the comparison viewer needs every comparison's columns and partial weights kept
    linker = splink_runner.linker_for(con, {**model, "retain_matching_columns": True,
                                            "retain_intermediate_calculation_columns": True})
    written = []
    try:
        for name, chart in (("match_weights.html", linker.visualisations.match_weights_chart()),
                            ("m_u_parameters.html", linker.visualisations.m_u_parameters_chart())):
            path = out_dir / name
            path.write_text(chart.to_html(inline=True), encoding="utf-8")
            written.append(path)
        predictions = linker.inference.predict()
        viewer = out_dir / "comparison_viewer.html"
        html = linker.visualisations.comparison_viewer_dashboard(
            predictions, str(viewer), overwrite=True, num_example_rows=example_rows,
            return_html_as_string=True)
        viewer.write_text(without_remote_links(html or viewer.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(viewer)
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        splink_runner.drop_splink_tables(con)
        splink_runner.drop_reference_term_frequencies(DuckDBRunner(con))
    logging.getLogger(__name__).info("linkage model reports written to %s", out_dir)
    return written


def without_remote_links(html: str) -> str:
    return _REMOTE_LINK.sub("", html)
