"""Disclosure control for the published aggregates (outputs.md, "Disclosure control").

On every row of system_metrics and pathway_transitions: a count of 1-7 is shown as
null with suppressed = true, and so is every value computed from it; other counts
are rounded to the nearest 5; percentages and rates are recomputed from the
rounded counts. Zero is not a small number: it is shown (as 0). Then secondary
suppression (secondary.py) hides complementary cells so that no suppressed count
can be worked out from its totals: months within quarters within financial years,
councils within ALL, and any breakdown declared there.
"""
from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from dagster_project.metric_units import unit_of
from dagster_project.publish import intervals, secondary

# What a reader of the published copy needs to know, added to the dbt descriptions.
PUBLISHED_NOTE = ("Published copy: disclosure-controlled. Counts of 1-7 are suppressed (null, "
                  "suppressed = true) with every value computed from them, and further counts are "
                  "suppressed where a suppressed one could otherwise be worked out from its totals "
                  "(months within quarters within financial years, councils within ALL); other counts "
                  "are rounded to the nearest 5 and rates and percentages recomputed from the rounded counts.")
ADDED_COLUMNS = {
    "suppressed": "True when a count of this row is hidden: a count of 1-7, or a count hidden so that "
                  "a suppressed count cannot be worked out from its totals. Values computed from a "
                  "hidden count are null too.",
}

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


# The columns that identify a row of each table (hierarchy dimensions are added by
# secondary.dimensions_of). A breakdown column without its ColumnTotal line makes
# rows collide, which _dimensions refuses.
SYSTEM_METRICS_KEY = ("period_type", "period_start", "la_code", "metric_id")
PATHWAY_KEY = ("period_type", "period_start", "la_code", "from_state", "to_state")
INDEX_PATHWAY_KEY = ("index_event", "financial_year_start", "step", "from_state", "to_state")
INDEX_PATHWAY_HIERARCHIES: tuple[secondary.Hierarchy, ...] = (
    secondary.ColumnTotal("la_code", "ALL"),
    secondary.ColumnTotal("age_band", "all"),
)


def _dimensions(frame: pd.DataFrame, table: str, base: tuple[str, ...],
                hierarchies: tuple[secondary.Hierarchy, ...]) -> list[str]:
    dimensions = secondary.dimensions_of(frame, base, hierarchies)
    duplicated = frame.duplicated(subset=dimensions)
    if duplicated.any():
        raise ValueError(
            f"{table} has {int(duplicated.sum())} row(s) not unique on {dimensions}: a breakdown column "
            "needs its ColumnTotal(...) line in the hierarchies of publish/disclosure.py")
    return dimensions


def _derived_columns(frame: pd.DataFrame) -> list[str]:
    """Values computed from a row's counts besides `value`: confidence bounds (ci_*)."""
    return [c for c in frame.columns if c.startswith("ci_")]


def _hidden_metric_cells(metrics: pd.DataFrame, hierarchies: tuple[secondary.Hierarchy, ...]
                         ) -> tuple[pd.Series, pd.Series]:
    """(numerator hidden, denominator hidden) per row: primary, then secondary suppression."""
    units = metrics["metric_id"].map(unit_of)
    # days metrics: the numerator is total delay days, not people; the count that
    # can identify someone is the denominator (discharges).
    small_numerator = (units != "days") & metrics["numerator"].map(is_small)
    denominator_hidden = metrics["denominator"].map(is_small).astype(bool)
    dimensions = _dimensions(metrics, "system_metrics", SYSTEM_METRICS_KEY, hierarchies)
    group_list = secondary.groups(metrics, dimensions, hierarchies)
    denominator_hidden = secondary.protect(metrics["denominator"], denominator_hidden, group_list)
    # A numerator is part of its denominator, so with either one hidden the other
    # bounds it: a hidden denominator hides the numerator too.
    numerator_hidden = secondary.protect(metrics["numerator"], small_numerator | denominator_hidden, group_list)
    return numerator_hidden, denominator_hidden


def _rounded(counts: pd.Series) -> np.ndarray:
    """round_count over a column: nearest multiple of 5, halves up; unknown stays NaN."""
    values = pd.to_numeric(counts, errors="coerce").astype("float64").to_numpy()
    return np.floor(values / ROUND_TO + 0.5) * ROUND_TO


def _one_decimal(values: np.ndarray) -> list[float]:
    # Python's round (correctly rounded from the decimal form), as every published value always was
    return [math.nan if math.isnan(v) else round(float(v), 1) for v in values]


