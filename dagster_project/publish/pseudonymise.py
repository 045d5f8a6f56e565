"""The analyst tier's person-level rows: source keys replaced by keyed pseudonyms, dates to the month.

Two rules, applied by column, so a column a mart gains later is covered without
a code change (outputs.md, "Three databases"):

- Every column named `*_id` (event_id, prev_event_id, next_event_id, spell_id)
  holds a source system's own key: `LA Code|Event Reference` as sent, or a trust's
  spell number, both free text a sender controls (an Event Reference made of a
  surname, forename and date of birth was published as is: issue 11 item 5). It
  is replaced by the HMAC-SHA-256 of `id:` + the value under the deployment's
  secret: the HMAC that makes person_key (linkage.link), so equal ids stay equal
  (journey.event_id still joins hospital_spell.spell_id and prev/next_event_id)
  and nobody without the secret can turn one back. The `id:` prefix keeps these
  pseudonyms apart from person keys even if an id equals a person id.
- Every DATE column (dates of death, of admission and discharge, of event start
  and end) is cut to the first of its month. Exact dates are what made 99% of
  people with a spell unique on (sex, birth year, admission date) (issue 11 item
  8); the day counts the marts already carry (los_days, days_since_prev_end,
  days_to_next_start, discharge_delay_days) keep the intervals analysts need.
  Birth is published as birth_year only; ages stay whole years.
"""
from __future__ import annotations

from dagster_project.linkage.link import _hmac_pads, _hmac_sql
from dagster_project.sql import quote_ident

PSEUDONYM_PREFIX = "id:"
# Said in the analyst copy's table and column comments (documentation.py).
TABLE_NOTE = ("Analyst copy: pseudonymised person-level data for approved analysts; source keys "
              "(*_id) are keyed pseudonyms and every date is the first day of its month.")
PSEUDONYM_NOTE = ("In the analyst copy: a keyed pseudonym (HMAC-SHA-256 with the deployment's secret) "
                  "of that id; equal ids give equal pseudonyms.")
MONTH_NOTE = "In the analyst copy: the first day of the month."


def is_source_key(column: str) -> bool:
    return column.lower().endswith("_id")


def select_list(column_types: dict[str, str], pseudo_key: str) -> tuple[str, dict[str, bytes]]:
    """SELECT expressions publishing one person-level table, and the query parameters they need."""
    expressions = []
    for column, data_type in column_types.items():
        if is_source_key(column):
            pseudonym = _hmac_sql(repr(PSEUDONYM_PREFIX) + " || " + quote_ident(column))
            expressions.append(f"{pseudonym} as {quote_ident(column)}")
        elif data_type == "DATE":
            expressions.append(f"cast(date_trunc('month', {quote_ident(column)}) as date) as {quote_ident(column)}")
        else:
            expressions.append(quote_ident(column))
    keyed = any(is_source_key(c) for c in column_types)
    opad, ipad = _hmac_pads(pseudo_key)
    return ", ".join(expressions), ({"opad": opad, "ipad": ipad} if keyed else {})
