"""Shared SQL predicates about pairs of identities (`l` and `r` aliases).

Used both by the NHS-number trust check and by the Splink comparisons, so "a
date of birth close enough to be a typo" means the same thing everywhere.
"""
from __future__ import annotations

from dagster_project.engine.dialect import DUCKDB, SqlDialect


def dob_swapped(l: str = "l", r: str = "r") -> str:
    """Day and month swapped (12/03 vs 03/12), same year."""
    return (
        f"({l}.dob_year = {r}.dob_year and {l}.dob_month = {r}.dob_day"
        f" and {l}.dob_day = {r}.dob_month and {l}.dob_day <> {l}.dob_month)"
    )


def dob_year_slip(l: str = "l", r: str = "r", dialect: SqlDialect = DUCKDB) -> str:
    """Same day and month, year off by one or with two digits transposed (1942/1924)."""
    return (
        f"({l}.dob_month = {r}.dob_month and {l}.dob_day = {r}.dob_day and"
        f" (abs({l}.dob_year - {r}.dob_year) = 1"
        f" or reverse(right(cast({l}.dob_year as {dialect.string_type}), 2))"
        f" = right(cast({r}.dob_year as {dialect.string_type}), 2)))"
    )


def dob_one_typo(l: str = "l", r: str = "r") -> str:
    """One character of YYYY-MM-DD differs (a keying slip in the day or month)."""
    return f"(levenshtein({l}.dob, {r}.dob) = 1)"


def dob_close(l: str = "l", r: str = "r", dialect: SqlDialect = DUCKDB) -> str:
    """Equal, or a plausible slip of the same date."""
    return (
        f"({l}.dob = {r}.dob or {dob_swapped(l, r)} or {dob_year_slip(l, r, dialect)}"
        f" or {dob_one_typo(l, r)})"
    )


def sex_conflict(l: str = "l", r: str = "r") -> str:
    """Both sexes known (M/F) and different."""
    return f"({l}.sex in ('M', 'F') and {r}.sex in ('M', 'F') and {l}.sex <> {r}.sex)"


def postcode_overlap(l: str = "l", r: str = "r", dialect: SqlDialect = DUCKDB) -> str:
    """The two identities ever shared a postcode."""
    return dialect.lists_overlap(f"{l}.postcode_history", f"{r}.postcode_history")
