"""Plotly figures for the report: SPC (XmR) per metric, funnel per metric, pathway Sankeys.

The maths lives in spc.py and funnel.py; this module only turns their numbers
into figures, in Making Data Count's colours. Figures are plotly's JSON figure
specs (plain dicts): building them as graph objects validates every property
through deep copies and took ten times as long for the same page.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

from dagster_project.report import funnel
from dagster_project.report.spc import Variation, XmR

Figure = dict[str, Any]

# Making Data Count / NHSRplotthedots colours
VARIATION_COLOUR = {
    Variation.COMMON: "#7B7D7D",
    Variation.IMPROVEMENT: "#289DE0",
    Variation.CONCERN: "#FAB428",
    Variation.NEITHER: "#490092",
}
VARIATION_LABEL = {
    Variation.COMMON: "common cause",
    Variation.IMPROVEMENT: "special cause: improvement",
    Variation.CONCERN: "special cause: concern",
    Variation.NEITHER: "special cause (no better direction)",
}
RULE_LABEL = {
    "outside_limits": "outside the process limits",
    "shift": "shift (7+ on one side of the mean)",
    "trend": "trend (7+ rising or falling)",
    "two_of_three": "2 of 3 beyond 2 sigma",
}
UNIT_LABEL = {"pct": "%", "per_100k": "per 100,000", "days": "days"}
LIMIT_LINE = {"color": "#231F20", "width": 1, "dash": "dash"}
MEAN_LINE = {"color": "#231F20", "width": 1.5}


@functools.cache
def _template() -> dict[str, Any]:
    # the layout half of plotly_white: its trace defaults are not needed and weigh ~10 kB a chart
    return {"layout": pio.templates["plotly_white"].to_plotly_json()["layout"]}


def _layout(title: str, height: int = 420, **extra: Any) -> dict[str, Any]:
    return {"template": _template(), "height": height, "title": {"text": title, "font": {"size": 14}},
            "margin": {"l": 60, "r": 40, "t": 60, "b": 50}, "font": {"family": "Arial, sans-serif", "size": 12},
            "modebar": {"orientation": "v"},  # upright on the right: clear of the title and the drop-down
            "legend": {"orientation": "h", "y": -0.2}, **extra}


def _line(x: list, y: list, name: str, line: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "line": line,
            "hoverinfo": "skip", **extra}


@dataclass(frozen=True)
class AreaSeries:
    """One area's chart on a metric's SPC figure."""

    la_code: str
    label: str
    chart: XmR
    ci_lower: list[float] | None = None
    ci_upper: list[float] | None = None
    reference: list[float] | None = None       # England reference value per plotted month
    reference_low: list[float] | None = None   # England plausible range, when only that is known
    reference_high: list[float] | None = None
    small_numbers: list[bool] | None = None    # the published flag: a value resting on few counts


def _hover(series: AreaSeries, index: int) -> str:
    chart = series.chart
    rules = ", ".join(RULE_LABEL[r] for r in sorted(chart.rules[index])) or "no rule"
    small = "<br>small numbers: read with care" if series.small_numbers and series.small_numbers[index] else ""
    return f"{VARIATION_LABEL[chart.variation[index]]}<br>{rules}{small}"


def _area_traces(series: AreaSeries, unit: str) -> list[dict[str, Any]]:
    chart = series.chart
    x = [str(p) for p in chart.periods]
    points: dict[str, Any] = {
        "type": "scatter", "mode": "lines+markers", "x": x, "y": chart.values, "name": series.label,
        "line": {"color": "#A6A6A6", "width": 1.5},
        "marker": {"size": 8, "color": [VARIATION_COLOUR[v] for v in chart.variation]},
        "text": [_hover(series, i) for i in range(len(x))],
        "hovertemplate": f"%{{x}}: %{{y:.1f}} {UNIT_LABEL.get(unit, '')}<br>%{{text}}<extra></extra>"}
    if series.ci_lower is not None and series.ci_upper is not None:
        values = np.array(chart.values, dtype=float)
        points["error_y"] = {
            "type": "data", "symmetric": False, "color": "#C8C8C8", "thickness": 1, "width": 0,
            "array": np.nan_to_num(np.array(series.ci_upper, dtype=float) - values).tolist(),
            "arrayminus": np.nan_to_num(values - np.array(series.ci_lower, dtype=float)).tolist()}
    traces = [points]
    if chart.mean is not None and x:
        traces.append(_line(x, [chart.mean] * len(x), "mean", MEAN_LINE))
    if chart.has_limits:
        traces.append(_line(x, [chart.upper_limit] * len(x), "upper process limit", LIMIT_LINE))
        traces.append(_line(x, [chart.lower_limit] * len(x), "lower process limit", LIMIT_LINE))
    if series.reference is not None and any(np.isfinite(v) for v in series.reference):
        traces.append(_line(x, list(series.reference), "England", {"color": "#005EB8", "width": 1.5, "dash": "dot"},
                            hoverinfo="x+y"))
    if (series.reference_low is not None and series.reference_high is not None
            and any(np.isfinite(v) for v in series.reference_low + series.reference_high)):
        traces.append(_line(x, list(series.reference_low), "England range", {"color": "rgba(0,94,184,0)"},
                            showlegend=False))
        traces.append(_line(x, list(series.reference_high), "England range", {"color": "rgba(0,94,184,0)"},
                            fill="tonexty", fillcolor="rgba(0,94,184,0.12)"))
    return traces


def spc_figure(title: str, unit: str, areas: list[AreaSeries]) -> Figure:
    """One XmR chart per area on one figure; a drop-down picks the area (ALL first)."""
    traces: list[dict[str, Any]] = []
    owners: list[int] = []
    for i, series in enumerate(areas):
        for trace in _area_traces(series, unit):
            trace["visible"] = i == 0
            traces.append(trace)
            owners.append(i)
    layout = _layout(f"{title}: {areas[0].label}", yaxis={"title": {"text": UNIT_LABEL.get(unit, unit)}},
                     xaxis={"title": {"text": "month"}}, showlegend=True)
    if len(areas) > 1:
        layout["updatemenus"] = [{
            "type": "dropdown", "x": 1, "xanchor": "right", "y": 1.18, "yanchor": "top",
            "buttons": [{"label": s.label, "method": "update",
                         "args": [{"visible": [o == i for o in owners]}, {"title.text": f"{title}: {s.label}"}]}
                        for i, s in enumerate(areas)]}]
    return {"data": traces, "layout": layout}


def funnel_figure(title: str, unit: str, period_label: str, target: float, councils: pd.DataFrame) -> Figure:
    """Councils' value against their denominator, within 95% and 99.8% limits around ALL.

    councils: columns label, value, denominator (suppressed councils already left out).
    """
    axis = funnel.funnel_axis(float(councils["denominator"].min()), float(councils["denominator"].max()))
    limits = funnel.limits_for(unit, target, axis)
    x = axis.tolist()
    styles = {"95%": {"color": "#768692", "width": 1, "dash": "dash"},
              "99.8%": {"color": "#425563", "width": 1, "dash": "solid"}}
    traces = []
    for level in funnel.LEVELS:
        for side, values in (("upper", limits.upper[level]), ("lower", limits.lower[level])):
            traces.append(_line(x, values.tolist(), f"{level} limits", styles[level], legendgroup=level,
                                showlegend=side == "upper"))
    traces.append(_line([x[0], x[-1]], [target, target], "all councils", MEAN_LINE))
    denominators = councils["denominator"].to_numpy(dtype=float)
    values = councils["value"].to_numpy(dtype=float)
    outer = funnel.limits_for(unit, target, denominators)
    outside = (values > outer.upper["99.8%"]) | (values < outer.lower["99.8%"])
    traces.append({
        "type": "scatter", "mode": "markers+text", "name": "councils", "x": denominators.tolist(),
        "y": values.tolist(), "text": councils["label"].tolist(), "textposition": "top center",
        "marker": {"size": 11, "color": np.where(outside, "#ED8B00", "#005EB8").tolist(),
                   "line": {"color": "white", "width": 1}},
        "hovertemplate": "%{text}: %{y:.1f} (denominator %{x:,.0f})<extra></extra>"})
    layout = _layout(f"{title}: councils, {period_label}",
                     xaxis={"title": {"text": "denominator" + (" (population)" if unit == "per_100k" else "")}},
                     yaxis={"title": {"text": UNIT_LABEL.get(unit, unit)}})
    return {"data": traces, "layout": layout}


def sankey_figure(title: str, sources: list[str], targets: list[str], values: list[float]) -> Figure:
    """A Sankey of flows between labelled states (labels may repeat across steps)."""
    labels = list(dict.fromkeys([*sources, *targets]))
    position = {label: i for i, label in enumerate(labels)}
    sankey = {"type": "sankey", "arrangement": "snap",
              "node": {"label": labels, "pad": 14, "thickness": 14, "color": "#005EB8"},
              "link": {"source": [position[s] for s in sources], "target": [position[t] for t in targets],
                       "value": values, "color": "rgba(65,182,230,0.35)"}}
    return {"data": [sankey], "layout": _layout(title, height=max(420, 28 * len(labels)))}
