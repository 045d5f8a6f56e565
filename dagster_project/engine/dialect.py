"""The SQL that differs between the engines, one function each (DuckDB and Spark SQL).

Python writes SQL for linkage (splink_input.py, the Splink runner and comparisons). The
rules Python shares with dbt are rendered from the dbt macros (dbt_macros.py). The linkage input and the rules it shares
with the Splink comparisons are dbt's (dbt/macros/portable/ spells their differences).
Where DuckDB and Spark spell a thing differently, the SQL asks its dialect here
instead of writing either spelling, so each difference lives in one place. The DuckDB
spellings are exactly what those modules wrote before there were two engines.

Why these differences are dangerous, not just inconvenient: Spark reads "name" as a
string literal, '\\s' in a literal as 's', and a DuckDB-only regexp flag as a bad
argument - each gives NULLs or wrong rows without an error (issue 17).
"""
from __future__ import annotations

from dataclasses import dataclass

from dagster_project.settings import ENGINE_DUCKDB, ENGINE_SPARK


@dataclass(frozen=True)
class SqlDialect:
    name: str

    @property
    def is_spark(self) -> bool:
        return self.name == ENGINE_SPARK

    # ---- names and literals
    def ident(self, name: str) -> str:
        """A quoted column name (DuckDB "x", Spark `x`)."""
        if self.is_spark:
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        """A string literal. Spark unescapes backslashes inside literals ('\\s' is 's'), DuckDB does not."""
        text = value.replace("\\", "\\\\") if self.is_spark else value
        return "'" + text.replace("'", "''") + "'"

    # ---- text
    def regexp_replace_all(self, expr: str, pattern: str, replacement: str = "") -> str:
        if self.is_spark:  # Spark replaces every match; it has no flags argument
            return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)})"
        return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)}, 'g')"

    def date_text(self, expr: str) -> str:
        """A date as YYYY-MM-DD text."""
        if self.is_spark:
            return f"date_format({expr}, 'yyyy-MM-dd')"
        return f"strftime({expr}, '%Y-%m-%d')"

    def jaro_winkler(self, left: str, right: str) -> str:
        """Jaro-Winkler similarity (Spark: the UDF from Splink's jar, engine/spark_session.py)."""
        if self.is_spark:
            return f"jaro_winkler({left}, {right})"
        return f"jaro_winkler_similarity({left}, {right})"


DUCKDB = SqlDialect(ENGINE_DUCKDB)
SPARK = SqlDialect(ENGINE_SPARK)


def for_engine(engine: str) -> SqlDialect:
    return {ENGINE_DUCKDB: DUCKDB, ENGINE_SPARK: SPARK}[engine]
