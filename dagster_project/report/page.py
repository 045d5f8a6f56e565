"""Assemble the report page: one self-contained HTML file (plotly.js inline, no CDN).

Sections: a summary of the latest month's variation per metric and area; per
metric an SPC chart (ALL and each council, chosen in a drop-down) and a funnel
plot of the councils; the pathway Sankeys; the data-quality table. Every chart
container carries `data-chart` so a test can count that each one rendered.
"""
from __future__ import annotations

import datetime as dt
import html

import numpy as np
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from dagster_project.report import charts, funnel, spc
from dagster_project.report.directions import direction_for
from dagster_project.report.published_data import PublishedData

MONTH = "month"
FINANCIAL_YEAR = "financial_year"

STYLE = """
body{font-family:Arial,Helvetica,sans-serif;margin:0;color:#231F20;background:#F0F4F5}
header{background:#005EB8;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;font-size:13px}main{padding:8px 24px 40px;max-width:1400px}
nav{font-size:13px;margin:12px 0}nav a{margin-right:12px;color:#005EB8}
section{background:#fff;border-radius:4px;padding:12px 16px;margin:16px 0}
h2{font-size:20px;margin:6px 0 10px}h3{font-size:16px;margin:12px 0 4px}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:12px}
@media (max-width:1000px){.pair{grid-template-columns:1fr}}
.note{font-size:12px;color:#425563;margin:4px 0}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #D8DDE0;padding:3px 6px;text-align:right}
th{background:#E8EDEE}td:first-child,th:first-child{text-align:left}
.v-common_cause{background:#E8E8E8}.v-special_cause_improvement{background:#BDE2F7}
.v-special_cause_concern{background:#FDE5B6}.v-special_cause_neither{background:#D8C6EA}
.key span{display:inline-block;padding:2px 8px;margin-right:6px;font-size:12px}
"""


def _figure_html(figure, chart_id: str) -> str:
    body = pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=chart_id, validate=False,
                       config={"displaylogo": False, "responsive": True})
    return f'<div class="chart" data-chart="{chart_id}">{body}</div>'


def _monthly(data: PublishedData) -> pd.DataFrame:
    frame = data.metrics[data.metrics["period_type"] == MONTH].copy()
    return frame.sort_values(["metric_id", "la_code", "period_start"])


def _numeric_column(data: PublishedData, column: str) -> bool:
    return column in data.metrics.columns and pd.api.types.is_numeric_dtype(data.metrics[column])


def _float_list(rows: pd.DataFrame, column: str) -> list[float]:
    return pd.to_numeric(rows[column], errors="coerce").astype(float).tolist()


def _area_order(codes: list[str]) -> list[str]:
    return (["ALL"] if "ALL" in codes else []) + sorted(c for c in codes if c != "ALL")


def spc_series(data: PublishedData, metric_id: str) -> list[charts.AreaSeries]:
    """The XmR chart of every area for one metric, ALL first."""
    monthly = _monthly(data)
    monthly = monthly[monthly["metric_id"] == metric_id]
    direction = direction_for(metric_id, data.metric_definitions)
    has_ci = _numeric_column(data, "ci_lower") and _numeric_column(data, "ci_upper")
    has_band = _numeric_column(data, "england_low") and _numeric_column(data, "england_high")
    series = []
    for la_code in _area_order(list(monthly["la_code"].unique())):
        rows = monthly[monthly["la_code"] == la_code]
        periods = [pd.Timestamp(p).strftime("%Y-%m") for p in rows["period_start"]]
        values = [None if pd.isna(v) else float(v) for v in rows["value"]]
        chart = spc.xmr(periods, values, direction)
        kept = rows[[not pd.isna(v) for v in rows["value"]]]
        series.append(charts.AreaSeries(
            la_code=la_code, label=data.area_name(la_code), chart=chart,
            ci_lower=_float_list(kept, "ci_lower") if has_ci else None,
            ci_upper=_float_list(kept, "ci_upper") if has_ci else None,
            reference=_float_list(kept, "england_value") if _numeric_column(data, "england_value") else None,
            reference_low=_float_list(kept, "england_low") if has_band else None,
            reference_high=_float_list(kept, "england_high") if has_band else None,
            small_numbers=([not pd.isna(v) and bool(v) for v in kept["small_numbers"]]
                           if "small_numbers" in kept else None)))
    return series


