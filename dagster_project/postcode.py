"""Postcode normalisation as DuckDB SQL: the one Python home of the rule.

dbt's `normalise_postcode` macro (dbt/macros/normalise.sql) is the rule staging applies;
`normalise_sql` is the same expression for the places Python must apply it (the identifier
scan of publish); tests/test_postcode_rule.py pins the two equal on awkward postcodes, so
changing one without the other fails. Ingest compares the compact form (`compact_sql`) with
the postcode directory; linkage keeps only UK-shaped postcodes (`linkable_sql`).
"""
from __future__ import annotations

from dagster_project.engine.dialect import DUCKDB, SqlDialect

# Outward code (2-4 characters), then the inward code: a digit and two letters.
UK_SHAPE = "[A-Z][A-Z0-9]{1,3}[0-9][A-Z]{2}"


def compact_sql(column: str) -> str:
    """Upper case with every blank (space, tab, newline) removed; null -> ''."""
    return f"regexp_replace(upper(coalesce({column}, '')), '\\s', '', 'g')"


def normalise_sql(column: str) -> str:
    """The staging rule (dbt macro normalise_postcode): compact, then one space before the
    inward code (last three characters) when at least five remain; blank -> null."""
    compact = compact_sql(column)
    return (f"case when length({compact}) >= 5"
            f" then left({compact}, length({compact}) - 3) || ' ' || right({compact}, 3)"
            f" else nullif({compact}, '') end")


def linkable_sql(column: str, dialect: SqlDialect = DUCKDB) -> str:
    """The postcode linkage compares: normalised with punctuation dropped too, and null unless
    it has a UK postcode's shape (junk like 'UNKNOWN' would only make false agreements)."""
    squeezed = dialect.regexp_replace_all(f"upper(coalesce({column}, ''))", "[^A-Z0-9]")
    return (f"case when {dialect.regexp_full_match(squeezed, UK_SHAPE)}"
            f" then substr({squeezed}, 1, length({squeezed}) - 3) || ' ' || right({squeezed}, 3) end")
