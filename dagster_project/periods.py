"""Reporting periods in Python: the one home of the financial year's start.

dbt computes periods in SQL (its macro); Python needs the same rule where it walks
periods itself (secondary suppression's parent periods, the generator's calibration years).
"""
from __future__ import annotations

import datetime as dt

# The UK financial year starts on 1 April.
FINANCIAL_YEAR_START_MONTH = 4


def financial_year_start(day: dt.date) -> dt.date:
    """1 April of the financial year holding `day` (1 April 2024 for 15 March 2025)."""
    return dt.date(day.year - (day.month < FINANCIAL_YEAR_START_MONTH), FINANCIAL_YEAR_START_MONTH, 1)