def funnel_inputs(data: PublishedData, metric_id: str) -> tuple[str, float, pd.DataFrame, list[str]] | None:
    """(period label, ALL value, councils with a value, councils left out) for the latest
    financial year that has an ALL value and at least one council; None if there is none."""
    years = data.metrics[(data.metrics["period_type"] == FINANCIAL_YEAR) & (data.metrics["metric_id"] == metric_id)]
    for period_start in sorted(years["period_start"].unique(), reverse=True):
        rows = years[years["period_start"] == period_start]
        # a target of 0 has no spread to draw limits with
        total = rows[(rows["la_code"] == "ALL") & (rows["value"].fillna(0) > 0)]
        councils = rows[(rows["la_code"] != "ALL")]
        usable = councils[councils["value"].notna() & (councils["denominator"].fillna(0) > 0)]
        if total.empty or usable.empty:
            continue
        start = pd.Timestamp(period_start)
        label = f"financial year {start.year}/{str(start.year + 1)[-2:]}"
        left_out = sorted(data.area_name(c) for c in set(councils["la_code"]) - set(usable["la_code"]))
        frame = pd.DataFrame({"label": [data.area_name(c) for c in usable["la_code"]],
                              "value": usable["value"].astype(float).to_numpy(),
                              "denominator": usable["denominator"].astype(float).to_numpy()})
        return label, float(total["value"].iloc[0]), frame, left_out
    return None


def _series_notes(series: list[charts.AreaSeries]) -> str:
    """What each area's chart leaves out or cannot say, under the chart."""
    items = [f"<li>{html.escape(s.label)}: {html.escape(s.chart.note)}</li>" for s in series if s.chart.note]
    empty = [s.label for s in series if not s.chart.values]
    if empty:
        items.append(f"<li>no month with a value, not in the drop-down: {html.escape(', '.join(empty))}</li>")
    if not items:
        return ""
    return f"<details class='note'><summary>Notes ({len(items)})</summary><ul>{''.join(items)}</ul></details>"


