"""Cut the master tables into cumulative, overlapping quarterly delivery files.

Delivery k (extract date D) holds every record active in (D - overlap, D] as it was
known on D: an episode still open on D has no end and EPISTAT 1, a spell not yet
discharged has DISMETH 8 / DISDEST 98 and no DISDATE, an open service has no end,
a date of birth corrected later is still wrong, a death after D is not yet known.
Later deliveries re-send the record in its newer state, so "latest version wins"
is exercised for real.

Malformed rows are made here, per delivery, at ``MessConfig.malformed_rows``: a
blank natural key, an impossible event date, and a short row (a truncated copy of a
row, appended at the end). The latest delivery of every table carries at least one
of each (unless it has fewer than 3 rows), so every demo exercises the reject path.

Files are written by DuckDB ``COPY`` from ordered queries: UTF-8, a header row,
comma separated, double quotes only where needed, blanks for NULL. Column names and
order come from :data:`dagster_project.contract.TABLES`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project import contract
from dagster_project.sql import quote_ident

from .landing import Masters

GOLDEN = 0.6180339887498949  # moves the malformed-row draw from delivery to delivery


def _iso(x: str) -> str:
    return f"strftime({x}, '%Y-%m-%d')"


def _cld(x: str) -> str:
    return f"CASE WHEN iso THEN strftime({x}, '%Y-%m-%d') ELSE strftime({x}, '%d/%m/%Y') END"


DOB = "CASE WHEN dob_fixed_from <= {D} THEN dob_true ELSE dob_shown END"


@dataclass(frozen=True)
class Cut:
    """How one landing table is cut from a master table."""

    table: contract.Table
    master: str
    where: str                      # delivery filter; {D}, {W} are DATE literals
    exprs: dict[str, str]           # column -> SQL (others: the master column of that name)
    key_column: str                 # blanked on "missing key" rows
    date_column: str | None         # broken on "broken date" rows
    broken_date: str | None = None  # SQL giving an impossible date text


def _cuts() -> dict[str, Cut]:
    hes = Cut(
        contract.HES_APC, "hes", "epistart <= {D} AND dis >= {W}",
        {
            "DOB": _iso(DOB),
            "ADMIDATE": _iso("adm"),
            "EPISTART": _iso("epistart"),
            "EPIEND": f"CASE WHEN epiend <= {{D}} THEN {_iso('epiend')} END",
            "EPISTAT": "CASE WHEN epiend <= {D} THEN '3' ELSE '1' END",
            "DISDATE": f"CASE WHEN is_last AND dis <= {{D}} THEN {_iso('dis')} END",
            "DISMETH": "CASE WHEN is_last AND dis <= {D} THEN dismeth ELSE '8' END",
            "DISDEST": "CASE WHEN is_last AND dis <= {D} THEN disdest ELSE '98' END",
            "DISCHARGE_READY_DATE": f"CASE WHEN is_last AND dis <= {{D}} THEN {_iso('ready')} END",
        },
        "EPIKEY", "ADMIDATE", "strftime(adm, '%Y-%m') || '-32'")
    cld = Cut(
        contract.ASC_CLD, "cld",
        "\"LA Code\" = '{LA}' AND start <= {D} AND (\"end\" IS NULL OR \"end\" >= {W})"
        " AND (is_service OR \"end\" <= {D})",
        {
            "Reporting Period Start Date": _cld("({W} + 1)"),
            "Reporting Period End Date": _cld("{D}"),
            "Date of Birth": _cld(DOB),
            "Date of Death": f"CASE WHEN death <= {{D}} THEN {_cld('death')} END",
            "Event Start Date": _cld("start"),
            "Event End Date": f"CASE WHEN \"end\" <= {{D}} THEN {_cld(chr(34) + 'end' + chr(34))} END",
            "Event Outcome": "CASE WHEN \"end\" <= {D} THEN outcome END",
        },
        "Event Reference", "Event Start Date", "'31/02/' || strftime(start, '%Y')")
    mpi = Cut(
        contract.CSDS_MPI, "csds_mpi",
        "LocalPatientId IN (SELECT LocalPatientId FROM csds_referral WHERE received <= {D} "
        "AND (discharged IS NULL OR discharged >= {W}))",
        {
            "PersonBirthDate": _iso(DOB),
            "Postcode": "CASE WHEN care_day <= {D} - lag THEN pc_care WHEN move_day <= {D} - lag THEN pc_move "
                        "ELSE pc_home END",
        },
        "LocalPatientId", None)
    referral = Cut(
        contract.CSDS_REFERRAL, "csds_referral",
        "received <= {D} AND (discharged IS NULL OR discharged >= {W})",
        {
            "ReferralRequestReceivedDate": _iso("received"),
            "ServDischDate": f"CASE WHEN discharged <= {{D}} THEN {_iso('discharged')} END",
        },
        "ServiceRequestId", "ReferralRequestReceivedDate", "strftime(received, '%Y') || '-13-01'")
    contact = Cut(
        contract.CSDS_CONTACT, "csds_contact", "day <= {D} AND day >= {W}",
        {"CareContDate": _iso("day")},
        "CareContactId", "CareContDate", "'not recorded'")
    return {"hes_apc": hes, "asc_cld": cld, "csds_cyp001_mpi": mpi, "csds_cyp101_referral": referral,
            "csds_cyp201_care_contact": contact}


def _select_sql(cut: Cut, k: int, rate: float, force: bool) -> str:
    exprs = []
    for name in cut.table.column_names:
        expr = cut.exprs.get(name, quote_ident(name))
        if name == cut.key_column:
            expr = f"CASE WHEN _bad = 'key' THEN NULL ELSE {expr} END"
        if name == cut.date_column and cut.broken_date:
            expr = f"CASE WHEN _bad = 'date' THEN {cut.broken_date} ELSE {expr} END"
        exprs.append(f"{expr} AS {quote_ident(name)}")
    # The forced malformed rows (1: key, 2: date) go only into a delivery of 3+ rows: in a
    # tiny extract's one- or two-row file they would be every row, and a file none of whose
    # rows loads is (rightly) a broken delivery that stops publication.
    rn = "CASE WHEN count(*) OVER () > 2 THEN row_number() OVER (ORDER BY ord) ELSE 0 END" if force else "0"
    r3 = rate / 3
    date_kind = "'date'" if cut.date_column else "'key'"
    return f"""
        WITH base AS (
            SELECT *, {rn} AS _rn, ((u0 + {k} * {GOLDEN}) % 1.0) AS _m FROM {cut.master} WHERE {cut.where}
        ), marked AS (
            SELECT *, CASE WHEN _m < {r3} OR _rn = 1 THEN 'key'
                           WHEN _m < {2 * r3} OR _rn = 2 THEN {date_kind}
                           WHEN _m < {rate} OR _rn = 3 THEN 'short' ELSE '' END AS _bad
            FROM base
        )
        SELECT {', '.join(exprs)}, _bad, ord AS _ord FROM marked
    """


def _csv_field(column_sql: str) -> str:
    """SQL quoting one value as a CSV field (quotes only when needed), blank for NULL."""
    return (f"CASE WHEN {column_sql} IS NULL THEN '' WHEN {column_sql} LIKE '%,%' OR {column_sql} LIKE '%\"%' "
            f"THEN '\"' || replace({column_sql}, '\"', '\"\"') || '\"' ELSE {column_sql} END")


def _date_literal(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


MASTER_NAMES = ("hes", "cld", "csds_mpi", "csds_referral", "csds_contact")


def load_master(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """A native DuckDB table per master: delivery queries scan columnar storage, not Arrow.

    Stored in output order: with preserve_insertion_order a filtered scan keeps it, so
    delivery files need no sort (only the window in the forced-malformed case does)."""
    con.register(f"_{name}_arrow", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _{name}_arrow ORDER BY ord")
    con.unregister(f"_{name}_arrow")


def write_deliveries(con: duckdb.DuckDBPyConnection, masters: Masters, out: Path, delivery_dates: list[dt.date],
                     la_codes: list[str], overlap_days: int, malformed_rate: float,
                     progress: Callable[[str], None]) -> dict[str, int]:
    """Write every delivery file; returns rows written per table.

    Master tables not yet in DuckDB (build_masters without a sink) are loaded first."""
    for name in MASTER_NAMES:
        table = getattr(masters, name)
        if table is not None:
            load_master(con, name, table)
            setattr(masters, name, None)  # DuckDB holds the rows now: let Arrow's copy go
    cuts = _cuts()
    rows: dict[str, int] = {}
    for table in contract.TABLES:
        if table.source != "reference":
            (out / table.folder).mkdir(parents=True, exist_ok=True)
    last = len(delivery_dates) - 1
    for k, day in enumerate(delivery_dates):
        D = _date_literal(day)
        W = _date_literal(day - dt.timedelta(days=overlap_days))
        stamp = day.strftime("%Y%m%d")
        jobs: list[tuple[str, Cut, str, str]] = [("hes_apc", cuts["hes_apc"], f"hes_apc/hes_apc_{stamp}.csv", "")]
        jobs += [("asc_cld", cuts["asc_cld"], f"asc_cld/asc_cld_{la}_{stamp}.csv", la) for la in la_codes]
        jobs += [(t, cuts[t], f"csds/{t}_{stamp}.csv", "")
                 for t in ("csds_cyp001_mpi", "csds_cyp101_referral", "csds_cyp201_care_contact")]
        for table_name, cut, rel, la in jobs:
            sql = _select_sql(cut, k, malformed_rate, force=(k == last))
            sql = sql.replace("{D}", D).replace("{W}", W).replace("{LA}", la)
            path = out / rel
            names = ", ".join(quote_ident(c) for c in cut.table.column_names)
            order = "ORDER BY _ord" if k == last else ""
            (n,) = con.execute(f"COPY (SELECT {names} FROM ({sql}) {order}) TO '{path.as_posix()}' "
                               "(HEADER, DELIMITER ',', QUOTE '\"')").fetchone()
            # short rows: the first few fields of a row, appended (the intact row stays in the file)
            first = cut.table.column_names[: max(2, len(cut.table.column_names) // 3)]
            fields = ", ".join(_csv_field(quote_ident(c)) for c in first)
            short = con.execute(
                f"SELECT concat_ws(',', {fields}) FROM ({sql}) WHERE _bad = 'short' ORDER BY _ord").fetchall()
            if n == 0:
                # nothing to send (a small council's quiet quarter): no file, rather than a
                # header-only file that would be byte-identical to the last quiet quarter's
                path.unlink()
                continue
            if short:
                with path.open("a", encoding="utf-8", newline="") as handle:
                    handle.write("".join(line + "\n" for (line,) in short))
            rows[table_name] = rows.get(table_name, 0) + n + len(short)
        progress(f"delivery {day.isoformat()} written ({k + 1}/{len(delivery_dates)})")
    return rows
