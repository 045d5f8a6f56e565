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

    def parent_key(self, row: dict) -> dict | None:
        value = row[self.column]
        if value is None or _isna(value) or str(value) == self.total:
            return None
        return {**row, self.column: self.total}


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

    def parent_key(self, row: dict) -> dict | None:
        if row["period_type"] != self.child or _isna(row["period_start"]):
            return None
        start = pd.Timestamp(row["period_start"]).date()
        return {**row, "period_type": self.parent, "period_start": PARENT_START[self.parent](start)}


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


def _key(row: dict, dimensions: Sequence[str]) -> tuple:
    """A hashable key over the dimension columns; dates and timestamps compare as dates."""
    out = []
    for column in dimensions:
        value = row[column]
        if isinstance(value, (pd.Timestamp, dt.datetime)):
            value = pd.Timestamp(value).date()
        out.append(None if _isna(value) else value)
    return tuple(out)


def groups(frame: pd.DataFrame, dimensions: Sequence[str],
           hierarchies: Sequence[Hierarchy]) -> list[tuple[int, list[int]]]:
    """(parent row position, [child row positions]) for every total present with its parts."""
    rows = frame[list(dimensions)].to_dict("records")
    position = {_key(r, dimensions): i for i, r in enumerate(rows)}
    found: list[tuple[int, list[int]]] = []
    for hierarchy in hierarchies:
        if not hierarchy.applies_to(frame):
            continue
        children: dict[int, list[int]] = {}
        for i, row in enumerate(rows):
            parent = hierarchy.parent_key(row)
            if parent is None:
                continue
            p = position.get(_key(parent, dimensions))
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