def _variation_summary(all_series: dict[str, list[charts.AreaSeries]], data: PublishedData) -> str:
    areas = _area_order(sorted({s.la_code for series in all_series.values() for s in series}))
    latest = max((s.chart.periods[-1] for series in all_series.values() for s in series if s.chart.periods),
                 default=None)
    when = lambda s: "" if s.chart.periods[-1] == latest else f", {s.chart.periods[-1]}"
    head = "".join(f"<th>{html.escape(data.area_name(a))}</th>" for a in areas)
    rows = []
    for metric_id, series in all_series.items():
        by_area = {s.la_code: s for s in series}
        cells = []
        for area in areas:
            s = by_area.get(area)
            if s is None or not s.chart.values:
                cells.append("<td>no data</td>")
            elif not s.chart.has_limits:
                cells.append(f"<td>{s.chart.values[-1]:.1f} (too few months{when(s)})</td>")
            else:
                v = s.chart.latest_variation
                cells.append(f"<td class='v-{v.value}'>{s.chart.values[-1]:.1f} "
                             f"({html.escape(charts.VARIATION_LABEL[v])}{when(s)})</td>")
        rows.append(f"<tr><td><a href='#m-{metric_id}'>{html.escape(data.metric_title(metric_id))}</a></td>"
                    + "".join(cells) + "</tr>")
    key = "".join(f"<span class='v-{v.value}'>{html.escape(label)}</span>"
                  for v, label in charts.VARIATION_LABEL.items())
    return (f"<p class='key'>{key}</p><p class='note'>Each council's latest published month ({latest}, "
            "else the month named) and its Making Data Count variation.</p>"
            f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>")


def _pathway_sections(data: PublishedData) -> list[str]:
    parts = []
    transitions = _whole_population(data.pathways)  # should it gain breakdowns: no double counting
    usable = transitions[transitions["n_transitions"].notna() & (transitions["n_transitions"] > 0)]
    left_out = len(transitions) - len(usable)
    if usable.empty:
        parts.append("<p class='note'>pathway_transitions has no transition that can be shown "
                     "(all suppressed or none).</p>")
    else:
        figure = charts.sankey_figure("Transitions between services (all people, all periods)",
                                      [data.label("from_state", v) for v in usable["from_state"]],
                                      [data.label("to_state", v) for v in usable["to_state"]],
                                      usable["n_transitions"].astype(float).tolist())
        parts.append(_figure_html(figure, "sankey-transitions"))
        parts.append(f"<p class='note'>Source: pathway_transitions (n_transitions). {left_out} transition(s) "
                     "suppressed by disclosure control are left out.</p>")
    if data.index_pathways is not None:
        parts += _index_pathway_sections(data, data.index_pathways, data.index_pathways_table or "")
    return parts


def _whole_population(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows for all councils and all ages/sexes, whatever the case of 'ALL' / 'all'."""
    for column in ("la_code", "age_band", "sex"):
        if column in rows.columns:
            rows = rows[rows[column].astype(str).str.upper() == "ALL"]
    return rows


def _index_pathway_sections(data: PublishedData, frame: pd.DataFrame, table: str) -> list[str]:
    """One Sankey per index event (the index-event pathway mart): all councils and ages, latest year.

    Nodes are per step (step 0 is the index event), so a state met at two steps is two nodes.
    """
    rows = _whole_population(frame)
    period = next((c for c in ("financial_year_start", "financial_year", "period_start") if c in rows.columns), None)
    parts = []
    for i, (event, group) in enumerate(sorted(rows.groupby("index_event"), key=lambda g: str(g[0]))):
        when = ""
        if period and group[period].notna().any():
            latest = group[period].dropna().max()
            group = group[group[period] == latest]
            start = pd.Timestamp(latest) if not isinstance(latest, str) else None
            when = f"financial year {start.year}/{str(start.year + 1)[-2:]}" if start is not None else str(latest)
        shown = group[group["n_transitions"].notna() & (group["n_transitions"] > 0)]
        if shown.empty:
            continue
        def node(step: int, state: str, event: str = event) -> str:
            return data.label("index_event", event) if step == 0 else f"{step}: {data.label('to_state', state)}"

        steps = shown["step"].astype(int)
        figure = charts.sankey_figure(
            f"After {data.label('index_event', event)}" + (f", {when}" if when else "") + ": the next three steps",
            [node(k - 1, s) for k, s in zip(steps, shown["from_state"], strict=True)],
            [node(k, s) for k, s in zip(steps, shown["to_state"], strict=True)],
            shown["n_transitions"].astype(float).tolist())
        parts.append(_figure_html(figure, f"sankey-index-{i}"))
        parts.append(f"<p class='note'>Source: {html.escape(table)} (n_transitions, all councils and ages); "
                     f"{len(group) - len(shown)} suppressed row(s) left out.</p>")
    if not parts:
        parts.append(f"<p class='note'>{html.escape(table)} has no transition that can be shown (all suppressed "
                     "or none).</p>")
    return parts


def _data_quality_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p class='note'>data_quality is empty.</p>"
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.3f}".rstrip("0").rstrip("."))
    sort = [c for c in ("source", "table_name", "delivery_date") if c in shown.columns]
    if sort:
        shown = shown.sort_values(sort)
    return shown.to_html(index=False, na_rep="", border=0, classes="data-quality", escape=True)


def build_page(data: PublishedData, generated_at: dt.datetime | None = None) -> str:
    """The whole report as one HTML string (plotly.js inline once)."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    metric_ids = sorted(data.metrics["metric_id"].unique()) if not data.metrics.empty else []
    all_series = {m: spc_series(data, m) for m in metric_ids}
    metric_sections = []
    for metric_id in metric_ids:
        title, unit = data.metric_title(metric_id), data.metric_unit(metric_id)
        series = all_series[metric_id]
        parts = [(f"<section id='m-{metric_id}'><h2>{html.escape(title)}</h2>"
                 "<p class='note'>"
                 f"{html.escape(': '.join(filter(None, (metric_id, data.metric_description(metric_id)))))}</p>"
                 "<div class='pair'>")]
        plotted = [s for s in series if s.chart.values]
        if plotted:
            parts.append("<div>" + _figure_html(charts.spc_figure(title, unit, plotted), f"spc-{metric_id}")
                         + _series_notes(series) + "</div>")
        else:
            parts.append("<p class='note'>No SPC chart: no month has a published value for this metric "
                         "(suppressed, not yet followed up, or none).</p>")
        funnel_data = funnel_inputs(data, metric_id)
        if funnel.limits_for(unit, 0.0, np.array([1.0])) is None:
            parts.append("<p class='note'>No funnel plot: a mean of days needs the spread of individual "
                         "delays, which is not published.</p>")
        elif funnel_data is None:
            parts.append("<p class='note'>No funnel plot: no financial year has both an all-council value "
                         "above 0 and a council value.</p>")
        else:
            label, target, councils, left_out = funnel_data
            parts.append("<div>" + _figure_html(charts.funnel_figure(title, unit, label, target, councils),
                                                f"funnel-{metric_id}"))
            if left_out:
                parts.append("<p class='note'>Not shown (suppressed or no value): "
                             f"{html.escape(', '.join(left_out))}.</p>")
            parts.append("</div>")
        parts.append("</div></section>")
        metric_sections.append("".join(parts))
    try:  # version directories are named <UTC time>-<random> by publish/swap.py
        published_at = dt.datetime.strptime(data.version.split("-")[0], "%Y%m%dT%H%M%S%fZ").strftime(
            "published %Y-%m-%d %H:%M UTC")
    except ValueError:
        published_at = "publication time unknown"
    months = data.metrics.loc[data.metrics["period_type"] == MONTH, "period_start"]
    span = (f"{pd.Timestamp(months.min()):%b %Y} to {pd.Timestamp(months.max()):%b %Y}" if len(months) else "no months")
    return "".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>carejourney report {html.escape(data.version)}</title><style>{STYLE}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        "<header><h1>carejourney: system metrics, pathways and data quality</h1>",
        (f"<p>Published version {html.escape(data.version)} ({html.escape(published_at)}); months {span}; "
        f"report generated {generated_at:%Y-%m-%d %H:%M} UTC from the published copy only.</p>"),
        ("<p>Counts are disclosure-controlled (1-7 suppressed, others rounded to 5); suppressed months are left out "
        "of the charts.</p></header><main>"),
        ("<nav><a href='#summary'>Summary</a><a href='#pathways'>Pathways</a><a href='#data-quality'>Data quality</a>"
        "<a href='#method'>Method</a></nav>"),
        "<section id='summary'><h2>Latest month: Making Data Count variation</h2>",
        _variation_summary(all_series, data), "</section>",
        *metric_sections,
        "<section id='pathways'><h2>Pathways</h2>", *_pathway_sections(data), "</section>",
        "<section id='data-quality'><h2>Data quality per delivery</h2>", _data_quality_table(data.data_quality),
        "</section>",
        ("<section id='method'><h2>Method</h2><p class='note'>SPC: XmR charts as NHS England's "
         "<i>Making Data Count</i> "
        "(2019): mean; process limits mean ± 2.66 × mean moving range; special cause when a point is outside the "
        f"limits, a run of {spc.SHIFT_POINTS} or more points on one side of the mean, {spc.TREND_POINTS} or more "
        "points each rising (or falling), or 2 of 3 points beyond two sigma on the same side. MDC allows 6 or 7 "
        f"for runs and trends; this report uses 7. With fewer than {spc.MIN_POINTS} months no limits are drawn. "
        "Blue: improvement, orange: concern, grey: common cause, purple: special cause on a metric without a better "
        "direction. Funnel plots (Spiegelhalter 2005): exact binomial (percentages) or Poisson (rates) 95% and "
        "99.8% limits around the all-council value of the latest financial year with council values, by denominator; "
        "counts are the published, rounded ones.</p></section>"),
        "</main></body></html>\n",
    ])
