"""Secondary (complementary) suppression over the hierarchies of a published table.

A suppressed count is only hidden if it cannot be worked out from the counts
around it. Wherever the table holds a total and its parts (a quarter and its
months, a financial year and its quarters, ALL and its councils, a breakdown's
total and its bands), the total equals (or, for people counted once per period,
bounds) the sum of the parts: with exactly one unknown cell in such a group the
unknown is the total minus the others, give or take the rounding. So every group
must hold either no unknown cell or at least two. Where a group has one, the
smallest visible part with a non-zero count is hidden too (a zero hidden beside a
small count would hide little), else the smallest visible part, else the total;
a cell hidden that way can leave another group with one unknown, so this repeats
until no group has exactly one.

Hierarchies are declared, not coded: `PeriodRollup` (finer periods within a
coarser one) and `ColumnTotal` (a dimension whose total row carries a given
value, e.g. la_code 'ALL'). A new breakdown dimension is one more
`ColumnTotal(...)` line in the table's hierarchy list. A hierarchy whose columns
the table lacks is skipped, so one list serves every table.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from dagster_project.periods import financial_year_start


@dataclass(frozen=True)
class ColumnTotal:
    """Rows whose `column` is not `total` are the parts of the row that has `total` there."""
    column: str
    total: str

    def applies_to(self, frame: pd.DataFrame) -> bool:
        return self.column in frame.columns

    def dimensions(self) -> tuple[str, ...]:
        return (self.column,)

    def parent_keys(self, keys: list[tuple], dimensions: Sequence[str]) -> list[tuple | None]:
        """Each row's parent key (None for a total row or an unknown value)."""
        at = dimensions.index(self.column)
        return [None if key[at] is None or str(key[at]) == self.total
                else (*key[:at], self.total, *key[at + 1:]) for key in keys]


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month - (day.month - 1) % 3, 1)


PARENT_START = {"quarter": _quarter_start, "financial_year": financial_year_start}


@dataclass(frozen=True)
class PeriodRollup:
    """Rows of period_type `child` are parts of the `parent` period that holds their start."""
    child: str
    parent: str

    def applies_to(self, frame: pd.DataFrame) -> bool:
        return {"period_type", "period_start"} <= set(frame.columns)

    def dimensions(self) -> tuple[str, ...]:
        return ("period_type", "period_start")

    def parent_keys(self, keys: list[tuple], dimensions: Sequence[str]) -> list[tuple | None]:
        """Each `child` row's key with the parent period's type and start; None for other rows."""
        type_at, start_at = dimensions.index("period_type"), dimensions.index("period_start")
        parent_start: dict = {}  # per distinct start: a table holds a few hundred periods
        out: list[tuple | None] = []
        for key in keys:
            start = key[start_at]
            if key[type_at] != self.child or start is None:
                out.append(None)
                continue
            if start not in parent_start:
                parent_start[start] = PARENT_START[self.parent](pd.Timestamp(start).date())
            parent = list(key)
            parent[type_at], parent[start_at] = self.parent, parent_start[start]
            out.append(tuple(parent))
        return out


Hierarchy = ColumnTotal | PeriodRollup

# The reporting calendar and the areas every aggregate mart may carry. A breakdown
# mart adds its dimension here, e.g. ColumnTotal("age_band", "all").
STANDARD_HIERARCHIES: tuple[Hierarchy, ...] = (
    PeriodRollup("month", "quarter"),
    PeriodRollup("quarter", "financial_year"),
    ColumnTotal("la_code", "ALL"),
)


def _isna(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _key_value(value: object) -> object:
    """A cell as a key compares it: dates and timestamps as dates, every kind of missing as None."""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        value = pd.Timestamp(value).date()
    return None if _isna(value) else value


def _column_keys(column: pd.Series) -> list:
    """_key_value of every cell, computed once per distinct value (a column holds few)."""
    seen: dict = {}
    out = []
    for value in column.tolist():
        try:
            out.append(seen[value])
        except KeyError:
            out.append(seen.setdefault(value, _key_value(value)))
        except TypeError:  # unhashable: no key of its own to remember
            out.append(_key_value(value))
    return out


def groups(frame: pd.DataFrame, dimensions: Sequence[str],
           hierarchies: Sequence[Hierarchy]) -> list[tuple[int, list[int]]]:
    """(parent row position, [child row positions]) for every total present with its parts."""
    dimensions = list(dimensions)
    keys = list(zip(*(_column_keys(frame[c]) for c in dimensions), strict=True)) if len(frame) else []
    position = {key: i for i, key in enumerate(keys)}
    found: list[tuple[int, list[int]]] = []
    for hierarchy in hierarchies:
        if not hierarchy.applies_to(frame):
            continue
        children: dict[int, list[int]] = {}
        for i, parent in enumerate(hierarchy.parent_keys(keys, dimensions)):
            if parent is None:
                continue
            p = position.get(parent)
            if p is not None and p != i:
                children.setdefault(p, []).append(i)
        found += sorted(children.items())
    return found


def dimensions_of(frame: pd.DataFrame, base: Sequence[str], hierarchies: Sequence[Hierarchy]) -> list[str]:
    """The columns that identify a row: the table's own plus every applicable hierarchy's."""
    out = [c for c in base if c in frame.columns]
    for hierarchy in hierarchies:
        if hierarchy.applies_to(frame):
            out += [c for c in hierarchy.dimensions() if c not in out]
    return out


def protect(counts: pd.Series, hidden: pd.Series, group_list: Sequence[tuple[int, list[int]]]) -> pd.Series:
    """`hidden` plus the complementary cells so no group has exactly one unknown cell.

    counts: the exact counts (positionally aligned with hidden); a null count is
    unknown to a reader already and counts as unknown here, never as a complement.
    """
    exact = list(pd.to_numeric(counts, errors="coerce"))
    out = [bool(h) for h in hidden]
    unknown = [out[i] or _isna(exact[i]) for i in range(len(out))]
    changed = True
    while changed:
        changed = False
        for parent, children in group_list:
            members = [parent, *children]
            if sum(unknown[m] for m in members) != 1:
                continue
            choice = _complement(exact, unknown, parent, children)
            if choice is None:
                continue  # nothing visible left to hide: the group is all unknown but one
            out[choice] = unknown[choice] = True
            changed = True
    return pd.Series(out, index=hidden.index, dtype=bool)


def _complement(exact: list, unknown: list[bool], parent: int, children: list[int]) -> int | None:
    visible = [c for c in children if not unknown[c]]
    nonzero = [c for c in visible if exact[c] != 0]
    for candidates in (nonzero, visible):
        if candidates:
            return min(candidates, key=lambda c: (exact[c], c))
    return None if unknown[parent] else parent
