"""Normalisation of demographics as DuckDB SQL expressions (one home for each rule).

Why SQL: normalisation runs over every source record inside the warehouse, so it
must be set-based and must not copy identifiable data out of DuckDB.
"""
from __future__ import annotations


def name_sql(column: str) -> str:
    """Upper case, accents stripped, and everything but A-Z removed.

    Removing (rather than spacing) hyphens, apostrophes and blanks makes
    'Smith-Jones', 'smith jones' and 'SMITHJONES' one name, and "O'Brien" = 'OBRIEN'.
    Empty results become NULL so a blank name never counts as agreement.
    """
    return (
        f"nullif(regexp_replace(upper(strip_accents(coalesce({column}, ''))), '[^A-Z]', '', 'g'), '')"
    )


def postcode_sql(column: str) -> str:
    """Upper case, blanks removed, one space before the inward code (last 3 chars).

    Anything that is not 5-7 alphanumerics once squeezed is not a UK postcode and
    becomes NULL (it would only make false agreements on junk like 'UNKNOWN').
    """
    squeezed = f"regexp_replace(upper(coalesce({column}, '')), '[^A-Z0-9]', '', 'g')"
    return (
        f"case when regexp_full_match({squeezed}, '[A-Z][A-Z0-9]{{1,3}}[0-9][A-Z]{{2}}')"
        f" then substr({squeezed}, 1, length({squeezed}) - 3) || ' ' || right({squeezed}, 3)"
        f" end"
    )


def sex_sql(column: str) -> str:
    """M / F / U whatever the source's coding (staging already maps most to M/F/U)."""
    value = f"upper(trim(coalesce(cast({column} as varchar), '')))"
    return (
        f"case when {value} in ('M', 'MALE', '1') then 'M'"
        f" when {value} in ('F', 'FEMALE', '2') then 'F' else 'U' end"
    )
