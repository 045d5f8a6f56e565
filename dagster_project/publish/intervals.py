"""95% confidence intervals of published rates and percentages, from the rounded counts.

The formulas' one home is dbt (dbt/macros/metrics/confidence_intervals.sql, macro
metric_ci_bound): the warehouse computes each interval there from the exact counts.
The published copy must not carry anything computed from an exact count that
disclosure control rounded away (outputs.md: values are recomputed from the rounded
counts), so publish runs the same macro, rendered for DuckDB, over the rounded counts,
on a cursor of publish's own connection (duckdb_connection.py: the run's memory limit
and spill folder).
"""
from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project.dbt_macros import render_macro


def _nullable(values: np.ndarray) -> pa.Array:
    """A float column whose NaN (an unknown, e.g. a suppressed count) is SQL null, as in the warehouse."""
    floats = np.asarray(values, dtype="float64")
    return pa.array(floats, mask=np.isnan(floats))


def bounds(con: duckdb.DuckDBPyConnection, units: np.ndarray, numerator: np.ndarray,
           denominator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) per row in the row's unit (value_unit: pct or per_100k); NaN where there is
    none (no count, nothing to divide by, or a unit whose interval is not recomputed: days).
    con: a configured connection (its cursor computes; the rows are registered on the cursor only)."""
    rows = pa.table({"value_unit": pa.array(np.asarray(units, dtype=object).astype(str)),
                     "numerator": _nullable(numerator), "denominator": _nullable(denominator)})

    def bound(side: str) -> str:
        # days keep the warehouse's interval (disclosure.py): no sum of squares is needed here
        sql = render_macro("metric_ci_bound", "value_unit", "numerator", "denominator", "null", side)
        return f"case when value_unit in ('pct', 'per_100k') then cast({sql} as double) end"

    with con.cursor() as cursor:
        cursor.register("published_rows", rows)
        lower, upper = cursor.execute(
            f"select {bound('lower')} as lower, {bound('upper')} as upper from published_rows").fetchnumpy().values()
    as_floats = (np.asarray(column.astype("float64").filled(np.nan)) if np.ma.isMaskedArray(column)
                 else np.asarray(column, dtype="float64") for column in (lower, upper))
    return tuple(as_floats)
