"""The SQL that differs between the engines, one function each (DuckDB and Spark SQL).

Python writes SQL for linkage (source_person.py, nhs_trust.py, splink_input.py, the
Splink comparisons) and for the rules shared with ingest (nhs_number.py, postcode.py).
Where DuckDB and Spark spell a thing differently, the SQL asks its dialect here
instead of writing either spelling, so each difference lives in one place. The DuckDB
spellings are exactly what those modules wrote before there were two engines.

Why these differences are dangerous, not just inconvenient: Spark reads "name" as a
string literal, '\\s' in a literal as 's', and a DuckDB-only regexp flag as a bad
argument - each gives NULLs or wrong rows without an error (issue 17).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

from dagster_project.settings import ENGINE_DUCKDB, ENGINE_SPARK


@cache
def _accent_map() -> tuple[str, str]:
    """(accented letters, their base letters) for Latin-1 and Latin Extended-A/B: what
    DuckDB's strip_accents does to the letters names are written in (Spark has no such function)."""
    accented, plain = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            accented.append(char)
            plain.append(base)
    return "".join(accented), "".join(plain)


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

    @property
    def string_type(self) -> str:
        return "string" if self.is_spark else "varchar"

    # ---- text
    def regexp_replace_all(self, expr: str, pattern: str, replacement: str = "") -> str:
        if self.is_spark:  # Spark replaces every match; it has no flags argument
            return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)})"
        return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)}, 'g')"

    def regexp_full_match(self, expr: str, pattern: str) -> str:
        if self.is_spark:
            return f"({expr} rlike {self.literal('^(?:' + pattern + ')$')})"
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def strip_accents(self, expr: str) -> str:
        if self.is_spark:
            accented, plain = _accent_map()
            return f"translate({expr}, {self.literal(accented)}, {self.literal(plain)})"
        return f"strip_accents({expr})"

    def starts_with(self, expr: str, prefix: str) -> str:
        if self.is_spark:
            return f"startswith({expr}, {self.literal(prefix)})"
        return f"starts_with({expr}, {self.literal(prefix)})"

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

    # ---- aggregates and lists
    def arg_max(self, value: str, order: str) -> str:
        return f"max_by({value}, {order})" if self.is_spark else f"arg_max({value}, {order})"

    def ordered_list(self, value: str, order: str) -> str:
        """The values of a group as a list in `order` (an aggregate)."""
        if self.is_spark:  # collect_list keeps no order: sort (order, value) pairs, keep the values
            return (f"transform(array_sort(collect_list(named_struct('o', {order}, 'v', {value}))),"
                    " x -> x.v)")
        return f"list({value} order by {order})"

    def empty_string_list(self) -> str:
        return "cast(array() as array<string>)" if self.is_spark else "[]::varchar[]"

    def lists_overlap(self, left: str, right: str) -> str:
        """The two lists share an element."""
        if self.is_spark:
            return f"(size(array_intersect({left}, {right})) > 0)"
        return f"(len(list_intersect({left}, {right})) > 0)"

    def ordered_string_agg(self, value: str, order: str, separator: str) -> str:
        """The group's values joined by `separator`, in `order` (an aggregate)."""
        if self.is_spark:
            return f"array_join({self.ordered_list(value, order)}, {self.literal(separator)})"
        return f"string_agg({value}, {self.literal(separator)} order by {order})"

    # ---- hashing
    def sha256_hex(self, binary: str) -> str:
        return f"sha2({binary}, 256)" if self.is_spark else f"sha256({binary})"

    def concat_binary(self, left: str, right: str) -> str:
        return f"concat({left}, {right})" if self.is_spark else f"{left} || {right}"

    def utf8(self, expr: str) -> str:
        """Text as its UTF-8 bytes."""
        return f"encode({expr}, 'UTF-8')" if self.is_spark else f"encode({expr})"


DUCKDB = SqlDialect(ENGINE_DUCKDB)
SPARK = SqlDialect(ENGINE_SPARK)


def for_engine(engine: str) -> SqlDialect:
    return {ENGINE_DUCKDB: DUCKDB, ENGINE_SPARK: SPARK}[engine]
