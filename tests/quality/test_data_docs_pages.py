"""Data Docs: every gate's page survives the next gate, opens offline, and the index links each run's pages."""
from __future__ import annotations

import re

import pytest

from dagster_project.quality.docs_index import render_index
from dagster_project.quality.gates import run_gate
from dagster_project.quality.offline_docs import offline_page

REMOTE = re.compile(r"""<(script|link|img)\b[^>]*\b(src|href)=["']?(https?:)?//|url\(\s*["']?(https?:)?//""", re.IGNORECASE)


@pytest.mark.slow
def test_every_gates_page_still_exists_after_the_later_gates_and_has_nothing_remote(con, settings, with_data_docs):
    results = [run_gate(name, con, settings, run_id="run-a") for name in ("raw_hes_apc", "marts_system_metrics")]
    for result in results:
        assert result.docs_page is not None and result.docs_page.exists(), f"{result.name}: page removed"
        text = result.docs_page.read_text()
        assert not REMOTE.search(text), f"{result.name}: page loads something from the internet"
        for asset in re.findall(r'(?:href|src)="([^"#?]+?\.(?:css|js|png|ico))"', text):
            assert (result.docs_page.parent / asset).resolve().exists(), f"{result.name}: {asset} missing"
    index = (settings.data_docs_dir / "index.html").read_text()
    links = re.findall(r'href="(validations/[^"]+)"', index)
    assert len(links) == 2 and all((settings.data_docs_dir / link).exists() for link in links)
    assert not list(settings.data_docs_dir.glob(".staging-*")), "GX's staging folders are cleaned up"


def test_the_index_groups_gates_by_run_newest_first_and_says_when_a_page_is_gone(tmp_path):
    (tmp_path / "validations").mkdir()
    (tmp_path / "validations" / "b.html").write_text("<html></html>")
    entries = [
        {"at": "2026-01-01T02:00:00+00:00", "run_id": "run-1", "gate": "raw_hes_apc", "success": True,
         "page": "validations/a.html", "summary": "ok"},
        {"at": "2026-01-02T02:00:00+00:00", "run_id": "run-2", "gate": "raw_hes_apc", "success": True,
         "page": "validations/b.html", "summary": "ok"},
        {"at": "2026-01-02T02:00:05+00:00", "run_id": "run-2", "gate": "linkage", "success": False,
         "page": None, "summary": "quality gate linkage failed"},
    ]
    page = render_index(tmp_path, entries)
    assert page.index("run run-2") < page.index("run run-1")
    assert "1 FAILED: linkage" in page and "all passed" in page
    assert 'href="validations/b.html"' in page and 'href="validations/a.html"' not in page
    assert "page removed" in page


def test_a_page_is_rewritten_to_the_vendored_assets(tmp_path):
    (tmp_path / "static" / "images").mkdir(parents=True)
    (tmp_path / "static" / "images" / "logo-long.png").write_bytes(b"png")
    page = ('<html><head><link rel="stylesheet" href="https://cdn.example/bootstrap.min.css"/>'
            '<link rel="shortcut icon" href="../static/images/favicon.ico"></head><body>'
            '<img src="https://s3.example/logo-long.png?d=1"><img src="https://s3.example/other.png">'
            '<script src="https://code.example/jquery.js"></script><div style="background:url(\'https://x/y.png\')">'
            '</div></body></html>')
    out = offline_page(page, "../../", tmp_path)
    assert not REMOTE.search(out)
    assert '<script src="../../static/vendor/jquery.min.js"></script>' in out
    assert 'src="../../static/images/logo-long.png"' in out and "other.png" not in out
    assert 'href="../../static/images/favicon.ico"' in out


def test_a_page_from_templates_compiled_earlier_in_the_process_is_the_page_compiled_from_source(
        con, settings, with_data_docs):
    """Data Docs' Jinja templates are compiled once per process (gx_runner.CompiledTemplates):
    the second gate's page, rendered from the cached code, equals the first one's, rendered
    from the templates' source, but for the run's time stamps."""
    from dagster_project.quality import gx_runner
    from dagster_project.quality.gates import GATES

    gate = GATES["marts_system_metrics"]
    frame = gate.frame(con)
    gx_runner.COMPILED_TEMPLATES.code.clear()
    first = gx_runner.validate(frame, gate.suite_path, settings.data_docs_dir / "a", gate.label_column)
    assert gx_runner.COMPILED_TEMPLATES.code, "the templates compiled for the first page are kept"
    hits = gx_runner.COMPILED_TEMPLATES.hits
    second = gx_runner.validate(frame, gate.suite_path, settings.data_docs_dir / "b", gate.label_column)
    assert gx_runner.COMPILED_TEMPLATES.hits > hits, "the second page loads the compiled templates"
    stamp = re.compile(r"\d{8}T\d{6}\.\d{6}Z|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?")
    pages = [stamp.sub("T", run.docs_page.read_text()) for run in (first, second)]
    assert first.success and pages[0] == pages[1]
