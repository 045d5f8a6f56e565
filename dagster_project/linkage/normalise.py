"""Normalisation of demographics as DuckDB SQL expressions (one home for each rule).

Why SQL: normalisation runs over every source record inside the warehouse, so it
must be set-based and must not copy identifiable data out of DuckDB.
"""
from __future__ import annotations

from dagster_project import contract
from dagster_project.engine.dialect import DUCKDB, SqlDialect


def name_sql(column: str, dialect: SqlDialect = DUCKDB) -> str:
    """Upper case, accents stripped, and everything but A-Z removed.

    Removing (rather than spacing) hyphens, apostrophes and blanks makes
    'Smith-Jones', 'smith jones' and 'SMITHJONES' one name, and "O'Brien" = 'OBRIEN'.
    Empty results become NULL so a blank name never counts as agreement.
    """
    stripped = f"upper({dialect.strip_accents(f'coalesce({column}, {chr(39)}{chr(39)})')})"
    return f"nullif({dialect.regexp_replace_all(stripped, '[^A-Z]')}, '')"


def sex_sql(column: str, dialect: SqlDialect = DUCKDB) -> str:
    """M / F / U whatever the source's coding, mapped by the seed dbt/seeds/sex_codes.csv
    (case-insensitive, as staging maps it); a value already mapped (M/F/U) stays; else 'U'."""
    value = f"upper(trim(coalesce(cast({column} as {dialect.string_type}), '')))"
    quote_literal = dialect.literal
    rows = contract.seed_rows("sex_codes")
    mapped = sorted({row["sex"].strip().upper() for row in rows})
    whens = "".join(f" when {value} = {quote_literal(row['code'].strip().upper())}"
                    f" then {quote_literal(row['sex'].strip().upper())}" for row in rows)
    return f"case when {value} in ({', '.join(map(quote_literal, mapped))}) then {value}{whens} else 'U' end"
