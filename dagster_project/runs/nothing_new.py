"""Nothing new, nothing done: skip a night whose inputs are exactly those of the last published run.

A run's inputs, each reduced to a fingerprint and recorded in ops.run_log:
  - landing: every entry under the landing folder (path, kind, sha256 of content),
    so a new, changed, removed or restored file changes it;
  - settings: every Settings field but the secret (as-of, paths, groups...) and every
    CAREJOURNEY_* environment variable but the secret and the lock wait;
  - code: the package version and the contents of dagster_project/ (the linkage model
    included), dbt/ (but its target/ and logs/) and expectations/;
  - key: the secret's fingerprint (keys.py), never the secret.
When all four equal those of the latest run that got past its start, that run
published, and `published` still points at the version it left, the night is a
no-op: exit 0, "nothing new since run N; published copy unchanged". `--full-refresh`
skips this check.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project import keys
from dagster_project.ingest import discovery
from dagster_project.publish import swap
from dagster_project.settings import (
    DBT_PROJECT_DIR,
    EXPECTATIONS_DIR,
    PROJECT_ROOT,
    Settings,
)

CODE_DIRS = (PROJECT_ROOT / "dagster_project", DBT_PROJECT_DIR, EXPECTATIONS_DIR)
CODE_SKIP = {"__pycache__", "target", "logs", "dbt_packages", ".user.yml"}
ENV_NOT_INPUTS = {"CAREJOURNEY_PSEUDO_KEY", "CAREJOURNEY_LOCK_WAIT_SECONDS"}


@dataclass(frozen=True)
class RunInputs:
    landing: str
    n_landing_entries: int
    settings: str
    code: str
    key: str


def landing_fingerprint(landing_dir: Path, con: duckdb.DuckDBPyConnection | None = None) -> tuple[str, int]:
    """A digest of every entry under the landing folder (symlinks are not followed).

    File contents are hashed once: ingest's cache (ops.file_hashes, by path, size and
    modification time) answers for files it has seen, when con is given.
    """
    entries: list[tuple[str, str]] = []
    files: list[discovery.LandingFile] = []
    for folder, dirs, names in os.walk(landing_dir):
        dirs.sort()
        for name in sorted(dirs + names):
            path = Path(folder) / name
            relative = path.relative_to(landing_dir).as_posix()
            if path.is_symlink():
                entries.append((relative, f"symlink:{os.readlink(path)}"))
            elif path.is_file():
                info = path.stat()
                files.append(discovery.LandingFile(path=path, folder="", table=None,
                                                   size_bytes=info.st_size, mtime_ns=info.st_mtime_ns))
                entries.append((relative, ""))
            else:
                entries.append((relative, "dir" if path.is_dir() else "other"))
    if con is not None:
        discovery.fingerprint(files, con, remember=False)
    else:
        for landing_file in files:
            landing_file.sha256 = discovery.sha256_of(landing_file.path)
    hashes = {f.path.relative_to(landing_dir).as_posix(): f.sha256 for f in files}
    digest = hashlib.sha256()
    for relative, kind in entries:
        entry = kind or f"file:{hashes[relative]}"
        digest.update(f"{relative}\t{entry}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest(), len(entries)


def code_fingerprint() -> str:
    digest = hashlib.sha256()
    try:
        digest.update(importlib.metadata.version("carejourney").encode())
    except importlib.metadata.PackageNotFoundError:
        digest.update(b"carejourney (not installed)")
    for root in CODE_DIRS:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in CODE_SKIP)
            for name in sorted(f for f in files if f not in CODE_SKIP and not f.endswith(".pyc")):
                path = Path(folder) / name
                digest.update(f"{path.relative_to(PROJECT_ROOT).as_posix()}\t{discovery.sha256_of(path)}\n".encode())
    return digest.hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    fields = {f.name: str(getattr(settings, f.name)) for f in dataclasses.fields(settings) if f.name != "pseudo_key"}
    env = {k: v for k, v in os.environ.items() if k.startswith("CAREJOURNEY_") and k not in ENV_NOT_INPUTS}
    return hashlib.sha256(json.dumps([fields, env], sort_keys=True).encode()).hexdigest()


def run_inputs(settings: Settings) -> RunInputs:
    con = None
    if settings.warehouse_db.exists():
        con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        landing, n = landing_fingerprint(settings.landing_dir, con)
    finally:
        if con is not None:
            con.close()
    return RunInputs(landing, n, settings_fingerprint(settings), code_fingerprint(),
                     keys.fingerprint(settings.pseudo_key))


# ---- ops.run_log: what every run saw and how it ended

def ensure_run_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute("""create table if not exists ops.run_log (
        run_id integer, started_at timestamp, finished_at timestamp, command varchar,
        outcome varchar, exit_code integer, landing_fingerprint varchar, n_landing_entries integer,
        settings_fingerprint varchar, code_fingerprint varchar, key_fingerprint varchar,
        published_version varchar, note varchar)""")


def record_run(con: duckdb.DuckDBPyConnection, inputs: RunInputs, *, started_at: float, command: str,
               outcome: str, exit_code: int, published_version: str | None, note: str = "") -> int:
    """Append this run to ops.run_log; returns its run_id."""
    ensure_run_log(con)
    run_id = con.execute("select coalesce(max(run_id), 0) + 1 from ops.run_log").fetchone()[0]
    con.execute(
        "insert into ops.run_log values (?, to_timestamp(?)::timestamp, now()::timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, started_at, command, outcome, exit_code, inputs.landing, inputs.n_landing_entries,
         inputs.settings, inputs.code, inputs.key, published_version, note])
    return run_id


def published_version_name(settings: Settings) -> str | None:
    current = swap.current_version(settings.published_dir)
    return current.name if current is not None and current.exists() else None


def unchanged_since(settings: Settings, inputs: RunInputs) -> int | None:
    """The run that built the current published copy from these same inputs, or None
    if tonight must run (anything differs, the last run did not publish, or the
    published copy is not the one it left)."""
    if not settings.warehouse_db.exists():
        return None
    try:
        con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    except duckdb.Error:
        return None
    try:
        exists = con.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'ops' and table_name = 'run_log'").fetchone()[0]
        if not exists:
            return None
        last = con.execute(
            """select outcome, landing_fingerprint, settings_fingerprint, code_fingerprint, key_fingerprint,
                      published_version
               from ops.run_log where outcome <> 'cannot_start' order by run_id desc limit 1""").fetchone()
        built_by = con.execute(
            "select max(run_id) from ops.run_log where outcome = 'published'").fetchone()[0]
    finally:
        con.close()
    if last is None or last[0] not in ("published", "nothing_new"):
        return None
    if tuple(last[1:5]) != (inputs.landing, inputs.settings, inputs.code, inputs.key):
        return None
    if last[5] is None or last[5] != published_version_name(settings):
        return None
    return built_by
