"""A small published copy made by hand, shaped as publish writes it, for the report tests.

24 months (April 2023 to March 2025) for ALL and three councils of every metric in
the metric_definitions seed, deterministic; one council's emergency admissions
jump in the last 8 months (a shift MDC must flag); some council months are
suppressed (null value, suppressed = true) as disclosure control leaves them.
`extras=True` adds what later releases publish: confidence intervals, an England
reference column, the data dictionary tables and an index-event pathway mart.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from dagster_project.metric_units import metric_units
from dagster_project.publish import swap
from dagster_project.publish.core import DATABASE_FILE

COUNCILS = {"E06000014": "York", "E08000032": "Bradford", "E08000035": "Leeds"}
MONTHS = pd.date_range("2023-04-01", periods=24, freq="MS")
SHIFTED = ("emergency_admissions_65_per_100k", "E08000035")
SUPPRESSED = ("delayed_discharge_pct", "E06000014", 5)  # metric, council, months suppressed


def _metric_rows(extras: bool) -> pd.DataFrame:
    rng = np.random.default_rng(15)
    rows = []
    for metric_id, unit in metric_units().items():
        for la_code in ("ALL", *COUNCILS):
            size = 4000 if la_code == "ALL" else 1000
            base = {"pct": 60.0, "per_100k": 900.0, "days": 3.0}[unit]
            yearly: dict[int, list[float]] = {}
            for i, month in enumerate(MONTHS):
                denominator = float(size if unit != "per_100k" else size * 40)
                value = base * (1 + rng.normal(0, 0.05))
                if (metric_id, la_code) == SHIFTED and i >= len(MONTHS) - 8:
                    value *= 1.4
                numerator = round(value / 100 * denominator) if unit == "pct" else (
                    round(value / 100_000 * denominator) if unit == "per_100k" else value * denominator)
                suppressed = (metric_id, la_code) == SUPPRESSED[:2] and i < SUPPRESSED[2]
                fy = month.year if month.month >= 4 else month.year - 1
                yearly.setdefault(fy, []).append(value)
                rows.append({"period_type": "month", "period_start": month.date(),
                                 "period_end": (month + pd.offsets.MonthEnd(0)).date(), "la_code": la_code,
                                 "metric_id": metric_id, "numerator": None if suppressed else float(numerator),
                                 "denominator": None if suppressed else denominator,
                                 "value": None if suppressed else round(value, 1), "suppressed": suppressed, "note": None})
            for fy, values in yearly.items():
                denominator = float(size * 12 if unit != "per_100k" else size * 40)
                value = float(np.mean(values)) * (12 if unit == "per_100k" else 1)
                rows.append({"period_type": "financial_year", "period_start": dt.date(fy, 4, 1),
                                 "period_end": dt.date(fy + 1, 3, 31), "la_code": la_code, "metric_id": metric_id,
                                 "numerator": round(value * denominator / (100 if unit == "pct" else 100_000), 0),
                                 "denominator": denominator, "value": round(value, 1), "suppressed": False, "note": None})
    frame = pd.DataFrame(rows)
    if extras:
        frame["ci_lower"] = frame["value"] * 0.9
        frame["ci_upper"] = frame["value"] * 1.1
        frame["small_numbers"] = ((frame["la_code"] == "E06000014") & frame["metric_id"].str.startswith("community")
                                  ).astype("boolean").mask(frame["value"].isna())  # null with a suppressed row
        # as the England reference seed: a value for some metrics, only a range for others
        typical = frame["value"].groupby(frame["metric_id"]).transform("mean").round(1)
        is_rate = frame["metric_id"].str.endswith("_per_100k")
        frame["england_value"] = typical.where(~is_rate)
        frame["england_low"] = (typical * 0.9).where(is_rate)
        frame["england_high"] = (typical * 1.1).where(is_rate)
        frame["england_year"] = "2023/24"
    return frame


PATHWAYS = pd.DataFrame({
    "from_state": ["emergency_admission", "emergency_admission", "reablement", "emergency_admission", "community"],
    "to_state": ["reablement", "care_home", "home", "community", "emergency_admission"],
    "n_people": [120, 35, 90, None, 60], "n_transitions": [130, 35, 95, None, 70],
    "median_days": [2.0, 5.0, 42.0, None, 30.0], "suppressed": [False, False, False, True, False]})
DATA_QUALITY = pd.DataFrame({
    "source": ["hes_apc", "asc_cld"], "table_name": ["hes_apc", "asc_cld"],
    "delivery_date": [dt.date(2025, 3, 31)] * 2, "rows_read": [1000, 400], "rows_loaded": [995, 400],
    "rows_rejected": [5, 0], "nhs_number_completeness": [0.991, 0.87]})
INDEX_PATHWAYS = pd.DataFrame({  # as pathway_index_events: one row per index event, step and transition
    "index_event": ["emergency_admission_65"] * 6, "financial_year_start": [dt.date(2024, 4, 1)] * 6,
    "la_code": ["ALL"] * 6, "age_band": ["all"] * 6, "step": [1, 1, 2, 2, 3, 3],
    "from_state": ["emergency_admission", "emergency_admission", "reablement", "care_home", "home", "died"],
    "to_state": ["reablement", "care_home", "home", "died", "no further event within 91 days", "died"],
    "n_people": [80, 20, 70, None, 60, 5], "n_transitions": [85, 20, 70, None, 60, 5],
    "median_days": [1.0, 3.0, 40.0, None, None, None], "suppressed": [False, False, False, True, False, False]})


def make_published(warehouse_dir: Path, extras: bool = False) -> Path:
    """Write a published version, swap `published` to it, return the version directory."""
    published_dir = warehouse_dir / "published"
    version = swap.new_version_dir(published_dir)
    con = duckdb.connect(str(version / DATABASE_FILE))
    try:
        con.execute("create schema marts")
        tables = {"system_metrics": _metric_rows(extras), "pathway_transitions": PATHWAYS, "data_quality": DATA_QUALITY}
        if extras:
            tables["metric_definitions"] = pd.DataFrame({
                "metric_id": list(metric_units()), "unit": list(metric_units().values()),
                "title": [m.replace("_", " ").capitalize() + " (title)" for m in metric_units()]})
            labels = [("la_code", code, name) for code, name in COUNCILS.items()]
            labels += [(column, "reablement", "Reablement (ST-Max)") for column in ("from_state", "to_state")]
            tables["code_labels"] = pd.DataFrame(labels, columns=["column_name", "code", "label"])
            tables["pathway_index_events"] = INDEX_PATHWAYS
        for name, frame in tables.items():
            con.register("_frame", frame)
            con.execute(f"create table marts.{name} as select * from _frame")
            con.unregister("_frame")
    finally:
        con.close()
    swap.swap_in(published_dir, version)
    return version
