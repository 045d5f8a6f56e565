"""Postcode normalisation as DuckDB SQL: the one Python home of the rule.

dbt's `normalise_postcode` macro (dbt/macros/normalise.sql) is the rule staging applies;
`normalise_sql` is the same expression for the places Python must apply it (the identifier
scan of publish); tests/test_postcode_rule.py pins the two equal on awkward postcodes, so
changing one without the other fails. Ingest compares the compact form (`compact_sql`) with
the postcode directory. Linkage's UK-shaped postcode is dbt macro `linkable_postcode`
(dbt/macros/linkage_rules.sql).
"""
from __future__ import annotations


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

