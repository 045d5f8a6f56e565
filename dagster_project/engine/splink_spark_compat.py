"""Splink 5's Spark backend with the compiled sqlglot this project installs (sqlglot[c]).

Splink's SparkAPI writes its SQL through its own sqlglot dialect `customspark`, whose
Generator subclasses sqlglot's Spark generator in plain Python. With sqlglotc installed
that generator is a compiled (mypyc) class, and instantiating the Python subclass fails:
"TypeError: interpreted classes cannot inherit from compiled" - on the first query.
The subclass only adds one rewrite (a double literal written as 0.5D instead of
CAST(0.5 AS DOUBLE), the same value in Spark), so the stock Spark generator serves.
Applied only when the failure is there, so a fixed Splink or sqlglot is left alone;
the two-engine test (tests/spark/) proves the scores equal DuckDB's with it.
"""
from __future__ import annotations

import sqlglot


def use_stock_spark_generator_if_needed() -> bool:
    """Make `customspark` generate with sqlglot's Spark generator if its own cannot run;
    True when that was needed."""
    from splink.internals.spark.spark_helpers.custom_spark_dialect import CustomSpark
    from sqlglot.dialects import Spark

    try:
        sqlglot.transpile("select 1", read="spark", write="customspark")
        return False
    except TypeError:
        CustomSpark.generator_class = Spark.generator_class
        sqlglot.transpile("select 1", read="spark", write="customspark")  # fails loudly if still broken
        return True
