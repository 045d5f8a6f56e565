"""The report page: written into the version it describes, self-contained, every chart there,
drawing only from the published copy and using newer published tables when they exist."""
from __future__ import annotations

import re

import pytest
from published_fixture import SHIFTED, make_published

from dagster_project.cli import main
from dagster_project.metric_units import metric_units
from dagster_project.report.build import write_report
from dagster_project.settings import Settings

N_METRICS = len(metric_units())
N_FUNNELS = sum(unit != "days" for unit in metric_units().values())


def _settings(warehouse) -> Settings:
    return Settings.from_env(warehouse_dir=warehouse, require_key=False)


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def body(page: str) -> str:
    """The page after <head>, i.e. without plotly.js itself."""
    return page.split("</head>", 1)[1]


@pytest.fixture(scope="module")
def plain_page(tmp_path_factory) -> str:
    warehouse = tmp_path_factory.mktemp("plain") / "warehouse"
    make_published(warehouse)
    return write_report(_settings(warehouse)).path.read_text()


@pytest.fixture(scope="module")
def extras_page(tmp_path_factory) -> str:
    warehouse = tmp_path_factory.mktemp("extras") / "warehouse"
    make_published(warehouse, extras=True)
    return write_report(_settings(warehouse)).path.read_text()


def chart_ids(page: str) -> list[str]:
    return re.findall(r'data-chart="([^"]+)"', page)


def test_the_report_goes_into_the_published_version_it_describes(warehouse):
    first = make_published(warehouse)
    result = write_report(_settings(warehouse))
    assert result.path == first / "report" / "index.html"
    assert (warehouse / "published" / "report" / "index.html").read_text() == result.path.read_text()
    assert first.name in result.path.read_text()

    second = make_published(warehouse)  # the next publish swaps the link
    assert not (warehouse / "published" / "report" / "index.html").exists(), \
        "the old version's report must not be reachable beside the new data"
    write_report(_settings(warehouse))
    page = (warehouse / "published" / "report" / "index.html").read_text()
    assert second.name in page and first.name not in page


def test_the_page_is_self_contained_with_plotly_inline_once(plain_page):
    page = plain_page
    assert not re.search(r"""<(script|link|img)\b[^>]*\b(src|href)=["']?(https?:)?//""", page, re.IGNORECASE)
    assert page.count("<script type='text/javascript'>") == 1  # plotly.js, once
    assert "window.Plotly" in page or "Plotly" in page


def test_every_metric_has_an_spc_chart_and_a_funnel_and_the_pathways_a_sankey(plain_page):
    ids = chart_ids(plain_page)
    assert sum(i.startswith("spc-") for i in ids) == N_METRICS
    assert sum(i.startswith("funnel-") for i in ids) == N_FUNNELS
    assert "sankey-transitions" in ids
    assert len(ids) == len(set(ids))


def test_a_councils_shift_is_flagged_and_suppressed_months_are_noted(plain_page):
    page = plain_page
    metric_id, council = SHIFTED
    summary = page.split("id='summary'")[1].split("</section>")[0]
    row = next(r for r in summary.split("<tr>") if f"#m-{metric_id}" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    header = re.findall(r"<th>(.*?)</th>", summary.split("</tr>")[0])
    assert "special cause: concern" in cells[header.index(council)], "emergency admissions up: concern"
    assert "5 month(s) without a value" in page  # York's suppressed delayed-discharge months


def test_newer_published_tables_and_columns_are_used_when_present(extras_page):
    page = body(extras_page)
    assert "Leeds (E08000035)" in page                     # code_labels
    assert "Emergency admissions 65 per 100k (title)" in page  # metric_definitions
    assert '"name":"England"' in page                      # England reference value
    assert '"name":"England range"' in page                # or its plausible range
    assert "Reablement (ST-Max)" in page                   # pathway states labelled
    assert "small numbers: read with care" in page
    assert '"error_y":' in page                            # confidence intervals
    assert any(i.startswith("sankey-index-") for i in chart_ids(page))  # index-event pathway mart


def test_without_them_nothing_is_made_up(plain_page):
    page = body(plain_page)
    assert '"name":"England"' not in page and '"error_y":' not in page
    assert "Leeds" not in page and "E08000035" in page


def test_the_command_writes_the_report_and_says_where(warehouse, capsys):
    version = make_published(warehouse)
    assert main(["report", "--warehouse", str(warehouse)]) == 0
    assert str(version / "report" / "index.html") in capsys.readouterr().out


def test_the_command_without_a_published_copy_cannot_start(warehouse, capsys):
    assert main(["report", "--warehouse", str(warehouse)]) == 2
    assert "no published copy" in capsys.readouterr().err
