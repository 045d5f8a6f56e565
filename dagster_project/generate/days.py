"""Day numbers: the generator keeps every date as an int32 count of days since 1970-01-01."""
from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)
NEVER = np.int32(2_000_000)   # "no such event" (far beyond any window), sorts last
YEAR = 365.25


def to_day(value: dt.date) -> int:
    return (value - EPOCH).days


def quarter_ends(start: dt.date, end: dt.date, months: int) -> list[dt.date]:
    """Delivery (extract) dates: the last day of every `months`-month period from start, up to end."""
    out: list[dt.date] = []
    year, month = start.year, start.month
    while True:
        month += months
        while month > 12:
            month -= 12
            year += 1
        last = dt.date(year, month, 1) - dt.timedelta(days=1)
        if last > end:
            break
        out.append(last)
    if not out or out[-1] != end:
        out.append(end)
    return out
