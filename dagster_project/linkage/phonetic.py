"""Phonetic keys of names for blocking: one home, computed once per distinct name in Python.

Why Python and not SQL: DuckDB has no soundex(), and a key written per engine (Spark's
built-in, a DuckDB macro) would be two homes for one rule. The key is computed here, once per distinct
normalised name, into a lookup table that the Splink input joins (`splink_input.py`); every
engine then sees a plain column, and blocking rules only test it for equality.
"""
from __future__ import annotations

from collections.abc import Iterable

# American Soundex (as the US census and most libraries define it). H and W do not separate
# letters of the same code; vowels (and Y) do, and are dropped.
_CODES = {**dict.fromkeys("BFPV", "1"), **dict.fromkeys("CGJKQSXZ", "2"), **dict.fromkeys("DT", "3"),
          "L": "4", **dict.fromkeys("MN", "5"), "R": "6", **dict.fromkeys("AEIOUY", "0"),
          **dict.fromkeys("HW", "")}


def soundex(name: str | None) -> str | None:
    """'ROBERT' -> 'R163', 'RUPERT' -> 'R163', 'ASHCRAFT' -> 'A261', 'TYMCZAK' -> 'T522'.

    Input is a normalised name (A-Z only, dbt macro `normalise_name`); anything else is skipped.
    None or a name without a letter gives None, so a missing name never blocks with another.
    """
    letters = [c for c in (name or "").upper() if c in _CODES]
    if not letters:
        return None
    first = letters[0]
    digits = []
    previous = _CODES[first]
    for letter in letters[1:]:
        code = _CODES[letter]
        if code == "":          # H, W: transparent
            continue
        if code != previous and code != "0":
            digits.append(code)
        previous = code
    return (first + "".join(digits) + "000")[:4]


def soundex_table(names: Iterable[str | None]) -> list[tuple[str, str]]:
    """(name, soundex) for each distinct non-null name."""
    return [(name, code) for name in sorted({n for n in names if n})
            if (code := soundex(name)) is not None]
