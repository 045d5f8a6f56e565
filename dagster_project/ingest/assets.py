"""Dagster assets for ingest: one multi-asset over the landing folder, one blocking check.

The multi-asset materialises `raw_current/<table>` for every contract table and
`ops/load_ledger`; the check `rows_reconcile_per_file` proves, for every loaded
file, rows read = rows loaded + rows rejected against what actually sits in
raw.<table> and raw.rejects (not only what the ledger says).
"""
# No `from __future__ import annotations`: Dagster inspects the context annotation at runtime.
import dagster as dg
import duckdb

from dagster_project import contract
from dagster_project.ingest.run import IngestSummary, ingest_landing
from dagster_project.ingest.schema import ensure_schema
from dagster_project.resources import CarejourneyResource, WarehouseGuard

LEDGER_KEY = dg.AssetKey(["ops", "load_ledger"])


def current_key(table: contract.Table) -> dg.AssetKey:
    return dg.AssetKey(["raw_current", table.name])


_SPECS = [
    *(dg.AssetSpec(current_key(t), group_name="ingest", kinds={"duckdb"},
                   description=f"Current version of each {t.name} record (raw_current.{t.name}): "
                               + ("rows of the latest loaded file." if t.snapshot
                                  else "latest delivery wins per natural key " + ", ".join(t.natural_key) + "."))
      for t in contract.TABLES),
    dg.AssetSpec(LEDGER_KEY, group_name="ingest", kinds={"duckdb"},
                 description="One row per landed file handled: sha256, counts, status, reason."),
]


@dg.multi_asset(specs=_SPECS, name="ingest_landing", can_subset=False)
def ingest_landing_asset(context: dg.AssetExecutionContext, carejourney: CarejourneyResource,
                         warehouse_guard: WarehouseGuard):
    """Load every new landed file into raw.*, record it in ops.load_ledger."""
    settings = carejourney.settings()
    with carejourney.connect() as con:
        summary = ingest_landing(settings, con)
        for line in _log_lines(summary):
            context.log.info(line)
        for table in contract.TABLES:
            files = summary.for_table(table.name)
            current = con.execute(f"select count(*) from raw_current.{table.name}").fetchone()[0]
            yield dg.MaterializeResult(asset_key=current_key(table), metadata={
                "files_loaded": sum(1 for f in files if f.status == "loaded"),
                "rows_read": sum(f.rows_read or 0 for f in files),
                "rows_loaded": sum(f.rows_loaded or 0 for f in files),
                "rows_rejected": sum(f.rows_rejected or 0 for f in files),
                "current_rows": current,
            })
        yield dg.MaterializeResult(asset_key=LEDGER_KEY, metadata={
            "files_loaded": summary.files_loaded,
            "files_skipped_duplicate": summary.files_skipped,
            "files_rejected": summary.files_rejected,
            "files_unchanged": len(summary.unchanged),
            "rows_read": summary.rows_read,
            "rows_loaded": summary.rows_loaded,
            "rows_rejected": summary.rows_rejected,
            "rows_flagged_by_kind": dg.MetadataValue.json(summary.flags),
            "files": dg.MetadataValue.md(_files_table(summary)),
            "rejected_files": dg.MetadataValue.md(
                "\n".join(f"- {f.reason}" for f in summary.files if f.status == "rejected") or "none"),
        })


def _files_table(summary: IngestSummary, limit: int = 300) -> str:
    """Per source and delivery: rows read, loaded, rejected and flagged by kind."""
    if not summary.files:
        return "no new files"
    lines = ["| file | source | delivery | status | read | loaded | rejected | flagged by kind |",
             "|---|---|---|---|---|---|---|---|"]
    for f in summary.files[:limit]:
        flags = ", ".join(f"{kind} {n}" for kind, n in sorted(f.flags.items()))
        lines.append(f"| {f.file_name} | {f.source or ''} | {f.delivery_date or ''} | {f.status} | "
                     f"{f.rows_read if f.rows_read is not None else ''} | "
                     f"{f.rows_loaded if f.rows_loaded is not None else ''} | "
                     f"{f.rows_rejected if f.rows_rejected is not None else ''} | {flags} |")
    if len(summary.files) > limit:
        lines.append(f"| ... {len(summary.files) - limit} more: see ops.load_ledger | | | | | | | |")
    return "\n".join(lines)


def _log_lines(summary: IngestSummary) -> list[str]:
    lines = [f"{f.status}: {f.file_name}" + (f" ({f.rows_read} read, {f.rows_loaded} loaded, "
                                            f"{f.rows_rejected} rejected)" if f.rows_read is not None else "")
             + (f" - {f.reason}" if f.reason else "") for f in summary.files]
    if not summary.postcode_check:
        lines.append("no postcode directory loaded yet: postcode_not_in_directory was not checked")
    return lines + [f"{len(summary.unchanged)} file(s) already in the ledger, left alone"]


def unreconciled_files(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Loaded files whose counts do not add up, in the ledger or in the tables themselves."""
    ensure_schema(con)
    raw_counts = " union all ".join(
        f"select _load_id as load_id, count(*) as n from raw.{t.name} group by _load_id" for t in contract.TABLES)
    rows = con.execute(f"""
        with raw_rows as ({raw_counts}),
             rejected as (select load_id, count(distinct line_number) as n from raw.rejects group by load_id)
        select l.load_id, l.file_name, l.rows_read, l.rows_loaded, l.rows_rejected,
               coalesce(r.n, 0) as in_raw, coalesce(j.n, 0) as in_rejects
        from ops.load_ledger l
        left join raw_rows r using (load_id) left join rejected j using (load_id)
        where l.status = 'loaded' and (
            l.rows_read is null or l.rows_read <> l.rows_loaded + l.rows_rejected
            or l.rows_loaded <> coalesce(r.n, 0) or l.rows_rejected <> coalesce(j.n, 0))
        order by l.load_id
    """).fetchall()
    names = ("load_id", "file_name", "rows_read", "rows_loaded", "rows_rejected", "in_raw", "in_rejects")
    return [dict(zip(names, row, strict=False)) for row in rows]


@dg.asset_check(asset=LEDGER_KEY, name="rows_reconcile_per_file", blocking=True,
                description="For every loaded file: rows read = loaded + rejected, and raw.<table> "
                            "and raw.rejects hold exactly those rows.")
def rows_reconcile_per_file(carejourney: CarejourneyResource,
                            warehouse_guard: WarehouseGuard) -> dg.AssetCheckResult:
    with carejourney.connect() as con:
        broken = unreconciled_files(con)
        n_files = con.execute("select count(*) from ops.load_ledger where status = 'loaded'").fetchone()[0]
    return dg.AssetCheckResult(
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"files_checked": n_files, "files_not_reconciled": len(broken),
                  "details": dg.MetadataValue.json(broken[:20])},
        description=("every loaded file reconciles" if not broken else
                     f"{len(broken)} file(s) do not reconcile, first: {broken[0]['file_name']} "
                     f"(load_id {broken[0]['load_id']}): see ops.load_ledger and raw.rejects"),
    )


assets = [ingest_landing_asset]
asset_checks = [rows_reconcile_per_file]

# The ingest concern as Dagster loads it (definitions.py merges every concern's).
defs = dg.Definitions(assets=assets, asset_checks=asset_checks)
