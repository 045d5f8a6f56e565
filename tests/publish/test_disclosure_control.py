"""Disclosure control at its edges: 0 shown, 1-7 suppressed, 8+ rounded to 5, values recomputed."""
from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from dagster_project.publish import disclosure
from dagster_project.publish.disclosure import (
    control_opt_out_shares,
    control_pathway_index_events,
    control_pathway_transitions,
    is_small,
    round_count,
)


def control_system_metrics(metrics: pd.DataFrame, **options) -> pd.DataFrame:
    """disclosure.control_system_metrics with its intervals computed on an in-memory DuckDB."""
    with duckdb.connect() as con:
        return disclosure.control_system_metrics(metrics, con, **options)


@pytest.mark.parametrize("count, small, rounded", [
    (0, False, 0), (1, True, 0), (7, True, 5), (8, False, 10), (12, False, 10),
    (13, False, 15), (15, False, 15), (17, False, 15), (18, False, 20), (1002, False, 1000),
])
def test_small_counts_and_rounding_to_nearest_five(count, small, rounded):
    assert is_small(count) is small
    assert round_count(count) == rounded


def test_unknown_counts_stay_unknown():
    assert not is_small(None) and round_count(None) is None
    assert not is_small(float("nan")) and round_count(float("nan")) is None


def _metric(metric_id, numerator, denominator, value):
    return {"period_type": "month", "period_start": "2024-01-01", "period_end": "2024-01-31",
            "la_code": "ALL", "metric_id": metric_id, "numerator": numerator,
            "denominator": denominator, "value": value, "suppressed": False, "note": None}


def _controlled(*rows) -> list[dict]:
    return control_system_metrics(pd.DataFrame(list(rows))).to_dict("records")


