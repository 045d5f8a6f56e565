"""A metric's unit (per_100k, pct or days), read from its one home: the dbt seed
dbt/seeds/metric_definitions.csv, column value_unit.

Disclosure control (which count can identify someone, how a value is rescaled) and the
report use it; nothing works a unit out from the metric id's spelling.
"""
from __future__ import annotations

import functools

from dagster_project import contract

UNITS = ("per_100k", "pct", "days")
SEED = "metric_definitions"


@functools.cache
def metric_units() -> dict[str, str]:
    """{metric_id: value_unit} of every metric the seed defines."""
    units = {row["metric_id"].strip(): row["value_unit"].strip() for row in contract.seed_rows(SEED)}
    unknown = sorted({u for u in units.values() if u not in UNITS})
    if unknown:
        raise ValueError(f"dbt/seeds/{SEED}.csv: value_unit {unknown} is not one of {UNITS}: "
                         "add its disclosure rule in publish/disclosure.py first")
    return units


def unit_of(metric_id: str) -> str:
    """The value_unit of one metric; a clear error for a metric the seed does not define."""
    try:
        return metric_units()[metric_id]
    except KeyError:
        raise ValueError(f"system_metrics metric_id {metric_id!r} is not in dbt/seeds/{SEED}.csv: "
                         "add its row (with value_unit) to the seed") from None