def _recompute_intervals(con: duckdb.DuckDBPyConnection, out: pd.DataFrame, units: np.ndarray,
                         numerator: np.ndarray, denominator: np.ndarray, hidden: np.ndarray) -> None:
    """ci_lower/ci_upper of the published rows, in place.

    The warehouse's intervals come from the exact counts; published beside rounded
    counts they would let a reader work the exact counts back out (two bounds to 0.1
    pin down numerator and denominator). So rates and percentages get their interval
    recomputed from the rounded counts, as their value is; a mean of days keeps its
    interval (to 0.1 day), as it keeps its value. Hidden rows and rows without a
    value show none.
    """
    if not {"ci_lower", "ci_upper"} <= set(out.columns):
        for column in _derived_columns(out):
            out[column] = np.where(hidden, np.nan, pd.to_numeric(out[column], errors="coerce").astype("float64"))
        return
    recomputed = dict(zip(("ci_lower", "ci_upper"), intervals.bounds(con, units, numerator, denominator), strict=True))
    exact = {c: pd.to_numeric(out[c], errors="coerce").astype("float64").to_numpy() for c in ("ci_lower", "ci_upper")}
    no_value = pd.to_numeric(out["value"], errors="coerce").isna().to_numpy()
    for column in ("ci_lower", "ci_upper"):
        bound = np.where(np.isin(units, ("pct", "per_100k")), recomputed[column], exact[column])
        out[column] = _one_decimal(np.where(hidden | no_value, np.nan, bound))


def _key_order(frame: pd.DataFrame, dimensions: list[str]) -> np.ndarray:
    """Row positions in the order of the key columns (unique per row, as _dimensions checks).

    Secondary suppression picks its complementary cells in row order, so it runs on the
    rows in key order: the published cells never depend on the order the warehouse
    happened to return them in (the same marts always publish the same cells, night
    after night; cells hidden one night and shown the next would undo the protection).
    """
    keys = frame[dimensions].astype(str)
    return keys.sort_values(dimensions, kind="mergesort").index.to_numpy()


def control_system_metrics(metrics: pd.DataFrame, con: duckdb.DuckDBPyConnection,
                           hierarchies: tuple[secondary.Hierarchy, ...] = secondary.STANDARD_HIERARCHIES
                           ) -> pd.DataFrame:
    """The published system_metrics: suppressed (primary and secondary), rounded, values recomputed.

    Rows come back in the order given; which cells are hidden does not depend on it.
    Column-wise (one pass per column, not per row): a table of tens of thousands of
    rows is controlled in well under a second. con: a configured connection
    (duckdb_connection.py) that recomputes the confidence intervals (intervals.py).
    """
    if metrics.empty:
        return metrics.assign(suppressed=pd.Series(dtype=bool))
    metrics = metrics.reset_index(drop=True)
    order = _key_order(metrics, _dimensions(metrics, "system_metrics", SYSTEM_METRICS_KEY, hierarchies))
    controlled = _control_system_metrics_in_order(con, metrics.iloc[order].reset_index(drop=True), hierarchies)
    return controlled.iloc[np.argsort(order)].reset_index(drop=True)


def _control_system_metrics_in_order(con: duckdb.DuckDBPyConnection, metrics: pd.DataFrame,
                                     hierarchies: tuple[secondary.Hierarchy, ...]
                                     ) -> pd.DataFrame:
    units = metrics["metric_id"].map(unit_of)
    hide_numerator, hide_denominator = (m.to_numpy() for m in _hidden_metric_cells(metrics, hierarchies))
    out = metrics.copy()
    out["suppressed"] = hide_numerator
    out["denominator"] = np.where(hide_denominator, np.nan, _rounded(metrics["denominator"]))
    numerator = np.where(hide_numerator, np.nan, _rounded(metrics["numerator"]))
    denominator = out["denominator"].to_numpy()
    exact_value = pd.to_numeric(metrics["value"], errors="coerce").astype("float64").to_numpy()
    scale = np.where(units == "pct", 100.0, float(PER_100K))
    with np.errstate(divide="ignore", invalid="ignore"):
        recomputed = numerator / denominator * scale
    computable = ~np.isnan(exact_value) & ~np.isnan(recomputed) & (denominator != 0)
    # A mean of days is not a proportion of counts: kept (to 0.1 day) unless its
    # discharges were suppressed; it cannot reveal a count. Rates and percentages
    # are recomputed from the rounded counts; no value where there was none (e.g.
    # insufficient follow-up) or nothing to divide by.
    value = np.where((units == "days").to_numpy(), exact_value, np.where(computable, recomputed, np.nan))
    out["numerator"] = numerator
    out["value"] = _one_decimal(np.where(hide_numerator, np.nan, value))
    _recompute_intervals(con, out, units.to_numpy(), numerator, denominator, hide_numerator)
    for column in ("numerator", "denominator", "value"):
        out[column] = out[column].astype("float64")
    out["suppressed"] = out["suppressed"].astype(bool)
    return out[list(metrics.columns) + [c for c in ("suppressed",) if c not in metrics.columns]]