def _null(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@pytest.mark.parametrize("numerator", [1, 7])
def test_a_small_numerator_hides_it_and_its_value(numerator):
    row, = _controlled(_metric("delayed_discharge_pct", numerator, 40, numerator / 40 * 100))
    assert row["suppressed"] is True
    assert _null(row["numerator"]) and _null(row["value"])
    assert row["denominator"] == 40


def test_zero_is_shown_not_suppressed():
    row, = _controlled(_metric("delayed_discharge_pct", 0, 40, 0.0))
    assert row["suppressed"] is False and row["numerator"] == 0 and row["value"] == 0


def test_eight_is_shown_rounded_and_the_percentage_recomputed_from_rounded_counts():
    row, = _controlled(_metric("delayed_discharge_pct", 8, 33, 8 / 33 * 100))
    assert row["suppressed"] is False
    assert (row["numerator"], row["denominator"]) == (10, 35)
    assert row["value"] == pytest.approx(round(10 / 35 * 100, 1))


@pytest.mark.parametrize("denominator", [1, 7])
def test_a_small_denominator_hides_the_whole_row(denominator):
    row, = _controlled(_metric("discharged_usual_residence_pct", 0, denominator, 0.0))
    assert row["suppressed"] is True
    assert _null(row["numerator"]) and _null(row["denominator"]) and _null(row["value"])


def test_rates_are_recomputed_per_100k_from_rounded_counts():
    row, = _controlled(_metric("emergency_admissions_65_per_100k", 123, 45678, 123 / 45678 * 1e5))
    assert (row["numerator"], row["denominator"]) == (125, 45680)
    assert row["value"] == pytest.approx(round(125 / 45680 * 1e5, 1))


def test_mean_days_is_suppressed_by_its_discharges_not_by_its_total_days():
    shown, hidden = _controlled(_metric("discharge_delay_mean_days", 3, 9, 0.33),
                                _metric("discharge_delay_mean_days", 300, 7, 42.86) | {"period_start": "2024-02-01"})
    assert shown["suppressed"] is False and shown["denominator"] == 10 and shown["value"] == 0.3
    assert hidden["suppressed"] is True and _null(hidden["value"]) and _null(hidden["denominator"])


def test_insufficient_follow_up_rows_stay_null_and_unsuppressed():
    row, = _controlled(_metric("ascof_2d_outcome_84d_pct", None, None, None) | {"note": "insufficient follow-up"})
    assert row["suppressed"] is False and _null(row["value"]) and row["note"] == "insufficient follow-up"


def test_an_unknown_metric_unit_is_refused():
    with pytest.raises(ValueError, match="odd_metric"):
        _controlled(_metric("odd_metric", 10, 20, 50))


def test_pathway_counts_are_suppressed_or_rounded_and_medians_hidden_with_them():
    out = control_pathway_transitions(pd.DataFrame({
        "from_state": ["a", "b", "c", "d"], "to_state": ["x", "y", "z", "w"],
        "n_people": [0, 1, 7, 8], "n_transitions": [0, 12, 7, 13], "median_days": [None, 4.0, 3.0, 6.0]}))
    rows = out.to_dict("records")
    assert [r["suppressed"] for r in rows] == [False, True, True, False]
    assert rows[0]["n_people"] == 0
    assert pd.isna(rows[1]["n_people"]) and rows[1]["n_transitions"] == 10 and pd.isna(rows[1]["median_days"])
    assert pd.isna(rows[2]["n_people"]) and pd.isna(rows[2]["n_transitions"])
    assert (rows[3]["n_people"], rows[3]["n_transitions"], rows[3]["median_days"]) == (10, 15, 6.0)


def test_confidence_intervals_are_hidden_with_their_row_and_recomputed_from_rounded_counts():
    # The warehouse's interval comes from the exact counts: left on a suppressed row it
    # would give the hidden count away (Wilson's bounds of 3 of 40 pin 3), and beside
    # rounded counts it would give the exact ones back. So it is hidden with its row,
    # and recomputed from the rounded counts (31/41 -> 30/40) on a shown one.
    suppressed = {**_metric("delayed_discharge_pct", 3, 40, 7.5), "ci_lower": 2.58, "ci_upper": 19.86,
                  "small_numbers": True}
    shown = {**_metric("delayed_discharge_pct", 31, 41, 75.6), "period_start": "2024-02-01",
             "period_end": "2024-02-29", "ci_lower": 60.8, "ci_upper": 86.3, "small_numbers": False}
    days = {**_metric("discharge_delay_mean_days", 50, 20, 2.5), "ci_lower": 1.234, "ci_upper": 3.77}
    rate = {**_metric("emergency_admissions_65_per_100k", 0, 2000, 0.0), "ci_lower": 0.0, "ci_upper": 184.4}
    hidden, kept, mean, zero = _controlled(suppressed, shown, days, rate)
    assert hidden["suppressed"] is True and _null(hidden["ci_lower"]) and _null(hidden["ci_upper"])
    assert hidden["small_numbers"] is True
    assert kept["suppressed"] is False and (kept["numerator"], kept["denominator"]) == (30, 40)
    assert (kept["ci_lower"], kept["ci_upper"]) == (59.8, 85.8)  # Wilson of 30/40, to 0.1
    assert (mean["ci_lower"], mean["ci_upper"]) == (1.2, 3.8)  # a mean of days keeps its interval
    assert (zero["ci_lower"], zero["ci_upper"]) == (0.0, 183.4)  # Byar: 0 of 2,000 -> upper 3.668 per 2,000


def test_index_event_pathways_are_controlled_as_transitions():
    frame = pd.DataFrame({
        "index_event": ["emergency_admission_65"] * 5, "financial_year_start": ["2023-04-01"] * 5,
        "la_code": ["E1", "E1", "E1", "E2", "ALL"], "age_band": ["85+", "75-84", "all", "all", "all"],
        "step": [1] * 5, "from_state": ["emergency_admission"] * 5, "to_state": ["died"] * 5,
        "n_people": [3, 9, 12, 20, 32], "n_transitions": [3, 9, 12, 20, 32],
        "median_days": [2.0, 3.0, 4.0, 5.0, 4.5]})
    rows = control_pathway_index_events(frame).to_dict("records")
    # E1's 85+ band is small; its 75-84 band would give it away (12 - 9), so it is
    # hidden as its complement; the all-ages rows and ALL stay.
    assert [r["suppressed"] for r in rows] == [True, True, False, False, False]
    assert pd.isna(rows[0]["n_people"]) and pd.isna(rows[0]["median_days"]) and pd.isna(rows[1]["n_people"])
    assert (rows[2]["n_people"], rows[4]["n_transitions"]) == (10, 30)
    assert rows[4]["age_band"] == "all" and rows[4]["step"] == 1


def test_opt_out_shares_are_recomputed_from_rounded_counts_and_hidden_with_small_ones():
    frame = pd.DataFrame({
        "la_code": ["E1", "E2"], "financial_year_start": ["2023-04-01"] * 2,
        "n_linked_people": [1203, 6], "n_opted_out": [61, 0], "opted_out_pct": [5.07, 0.0],
        "n_linked_people_65": [402, 6], "n_opted_out_65": [5, 0], "opted_out_65_pct": [1.24, 0.0]})
    big, tiny = control_opt_out_shares(frame).to_dict("records")
    assert (big["n_linked_people"], big["n_opted_out"], big["opted_out_pct"]) == (1205, 60, 5.0)
    # 5 opted-out people 65+ is a small count: hidden, and its share with it
    assert _null(big["n_opted_out_65"]) and _null(big["opted_out_65_pct"]) and big["n_linked_people_65"] == 400
    assert big["suppressed"] and tiny["suppressed"]
    # a council of 6 linked people: the whole hides the part (0 of 6 would still tell)
    assert _null(tiny["n_linked_people"]) and _null(tiny["n_opted_out"]) and _null(tiny["opted_out_pct"])
