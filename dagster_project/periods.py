"""Reporting periods in Python, for where Python walks periods itself (secondary
suppression's parent periods, the generator's calibration years).

The financial year's first month is dbt var `financial_year_start_month`
(dbt/dbt_project.yml, applied in SQL by macro `financial_year_of`); it is read from there.
"""
from __future__ import annotations

import datetime as dt

from dagster_project.dbt_macros import project_var

# The UK financial year starts on 1 April.
FINANCIAL_YEAR_START_MONTH: int = project_var("financial_year_start_month")


def financial_year_start(day: dt.date) -> dt.date:
    """1 April of the financial year holding `day` (1 April 2024 for 15 March 2025)."""
    return dt.date(day.year - (day.month < FINANCIAL_YEAR_START_MONTH), FINANCIAL_YEAR_START_MONTH, 1)
