"""Secondary suppression: no suppressed count can be worked out from its totals or other periods/areas.

The attack of issue 11 item 8: a month's suppressed count recovered within +-3 from
its quarter minus the other (rounded) months. The attack below is written against
the published frame only, so it runs the same on any version of publish.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from dagster_project.publish import disclosure
from dagster_project.publish.disclosure import control_pathway_transitions
from dagster_project.publish.secondary import ColumnTotal, PeriodRollup, groups, protect


def control_system_metrics(metrics: pd.DataFrame, **options) -> pd.DataFrame:
    """disclosure.control_system_metrics with its intervals computed on an in-memory DuckDB."""
    with duckdb.connect() as con:
        return disclosure.control_system_metrics(metrics, con, **options)


METRIC = "delayed_discharge_pct"


def _row(period_type: str, start: str, numerator, denominator=200, la_code="ALL", metric_id=METRIC, **extra):
    return {"period_type": period_type, "period_start": dt.date.fromisoformat(start), "period_end": None,
            "la_code": la_code, "metric_id": metric_id, "numerator": numerator, "denominator": denominator,
            "value": None if numerator is None else numerator / denominator * 100, "suppressed": False,
            "note": None, **extra}


def _quarter(months: tuple[int, int, int], la_code="ALL", start="2024-04-01") -> list[dict]:
    first = dt.date.fromisoformat(start)
    rows = [_row("quarter", start, sum(months), 600, la_code)]
    for i, n in enumerate(months):
        rows.append(_row("month", dt.date(first.year, first.month + i, 1).isoformat(), n, 200, la_code))
    return rows


def _recovered(truth: list[dict], published: pd.DataFrame, tolerance: int = 3) -> list[tuple]:
    """Months whose suppressed numerator = quarter - other months lands within tolerance of the truth."""
    exact = {(r["period_type"], r["period_start"], r["la_code"]): r["numerator"] for r in truth}
    shown = {(r["period_type"], pd.Timestamp(r["period_start"]).date(), r["la_code"]): r["numerator"]
             for r in published.to_dict("records")}
    found = []
    for (ptype, start, la), numerator in shown.items():
        if ptype != "quarter" or pd.isna(numerator):
            continue
        months = [(("month", dt.date(start.year, start.month + i, 1), la)) for i in range(3)]
        hidden = [m for m in months if pd.isna(shown[m])]
        if len(hidden) == 1:
            estimate = numerator - sum(shown[m] for m in months if m not in hidden)
            if abs(estimate - exact[hidden[0]]) <= tolerance:
                found.append((hidden[0], exact[hidden[0]], estimate))
    return found


def test_a_suppressed_month_cannot_be_recovered_from_its_quarter():
    truth = _quarter((3, 40, 52))
    published = control_system_metrics(pd.DataFrame(truth))
    assert _recovered(truth, published) == []
    months = published[published["period_type"] == "month"]
    assert months["suppressed"].sum() >= 2  # the small month and a complement
    assert published.loc[published["period_type"] == "quarter", "numerator"].item() == 95


def test_complements_cascade_over_months_quarters_years_and_councils():
    rows = []
    for la, months in (("E1", (3, 40, 52)), ("E2", (20, 30, 40)), ("ALL", (23, 70, 92))):
        q1 = _quarter(months, la)
        rows += q1 + _quarter((50, 50, 50), la, "2024-07-01") + _quarter((50, 50, 50), la, "2024-10-01") \
            + _quarter((50, 50, 50), la, "2025-01-01")
        rows.append(_row("financial_year", "2024-04-01", sum(months) + 450, 2400, la))
    frame = pd.DataFrame(rows)
    published = control_system_metrics(frame)
    hidden = published["numerator"].isna()
    hierarchies = (PeriodRollup("month", "quarter"), PeriodRollup("quarter", "financial_year"),
                   ColumnTotal("la_code", "ALL"))
    for parent, children in groups(frame, ["period_type", "period_start", "la_code", "metric_id"], hierarchies):
        assert sum(hidden[m] for m in [parent, *children]) != 1, (frame.iloc[parent].to_dict(), children)
    # E1's small April hides E2's April too (councils within ALL): E2 had 20, not small
    e2_april = published[(published["la_code"] == "E2") & (published["period_type"] == "month")
                         & (published["period_start"].astype(str) == "2024-04-01")]
    assert e2_april["suppressed"].item()


def test_one_suppressed_child_takes_the_smallest_nonzero_visible_sibling():
    hidden = protect(pd.Series([100, 3, 0, 40, 57]), pd.Series([False, True, False, False, False]),
                     [(0, [1, 2, 3, 4])])
    assert list(hidden) == [False, True, False, True, False]


def test_a_zero_is_the_complement_only_when_no_sibling_has_a_count():
    hidden = protect(pd.Series([3, 3, 0, 0]), pd.Series([True, True, False, False]), [(0, [1, 2, 3])])
    assert list(hidden) == [True, True, False, False]  # parent and child hidden: two unknowns
    hidden = protect(pd.Series([5, 3, 0, 2]), pd.Series([False, True, False, True]), [(0, [1, 2, 3])])
    assert list(hidden) == [False, True, False, True]


def test_all_children_suppressed_leaves_the_total_shown():
    published = control_system_metrics(pd.DataFrame(_quarter((3, 4, 5))))
    quarter = published[published["period_type"] == "quarter"].iloc[0]
    assert not quarter["suppressed"] and quarter["numerator"] == 10
    assert published[published["period_type"] == "month"]["suppressed"].all()


def test_zero_counts_are_shown_and_never_hidden_for_nothing():
    published = control_system_metrics(pd.DataFrame(_quarter((0, 0, 0))))
    assert not published["suppressed"].any() and (published["numerator"] == 0).all()


def test_a_hidden_total_with_every_part_shown_hides_a_part():
    hidden = protect(pd.Series([20, 10, 10]), pd.Series([True, False, False]), [(0, [1, 2])])
    assert list(hidden) == [True, True, False]


def test_a_small_denominator_is_protected_and_takes_its_numerator_with_it():
    rows = [_row("quarter", "2024-04-01", 0, 30), _row("month", "2024-04-01", 0, 5),
            _row("month", "2024-05-01", 0, 12), _row("month", "2024-06-01", 0, 13)]
    published = control_system_metrics(pd.DataFrame(rows))
    months = published[published["period_type"] == "month"]
    assert months["denominator"].isna().sum() == 2 and months["suppressed"].sum() == 2
    assert months.loc[months["denominator"].isna(), "numerator"].isna().all()


def test_every_ci_column_of_a_suppressed_row_is_null():
    rows = [r | {"ci_lower": 1.0, "ci_upper": 9.0} for r in _quarter((3, 40, 52))]
    published = control_system_metrics(pd.DataFrame(rows))
    hidden = published[published["suppressed"]]
    assert len(hidden) == 2 and hidden[["ci_lower", "ci_upper", "value"]].isna().all().all()
    shown = published[~published["suppressed"]]
    # shown rows: recomputed from their rounded counts (disclosure.py), bracketing the value
    assert not shown["ci_lower"].eq(1.0).any()
    assert ((shown["ci_lower"] <= shown["value"]) & (shown["value"] <= shown["ci_upper"])).all()


def test_a_breakdown_column_is_one_line_and_an_undeclared_one_is_refused():
    rows = [_row("financial_year", "2024-04-01", n, 500, age_band=band)
            for band, n in (("all", 60), ("65-74", 3), ("75-84", 27), ("85+", 30))]
    with pytest.raises(ValueError, match="ColumnTotal"):
        control_system_metrics(pd.DataFrame(rows + [_row("financial_year", "2024-04-01", 9, 500, age_band="x")]
                                            ).assign(age_band=None))
    published = control_system_metrics(pd.DataFrame(rows), hierarchies=(ColumnTotal("age_band", "all"),))
    assert list(published["suppressed"]) == [False, True, True, False]


def test_pathway_rows_within_all_councils_are_protected():
    frame = pd.DataFrame({
        "la_code": ["ALL", "E1", "E2"], "from_state": ["a"] * 3, "to_state": ["b"] * 3,
        "n_people": [40, 5, 35], "n_transitions": [40, 5, 35], "median_days": [3.0, 2.0, 4.0]})
    published = control_pathway_transitions(frame)
    assert list(published["suppressed"]) == [False, True, True]
    assert published["median_days"].isna().tolist() == [False, True, True]


def test_the_hidden_cells_do_not_depend_on_the_order_rows_arrive_in():
    """The warehouse returns mart rows in no set order: the same marts must publish the
    same cells every night (a complement hidden one night and shown the next gives the
    suppressed count away across the two nights)."""
    # ties everywhere: two councils and ALL, equal months, so complements could go either way
    rows = (_quarter((3, 40, 40), "E1") + _quarter((40, 3, 40), "E2")
            + _quarter((43, 43, 80), "ALL"))
    frame = pd.DataFrame(rows)
    key = ["period_type", "period_start", "la_code", "metric_id"]
    published = [control_system_metrics(f).sort_values(key).reset_index(drop=True)
                 for f in (frame, frame.iloc[::-1], frame.sample(frac=1, random_state=7))]
    for other in published[1:]:
        pd.testing.assert_frame_equal(published[0], other)
    assert published[0]["suppressed"].sum() >= 4  # two small months and their complements
    # and rows come back in the order they were given
    assert list(control_system_metrics(frame.iloc[::-1])["la_code"]) == list(frame.iloc[::-1]["la_code"])