def control_pathway_transitions(transitions: pd.DataFrame,
                                hierarchies: tuple[secondary.Hierarchy, ...] = secondary.STANDARD_HIERARCHIES,
                                key: tuple[str, ...] = PATHWAY_KEY, table: str = "pathway_transitions",
                                ) -> pd.DataFrame:
    """The published pathway_transitions, with a `suppressed` column added.

    n_people and n_transitions are counts, each suppressed when small and then
    protected over the table's hierarchies; median_days (and any ci_*) is computed
    from the transitions, so it is hidden whenever either count is.
    """
    out = transitions.copy().reset_index(drop=True)
    if out.empty:
        return out.assign(suppressed=pd.Series(dtype=bool))
    dimensions = _dimensions(out, table, key, hierarchies)
    order = _key_order(out, dimensions)  # hidden cells independent of the warehouse's row order
    out = out.iloc[order].reset_index(drop=True)
    group_list = secondary.groups(out, dimensions, hierarchies)
    hidden = {column: secondary.protect(out[column], out[column].map(is_small).astype(bool), group_list)
              for column in ("n_people", "n_transitions")}
    out["suppressed"] = (hidden["n_people"] | hidden["n_transitions"]).astype(bool)
    for column, mask in hidden.items():
        out[column] = pd.to_numeric(pd.Series(
            [None if h else round_count(v) for v, h in zip(out[column], mask, strict=False)], dtype="object"),
            errors="coerce").astype("Int64")
    for column in ["median_days", *_derived_columns(out)]:
        out[column] = np.where(out["suppressed"], np.nan, out[column].astype("float64"))
    return out.iloc[np.argsort(order)].reset_index(drop=True)  # back to the order given


# The breakdown's total rows (age_band 'all', sex 'all') are system_metrics' own rows,
# so both tables are controlled as one: otherwise a count shown in one and hidden as a
# complement in the other could be worked out by differencing across the two.
BREAKDOWN_HIERARCHIES: tuple[secondary.Hierarchy, ...] = secondary.STANDARD_HIERARCHIES + (
    secondary.ColumnTotal("age_band", "all"),
    secondary.ColumnTotal("sex", "all"),
)


def control_system_metrics_with_breakdown(metrics: pd.DataFrame, breakdown: pd.DataFrame,
                                          con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published system_metrics, published system_metrics_by_age_sex), controlled together."""
    totals = metrics.assign(age_band="all", sex="all")
    is_total = (breakdown["age_band"] == "all") & (breakdown["sex"] == "all")
    combined = pd.concat([totals, breakdown.loc[~is_total, list(totals.columns)]], ignore_index=True)
    controlled = control_system_metrics(combined, con, BREAKDOWN_HIERARCHIES)
    # control_system_metrics keeps the rows in order: the first len(metrics) are the totals
    published_metrics = controlled.iloc[: len(metrics)][
        [*metrics.columns, *(["suppressed"] if "suppressed" not in metrics.columns else [])]]
    in_breakdown = controlled["period_type"].isin(set(breakdown["period_type"]))
    suppressed_flag = ["suppressed"] if "suppressed" not in breakdown.columns else []
    published_breakdown = controlled.loc[in_breakdown, [*breakdown.columns, *suppressed_flag]]
    return published_metrics.reset_index(drop=True), published_breakdown.reset_index(drop=True)


def control_pathway_index_events(pathways: pd.DataFrame) -> pd.DataFrame:
    """The published pathway_index_events: the rule of pathway_transitions (n_people and
    n_transitions are counts, median_days is computed from them), protected over councils
    within ALL and age bands within 'all'."""
    return control_pathway_transitions(pathways, INDEX_PATHWAY_HIERARCHIES, INDEX_PATHWAY_KEY,
                                       "pathway_index_events")


# data_quality_opt_out: (count of opted-out people, count of linked people, share in %).
OPT_OUT_SHARES = (("n_opted_out", "n_linked_people", "opted_out_pct"),
                  ("n_opted_out_65", "n_linked_people_65", "opted_out_65_pct"))


def control_opt_out_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """The published data_quality_opt_out: every count of people suppressed (1-7) or
    rounded to 5, and each share recomputed from the rounded counts (hidden with them).

    A hidden count of linked people hides its opted-out count too (the share would
    bound it). No row is a total of others (councils only, no ALL), so no secondary
    suppression is needed.
    """
    out = shares.copy().reset_index(drop=True)
    suppressed = np.zeros(len(out), dtype=bool)
    for part, whole, share in OPT_OUT_SHARES:
        hide_whole = out[whole].map(is_small).to_numpy(dtype=bool)
        hide_part = out[part].map(is_small).to_numpy(dtype=bool) | hide_whole
        rounded_whole = np.where(hide_whole, np.nan, _rounded(out[whole]))
        rounded_part = np.where(hide_part, np.nan, _rounded(out[part]))
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(rounded_whole > 0, rounded_part / rounded_whole * 100, np.nan)
        out[whole], out[part] = rounded_whole, rounded_part
        out[share] = _one_decimal(pct)
        suppressed |= hide_part
    out["suppressed"] = suppressed
    return out
