"""The contract's row rules as one DuckDB SELECT: which rows are rejected, which flagged.

Everything here is generated from dagster_project.contract (columns, keys, event
dates, code lists, required_when) so a rule has one home. Values are checked
trimmed; raw keeps them as delivered (an empty field is NULL).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dagster_project import contract, nhs_number
from dagster_project.dbt_macros import render_macro
from dagster_project.ingest.parse import fields_sql
from dagster_project.sql import quote_ident, quote_literal

POSTCODES = "_ingest_postcodes"
REJECTED = "_ingest_rejected"


def _value(column: str) -> str:
    """The trimmed value of a column of the parsed rows, NULL when blank (computed once per row
    in the `trimmed` step of rows_sql: the rules refer to a value several times each)."""
    return quote_ident("__value " + column)


def _trimmed(column: str) -> str:
    """A column of the `trimmed` step: the value _value names."""
    return f"nullif(trim({quote_ident(column)}), '') as {_value(column)}"


def _shown(expr: str) -> str:
    """A value for a reason text: quoted, or (blank)."""
    return f"coalesce('''' || {expr} || '''', '(blank)')"


def _date_expr(column: str, formats: tuple[str, ...]) -> str:
    tries = ", ".join(f"try_strptime({_value(column)}, {quote_literal(f)})::DATE" for f in formats)
    return f"coalesce({tries})" if len(formats) > 1 else tries


def _in_list(column: str, codes: contract.CodeList) -> str:
    values = sorted(codes.values())
    value = f"lower({_value(column)})" if codes.case_insensitive else _value(column)
    return f"{value} in ({', '.join(quote_literal(v) for v in values)})"


def _reject(column: str | None, kind: str, reason_sql: str, condition: str) -> str:
    assert kind in contract.REJECT_KINDS, kind
    column_sql = quote_literal(column) if column else "NULL::VARCHAR"
    return (f"case when {condition} then {{'column_name': {column_sql}, "
            f"'reason_kind': {quote_literal(kind)}, 'reason': {reason_sql}}} end")


def _flag(kind: str, condition: str) -> str:
    assert kind in contract.FLAG_KINDS, kind
    return f"case when {condition} then {quote_literal(kind)} end"


def _applies(column: contract.Column) -> str | None:
    """SQL true on rows where a required_when column is required; None if always."""
    if column.required_when is None:
        return None
    other, wanted = column.required_when
    return f"lower({_value(other)}) = {quote_literal(wanted.lower())}"


@dataclass(frozen=True)
class RowQueries:
    """Two SELECTs over the file's records, so each rule is evaluated once.

    rejects: line_number, raw_text, _rejects (list of {column_name, reason_kind,
             reason}) of the rows that break the contract; materialise it as REJECTED.
    loaded:  line_number, contract columns, _extra, _flags of every other row.
    The wide rows are never materialised (writing a wide temp table cost as much
    as the rules); DuckDB prunes what each query does not use.
    """

    rejects: str
    loaded: str


def rows_sql(table: contract.Table, header: list[str], delivery_date: dt.date,
             check_postcodes: bool, name_parts: dict[str, str] | None = None) -> RowQueries:
    """The row rules of `table` for a file with this header and name parts (see RowQueries)."""
    name_parts = name_parts or {}
    position = {name: i + 1 for i, name in enumerate(header)}
    n_fields = len(header)

    picked = []
    for name in table.column_names:
        picked.append(f"nullif(fields[{position[name]}], '') as {quote_ident(name)}"
                      if name in position else f"NULL::VARCHAR as {quote_ident(name)}")
    extras = [name for name in header if name not in table.column_names]
    if extras:
        keys = ", ".join(quote_literal(name) for name in extras)
        values = ", ".join(f"nullif(fields[{position[name]}], '')" for name in extras)
        picked.append(f"map([{keys}], [{values}]) as _extra")
    else:
        picked.append("MAP {}::MAP(VARCHAR, VARCHAR) as _extra")

    dates = {c.name: _date_expr(c.name, c.date_formats) for c in table.columns if c.date_formats}
    parsed = [f"{expr} as {quote_ident('__date ' + name)}" for name, expr in dates.items()]
    if table.nhs_number_column:  # cleaned once here (dbt's rule): status_sql refers to its input many times
        parsed.append(f"{render_macro('clean_nhs_number', quote_ident(table.nhs_number_column))} as __nhs_clean")

    def parsed_date(name: str) -> str:
        return quote_ident("__date " + name)

    # ---- rejects: the whole row first (field count, quoting), then per column
    row_problem = (
        f"case when not well_quoted then {{'column_name': NULL::VARCHAR, 'reason_kind': 'wrong_field_count', "
        f"'reason': 'malformed quoting: fields cannot be split unambiguously'}} "
        f"when n_fields <> {n_fields} then {{'column_name': NULL::VARCHAR, 'reason_kind': 'wrong_field_count', "
        f"'reason': 'expected {n_fields} fields, found ' || n_fields}} end"
    )
    rejects: list[str] = []
    for column in table.columns:
        name = column.name
        if column.key:
            rejects.append(_reject(name, "key_missing", quote_literal(f"natural key column {name} is blank"),
                                   f"{_value(name)} is null"))
        if column.event_date:
            rejects.append(_reject(name, "event_date_missing", quote_literal(f"{name} is blank"),
                                   f"{_value(name)} is null"))
            rejects.append(_reject(
                name, "event_date_unparseable",
                f"{quote_literal(name + ' ')} || {_shown(_value(name))} || "
                f"{quote_literal(' is not a date (' + ' or '.join(column.date_formats) + ')')}",
                f"{_value(name)} is not null and {parsed_date(name)} is null"))
        if column.codes and column.codes_reject:
            outside = f"not coalesce({_in_list(name, column.codes)}, false)"
            applies = _applies(column)
            if applies:
                condition = f"coalesce({applies}, false) and {outside}"
            elif column.required:
                condition = outside
            else:
                condition = f"{_value(name)} is not null and {outside}"
            rejects.append(_reject(
                name, "code_not_in_list",
                f"{quote_literal(name + ' ')} || {_shown(_value(name))} || "
                f"{quote_literal(' is not in code list ' + column.codes.seed)}",
                condition))
    for part, name in table.declared_by_name.items():
        if part not in name_parts:
            continue
        declared = name_parts[part]
        rejects.append(_reject(
            name, "name_mismatch",
            f"{quote_literal(name + ' ')} || {_shown(_value(name))} || "
            f"{quote_literal(f' differs from {declared}, which the file name declares')}",
            f"{_value(name)} is not null and upper({_value(name)}) <> {quote_literal(declared.upper())}"))
    for earlier, later in table.date_order:
        rejects.append(_reject(
            later, "date_order",
            f"{quote_literal(later + ' ')} || {_shown(_value(later))} || {quote_literal(' is before ' + earlier + ' ')}"
            f" || {_shown(_value(earlier))}",
            f"{parsed_date(later)} < {parsed_date(earlier)}"))

    # ---- flags, in contract.FLAG_KINDS order
    flags: list[str] = []
    if table.nhs_number_column:
        flags.append("case when __nhs_status <> 'valid' then 'nhs_number_' || __nhs_status end")
    birth = table.birth_date_column
    start = table.event_start_column
    end = table.event_end_column
    if birth:
        flags.append(_flag("birth_date_unparseable", f"{parsed_date(birth)} is null"))
        flags.append(_flag("birth_date_in_future", f"{parsed_date(birth)} > DATE '{delivery_date.isoformat()}'"))
        if start:
            flags.append(_flag("birth_date_after_event", f"{parsed_date(birth)} > {parsed_date(start)}"))
    other_dates = [c.name for c in table.columns if c.date_formats and not c.event_date and c.name != birth]
    if other_dates:
        flags.append(_flag("date_unparseable", " or ".join(
            f"({_value(n)} is not null and {parsed_date(n)} is null)" for n in other_dates)))
    if start and end:
        flags.append(_flag("end_before_start", f"{parsed_date(end)} < {parsed_date(start)}"))
    if table.postcode_column and check_postcodes:
        normalised = render_macro("compact_postcode", _value(table.postcode_column))
        flags.append(_flag("postcode_not_in_directory", f"{normalised} not in (select postcode from {POSTCODES})"))
    if table.sex_column:
        sex_codes = table.column(table.sex_column).codes
        if sex_codes:
            flags.append(_flag("sex_unknown", f"not coalesce({_in_list(table.sex_column, sex_codes)}, false)"))
    unknown: list[str] = []
    for column in table.columns:
        if not column.codes or column.name == table.sex_column:
            continue
        outside = f"({_value(column.name)} is not null and not {_in_list(column.name, column.codes)})"
        applies = _applies(column)
        if not column.codes_reject:
            unknown.append(outside)
        elif applies:  # a value where the column does not apply is kept but marked
            unknown.append(f"(not coalesce({applies}, false) and {outside})")
    if unknown:
        flags.append(_flag("code_unknown", " or ".join(unknown)))
    # The dates of the event itself: nothing can have happened after the file was extracted.
    event_dates = [c.name for c in table.columns if c.event_date]
    event_dates += [n for n in (end, *(d for pair in table.date_order for d in pair)) if n and n not in event_dates]
    if event_dates:
        delivered = f"DATE '{delivery_date.isoformat()}'"
        flags.append(_flag("event_after_delivery", " or ".join(
            f"{parsed_date(n)} > {delivered}" for n in event_dates)))
    if birth:
        at = parsed_date(start) if start else f"DATE '{delivery_date.isoformat()}'"
        flags.append(_flag("age_implausible",
                           f"{parsed_date(birth)} <= {at} - INTERVAL {contract.MAX_PLAUSIBLE_AGE + 1} YEAR"))

    reject_list = f"list_filter([{', '.join(rejects)}], lambda r: r is not null)" if rejects else "[]"
    flag_list = f"list_filter([{', '.join(flags)}]::VARCHAR[], lambda f: f is not null)" if flags else "[]::VARCHAR[]"
    contract_columns = ", ".join(quote_ident(n) for n in table.column_names)
    ctes = f"""
        with base as (
            select line_number, raw_text, len(fields) as n_fields, well_quoted, {', '.join(picked)}
            from ({fields_sql()})
        ), trimmed as (
            select *, {', '.join(_trimmed(n) for n in table.column_names)} from base
        ), parsed as (
            select *{''.join(', ' + p for p in parsed)} from trimmed
        ), checked as (
            select *{', ' + nhs_number.status_sql('__nhs_clean') + ' as __nhs_status'
                     if table.nhs_number_column else ''}
            from parsed
        )"""
    rejects_sql = f"""{ctes}
        select line_number, raw_text, _rejects from (
            select line_number, raw_text,
                   case when not well_quoted or n_fields <> {n_fields} then [{row_problem}]
                        else {reject_list} end as _rejects
            from checked)
        where len(_rejects) > 0"""
    loaded_sql = f"""{ctes}
        select line_number, {contract_columns}, _extra, {flag_list} as _flags
        from checked where line_number not in (select line_number from {REJECTED})"""
    return RowQueries(rejects_sql, loaded_sql)
