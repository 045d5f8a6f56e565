"""Before linkage on an incremental night: the seeds and staging models dbt need not build or test again.

The half of the dbt build before linkage (dbt/assets.py) is seeds, staging models over
ingest's raw_current, tonight's as-of date and the linkage input. Seeds and staging models
are code: while the settings and code are those of the **baseline** (the last complete
build, runs/incremental.py), they stand in the warehouse as a build under that code left
them. Their data tests read the raw tables, which change only by a new load (ingest
appends a file's rows under a new load id of ops.load_ledger, and never edits or deletes
a loaded row): a staging folder (one source: `models/staging/<source>/`) none of whose
raw tables loaded since the baseline holds exactly the rows its tests passed on then,
so its models are not rebuilt and its tests not run again; the seeds and their tests
neither. Everything else builds and is tested as before: tonight's as-of date, the
linkage input, and every staging folder with a new load (its relationships tests to
the seeds included). No baseline, other settings or code (first night, --full-refresh,
an upgrade): all of it builds.

A staging folder that does build rebuilds, on DuckDB, only the records whose current
version changed since the baseline (its event models are incremental: dbt macro
incremental_by_record); with no baseline or other settings or code, the plan is `full`
and the half before linkage runs with --full-refresh, which rebuilds them whole.
Likewise the linkage input rebuilds only the identities those records name or named
(dbt macro incremental_by_identity): a plan that is not `full` writes them first
(linkage.touched_identity, from raw: every version ever loaded).

A staging test's models all sit in its own folder (besides seeds): the relationships
between CSDS tables stay inside `csds/`. The skip is decided per folder so that it stays so.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.runs import incremental, nothing_new
from dagster_project.settings import Settings

STAGING_PATH = "models/staging/"
RAW_CURRENT_SOURCE = "source.carejourney.raw_current."
# The linkage input model reading staging (its identities' rows are what it rebuilds).
LINKAGE_RECORDS = "model.carejourney.int_linkage__records"
# Named by dbt macros touched_identity_relation() / touched_identity_meta_relation().
TOUCHED = "linkage.touched_identity"
TOUCHED_META = "linkage.touched_identity_meta"


@dataclass(frozen=True)
class StagingPlan:
    unchanged: tuple[str, ...]     # staging folders (sources) not rebuilt nor tested tonight
    since_load_id: int | None      # the baseline's last load (None: no baseline to start from)
    reason: str
    # True: no baseline, or other settings or code: staging is rebuilt whole (dbt --full-refresh),
    # not from the baseline (macro incremental_by_record)
    full: bool = False

    def exclude_selectors(self) -> list[str]:
        """dbt --exclude selectors: seeds and the unchanged staging folders (with their tests)."""
        if not self.unchanged:
            return []
        return ["resource_type:seed", *(f"path:{STAGING_PATH}{folder}" for folder in self.unchanged)]

    def standing_nodes(self, manifest_path: Path) -> list[dict]:
        """The manifest nodes of the seeds and models the exclusions leave as they stand, in
        dependency order: the seeds, then the staging models (which read only seeds and sources)."""
        if not self.unchanged:
            return []
        folders = tuple(f"{STAGING_PATH}{folder}/" for folder in self.unchanged)
        nodes = _manifest(manifest_path)["nodes"].values()
        return ([node for node in nodes if node["resource_type"] == "seed"]
                + [node for node in nodes
                   if node["resource_type"] == "model" and node["original_file_path"].startswith(folders)])


def staging_sources(manifest_path: Path) -> dict[str, set[str]]:
    """{staging folder: the raw_current tables its models read}. A folder whose models read
    anything besides raw_current tables and seeds is left out: it always builds."""
    manifest = _manifest(manifest_path)
    folders: dict[str, set[str]] = {}
    mixed: set[str] = set()
    for node in manifest["nodes"].values():
        path = node.get("original_file_path", "")
        if node["resource_type"] != "model" or not path.startswith(STAGING_PATH) or path.count("/") != 3:
            continue
        folder = path.split("/")[2]
        tables = folders.setdefault(folder, set())
        for parent in node["depends_on"]["nodes"]:
            if parent.startswith(RAW_CURRENT_SOURCE):
                tables.add(parent.removeprefix(RAW_CURRENT_SOURCE))
            elif not parent.startswith("seed."):
                mixed.add(folder)
    return {folder: tables for folder, tables in folders.items() if folder not in mixed and tables}


def upstream_raw_tables(manifest_path: Path, unique_id: str) -> set[str]:
    """The raw_current tables a dbt node reads, directly or through other models."""
    nodes = _manifest(manifest_path)["nodes"]
    tables: set[str] = set()
    pending, seen = [unique_id], set()
    while pending:
        node = pending.pop()
        if node in seen or node not in nodes:
            continue
        seen.add(node)
        for parent in nodes[node].get("depends_on", {}).get("nodes", ()):
            if parent.startswith(RAW_CURRENT_SOURCE):
                tables.add(parent.removeprefix(RAW_CURRENT_SOURCE))
            else:
                pending.append(parent)
    return tables


def write_touched_identities(con: duckdb.DuckDBPyConnection, since_load_id: int, manifest_path: Path) -> int:
    """linkage.touched_identity: the identities whose linkage input rows may have changed
    since load `since_load_id` (named by a record loaded after it, or by any earlier version
    of that record, in the raw tables the linkage input reads), and the load ids it covers;
    the number of identities. In one transaction: a night killed here leaves the old pair,
    which the linkage models refuse (macro check_touched_identities)."""
    tables = tuple(sorted(upstream_raw_tables(manifest_path, LINKAGE_RECORDS)))
    through_load_id = con.execute("select coalesce(max(load_id), 0) from ops.load_ledger").fetchone()[0]
    con.execute("create schema if not exists linkage")
    con.execute("begin transaction")
    try:
        con.execute(f"create or replace table {TOUCHED} as "
                    f"select distinct source_dataset, source_person_id from "
                    f"({incremental.touched_identities_sql(tables)}) order by all", {"load_id": since_load_id})
        con.execute(f"create or replace table {TOUCHED_META} as "
                    "select ?::bigint as since_load_id, ?::bigint as through_load_id",
                    [since_load_id, through_load_id])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return con.execute(f"select count(*) from {TOUCHED}").fetchone()[0]


def plan_staging(con: duckdb.DuckDBPyConnection, settings: Settings, manifest_path: Path) -> StagingPlan:
    """Which staging folders tonight's build before linkage leaves as they are (see the module
    doc); unless the plan is `full`, linkage.touched_identity is written for it."""
    baseline = _baseline(con)
    if baseline is None:
        return StagingPlan((), None, "no complete build to start from: all staging built and tested", full=True)
    load_id, settings_fp, code_fp = baseline
    if (settings_fp, code_fp) != (nothing_new.settings_fingerprint(settings), nothing_new.code_fingerprint()):
        return StagingPlan((), load_id, "settings or code changed since the last complete build: all built",
                           full=True)
    n_touched = write_touched_identities(con, load_id, manifest_path)
    loaded = {row[0] for row in con.execute(
        "select distinct table_name from ops.load_ledger where load_id > ?", [load_id]).fetchall()}
    unchanged = tuple(sorted(folder for folder, tables in staging_sources(manifest_path).items()
                             if not tables & loaded))
    touched = f"; linkage input of {n_touched} identities touched since then rebuilt"
    if not unchanged:
        return StagingPlan((), load_id, f"every source loaded since load {load_id}: all staging built and "
                                        f"tested{touched}")
    return StagingPlan(unchanged, load_id, f"seeds and staging of {', '.join(unchanged)} unchanged since load "
                                           f"{load_id}: not built or tested again{touched}")


def _baseline(con: duckdb.DuckDBPyConnection) -> tuple[int, str, str] | None:
    try:
        return con.execute(f"select max_load_id, settings_fingerprint, code_fingerprint "
                           f"from {incremental.BASELINE}").fetchone()
    except duckdb.CatalogException:  # a warehouse that never finished a build
        return None


def _manifest(manifest_path: Path) -> dict:
    """dbt's manifest, parsed once per version of the file (a night's plan reads it three
    times; at ~2.4 MB each parse costs ~0.3 s on a busy machine)."""
    stat = manifest_path.stat()
    return _parsed_manifest(manifest_path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _parsed_manifest(manifest_path: Path, mtime_ns: int, size: int) -> dict:
    return json.loads(manifest_path.read_text())
