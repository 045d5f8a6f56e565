"""Python's financial year is dbt's: one var (financial_year_start_month), applied by the
macro in SQL and by dagster_project/periods.py in Python."""
from __future__ import annotations

import datetime as dt

import duckdb
import yaml

from dagster_project import periods
from dagster_project.dbt_macros import render_macro
from dagster_project.settings import DBT_PROJECT_DIR


def test_python_and_the_dbt_macro_give_the_same_financial_year_start_every_day():
    days = [dt.date(2023, 1, 1) + dt.timedelta(days=i) for i in range(800)]
    macro = render_macro("financial_year_start", "d")
    got = dict(duckdb.sql(f"select d, {macro} from unnest(?::date[]) t(d)", params=[days]).fetchall())
    assert {d: periods.financial_year_start(d) for d in days} == got
    assert periods.financial_year_start(dt.date(2025, 3, 31)) == dt.date(2024, 4, 1)
    assert periods.financial_year_start(dt.date(2025, 4, 1)) == dt.date(2025, 4, 1)


def test_the_start_month_is_read_from_dbt_project_vars():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert periods.FINANCIAL_YEAR_START_MONTH == project["vars"]["financial_year_start_month"] == 4
