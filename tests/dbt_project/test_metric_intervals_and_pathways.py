"""The comparable-metrics columns and the index-event pathways on the fixture build:
every interval checked against the formulas written out independently
(interval_formulas.py) and against what publish recomputes with the same macro
(dagster_project/publish/intervals.py), the breakdown against system_metrics, and
Alice's pathway worked out by hand."""
from __future__ import annotations

import duckdb
import interval_formulas
import numpy as np
import pytest
from dbt_fixture_warehouse import LA_LEEDS

from dagster_project.publish import intervals


def wilson(successes: int, trials: int) -> tuple[float, float]:
    lower, upper = interval_formulas.wilson(np.array([successes]), np.array([trials]))
    return float(lower[0]), float(upper[0])


def byar(count: int) -> tuple[float, float]:
    lower, upper = interval_formulas.byar(np.array([count]))
    return float(lower[0]), float(upper[0])


def _rows(build, sql: str) -> list[tuple]:
    con = build.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_interval_matches_its_formula_and_holds_the_value(dbt_build):
    rows = _rows(dbt_build, """
        select m.metric_id, d.value_unit, m.numerator, m.denominator, m.value, m.ci_lower, m.ci_upper
        from marts.system_metrics as m inner join seeds.metric_definitions as d using (metric_id)
        where m.value is not null""")
    checked = {"pct": 0, "per_100k": 0}
    for metric_id, unit, numerator, denominator, value, lower, upper in rows:
        if unit == "pct":
            expected = wilson(numerator, denominator)
        elif unit == "per_100k":
            expected = tuple(b * 100_000 / denominator for b in byar(numerator))
        else:
            continue
        checked[unit] += 1
        assert (lower, upper) == pytest.approx(expected, rel=1e-9, abs=1e-9), (metric_id, numerator, denominator)
        assert lower <= value <= upper
        # publish recomputes intervals from rounded counts with the same macro: on the exact
        # counts it gives the warehouse's
        with duckdb.connect() as con:
            published = intervals.bounds(con, np.array([unit]), np.array([numerator]), np.array([denominator]))
        assert (float(published[0][0]), float(published[1][0])) == pytest.approx((lower, upper), rel=1e-12, abs=1e-12)
    assert checked["pct"] > 0 and checked["per_100k"] > 0, checked


def test_small_numbers_flags_counts_below_twenty(dbt_build):
    rows = _rows(dbt_build, """
        select d.value_unit, m.numerator, m.denominator, m.small_numbers
        from marts.system_metrics as m inner join seeds.metric_definitions as d using (metric_id)""")
    for unit, numerator, denominator, small in rows:
        counts = [denominator] if unit == "days" else [numerator, denominator]
        assert small == any(c is not None and c < 20 for c in counts)
    # four people: every numerator is below 20, so every row is flagged
    assert rows and all(r[3] for r in rows)


def test_england_reference_sits_on_whole_population_rows_and_rates_on_years_only(dbt_build):
    rows = _rows(dbt_build, """
        select period_type, england_low, england_high, england_year
        from marts.system_metrics
        where metric_id = 'emergency_admissions_65_per_100k' and la_code = 'ALL'""")
    assert {(r[1], r[2], r[3]) for r in rows if r[0] == "financial_year"} == {(22000.0, 26000.0, "recent years")}
    assert {r[1] for r in rows if r[0] != "financial_year"} == {None}
    pct = _rows(dbt_build, """select distinct period_type, england_value from marts.system_metrics
                              where metric_id = 'reablement_at_home_91d_pct'""")
    assert {r[1] for r in pct} == {79.0} and len(pct) == 3


def test_breakdown_by_age_and_sex_covers_the_bands(dbt_build):
    rows = _rows(dbt_build, """
        select age_band, sex, numerator from marts.system_metrics_by_age_sex
        where metric_id = 'emergency_admissions_65_per_100k' and la_code = ? and period_type = 'financial_year'
          and period_start = date '2023-04-01'""".replace("?", f"'{LA_LEEDS}'"))
    cells = {(band, sex): n for band, sex, n in rows}
    # Alice (83, F) and Dan (74 at admission on his Leeds record, M) were admitted as emergencies in FY 2023
    assert cells[("all", "all")] == 2
    assert cells[("75-84", "all")] + cells[("65-74", "all")] + cells[("85+", "all")] == 2
    assert cells[("all", "F")] + cells[("all", "M")] == 2
    assert {band for band, _ in cells} == {"all", "65-74", "75-84", "85+"}


def test_alice_pathway_after_her_emergency_admission(dbt_build):
    rows = _rows(dbt_build, f"""
        select step, from_state, to_state, n_people, n_transitions, median_days
        from marts.pathway_index_events
        where index_event = 'discharge_into_reablement_65' and la_code = '{LA_LEEDS}' and age_band = '75-84'
        order by step""")
    # discharged 20 Jan 2024; assessment and request that day, ST-Max from 21 Jan
    assert rows == [(1, "emergency_admission", "sc_assessment", 1, 1, 0.0),
                    (2, "sc_assessment", "sc_request", 1, 1, 0.0),
                    (3, "sc_request", "reablement", 1, 1, 1.0)]
    columns = {r[0] for r in _rows(dbt_build, """select column_name from information_schema.columns
                                                  where table_schema = 'marts' and table_name = 'pathway_index_events'""")}
    assert "person_key" not in columns
