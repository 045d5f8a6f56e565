"""Disclosure control for the published aggregates (outputs.md, "Disclosure control").

On every row of system_metrics and pathway_transitions: a count of 1-7 is shown as
null with suppressed = true, and so is every value computed from it; other counts
are rounded to the nearest 5; percentages and rates are recomputed from the
rounded counts. Zero is not a small number: it is shown (as 0).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

SMALL_MIN, SMALL_MAX = 1, 7
ROUND_TO = 5
PER_100K = 100_000


def is_small(count: float | None) -> bool:
    """A count that must be suppressed: 1 to 7 (0 and unknown are not)."""
    return count is not None and not _missing(count) and SMALL_MIN <= count <= SMALL_MAX


def round_count(count: float | None) -> float | None:
    """Nearest multiple of 5, halves up (no banker's rounding); unknown stays unknown."""
    if count is None or _missing(count):
        return None
    return float(math.floor(count / ROUND_TO + 0.5) * ROUND_TO)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _unit(metric_id: str) -> str:
    for unit in ("_per_100k", "_pct", "_days"):
        if metric_id.endswith(unit):
            return unit
    raise ValueError(f"system_metrics metric_id {metric_id!r} has no known unit suffix "
                     "(_per_100k, _pct, _days): add its disclosure rule in publish/disclosure.py")


def _control_metric_row(row: pd.Series) -> pd.Series:
    unit = _unit(row["metric_id"])
    numerator, denominator = row["numerator"], row["denominator"]
    out = row.copy()
    # _days metrics: the numerator is total delay days, not people; the count that
    # can identify someone is the denominator (discharges).
    small_numerator = unit != "_days" and is_small(numerator)
    small_denominator = is_small(denominator)
    out["suppressed"] = bool(small_numerator or small_denominator)
    out["denominator"] = None if small_denominator else round_count(denominator)
    confidence_bounds = [c for c in ("ci_lower", "ci_upper") if c in out.index]
    if out["suppressed"]:
        # A numerator is part of its denominator, so with either one small the
        # other bounds it: hide the numerator and the value either way, and the
        # interval, which is computed from the exact counts and would give them away.
        out["numerator"] = None
        out["value"] = None
        out[confidence_bounds] = None
        return out
    for bound in confidence_bounds:  # shown to 0.1, as the value
        out[bound] = None if _missing(row[bound]) else round(float(row[bound]), 1)
    out["numerator"] = round_count(numerator)
    num, den = out["numerator"], out["denominator"]
    if unit == "_days":
        # A mean of days is not a proportion of counts: keep it (to 0.1 day) unless
        # its discharges were suppressed; it cannot reveal a count.
        out["value"] = None if _missing(row["value"]) else round(float(row["value"]), 1)
    elif _missing(row["value"]) or num is None or den is None or den == 0:
        out["value"] = None  # e.g. insufficient follow-up, or nothing to divide by
    else:
        out["value"] = round(num / den * (100 if unit == "_pct" else PER_100K), 1)
    return out


def control_system_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """The published system_metrics: suppressed, rounded, values recomputed."""
    if metrics.empty:
        return metrics.assign(suppressed=pd.Series(dtype=bool))
    controlled = metrics.apply(_control_metric_row, axis=1)
    for column in ("numerator", "denominator", "value", "ci_lower", "ci_upper"):
        if column in controlled.columns:
            controlled[column] = pd.to_numeric(controlled[column], errors="coerce").astype("float64")
    controlled["suppressed"] = controlled["suppressed"].astype(bool)
    return controlled[list(metrics.columns) + [c for c in ("suppressed",) if c not in metrics.columns]]


def control_pathway_transitions(transitions: pd.DataFrame) -> pd.DataFrame:
    """The published pathway_transitions, with a `suppressed` column added.

    n_people and n_transitions are counts; median_days is computed from the
    transitions, so it is hidden whenever either count is.
    """
    out = transitions.copy()
    small_people = out["n_people"].map(is_small)
    small_transitions = out["n_transitions"].map(is_small)
    out["suppressed"] = (small_people | small_transitions).astype(bool)
    out["n_people"] = [None if s else round_count(v) for v, s in zip(out["n_people"], small_people)]
    out["n_transitions"] = [None if s else round_count(v)
                            for v, s in zip(out["n_transitions"], small_transitions)]
    out["median_days"] = np.where(out["suppressed"], np.nan, out["median_days"].astype("float64"))
    for column in ("n_people", "n_transitions"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
    return out


def control_pathway_index_events(pathways: pd.DataFrame) -> pd.DataFrame:
    """The published pathway_index_events: the same rule as pathway_transitions (its
    n_people and n_transitions are counts, median_days is computed from them)."""
    return control_pathway_transitions(pathways)
