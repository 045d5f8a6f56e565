"""Nothing new, nothing done: skip a night whose inputs are exactly those of the last published run.

A run's inputs, each reduced to a fingerprint and recorded in ops.run_log:
  - landing: every entry under the landing folder (path, kind, sha256 of content),
    so a new, changed, removed or restored file changes it (a folder whose listing of
    paths, sizes and modification times a recorded run saw is not read again; in a new
    listing, a file whose path, size and modification time ingest hashed before takes
    its hash from ingest's cache, ops.file_hashes, so a delivery night reads only the
    new files, and ingest then takes their hashes from this check instead of reading
    them again);
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

from dagster_project import duckdb_connection, keys
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
    landing_listing: str
    n_landing_entries: int
    settings: str
    code: str
    key: str


def _sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def landing_entries(landing_dir: Path) -> list[tuple[str, str, Path | None]]:
    """(relative path, what it is, the file to hash or None) for every entry under the
    landing folder, sorted; symlinks are named with their target, never followed."""
    entries = []
    for folder, dirs, names in os.walk(landing_dir):
        dirs.sort()
        for name in sorted(dirs + names):
            path = Path(folder) / name
            relative = path.relative_to(landing_dir).as_posix()
            if path.is_symlink():
                entries.append((relative, f"symlink:{os.readlink(path)}", None))
            elif path.is_file():
                info = path.stat()
                entries.append((relative, f"file:{info.st_size}:{info.st_mtime_ns}", path))
            else:
                entries.append((relative, "dir" if path.is_dir() else "other", None))
    return entries


def _digest(lines: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for relative, entry in lines:
        digest.update(f"{relative}\t{entry}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def landing_fingerprint(landing_dir: Path, known: dict[str, str] | None = None,
                        file_hashes: dict[tuple[str, int, int], str] | None = None) -> tuple[str, str, int]:
    """(content digest, listing digest, entries) of the landing folder.

    The content digest hashes every file. When the listing (paths, sizes, modification
    times) equals one a recorded run saw, its content digest is reused without reading
    a byte (known: listing digest -> content digest), as ingest's hash cache does. In
    another listing, each file found in that cache (file_hashes: (path, size, mtime_ns)
    -> sha256, ingest/discovery.py) is not read either; the others are hashed, and left
    for ingest in this process's memory.
    """
    from dagster_project.ingest import discovery

    entries = landing_entries(landing_dir)
    listing = _digest([(relative, kind) for relative, kind, _ in entries])
    if known and listing in known:
        return known[listing], listing, len(entries)

    def key_of(kind: str, path: Path) -> tuple[str, int, int]:
        _, size, mtime_ns = kind.split(":")
        return (str(path), int(size), int(mtime_ns))

    keys = {relative: key_of(kind, path) for relative, kind, path in entries if path is not None}
    hashes = dict(file_hashes or {})
    unknown = [key for key in keys.values() if key not in hashes]
    for key, sha in zip(unknown, discovery.sha256_of_each([Path(key[0]) for key in unknown]), strict=True):
        hashes[key] = sha
        discovery.remember_in_memory(Path(key[0]), key[1], key[2], sha)
    content = _digest([(relative, kind if path is None else f"file:{hashes[keys[relative]]}")
                       for relative, kind, path in entries])
    return content, listing, len(entries)


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
                digest.update(f"{path.relative_to(PROJECT_ROOT).as_posix()}\t{_sha256_of(path)}\n".encode())
    return digest.hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    fields = {f.name: str(getattr(settings, f.name)) for f in dataclasses.fields(settings) if f.name != "pseudo_key"}
    env = {k: v for k, v in os.environ.items() if k.startswith("CAREJOURNEY_") and k not in ENV_NOT_INPUTS}
    return hashlib.sha256(json.dumps([fields, env, linkage_model_fingerprint(settings)],
                                     sort_keys=True).encode()).hexdigest()


def linkage_model_fingerprint(settings: Settings) -> str:
    """The model prediction would use (linkage/model_store.py), by content: a model the
    deployment retrains into its warehouse is a new input, as a new delivery is."""
    from dagster_project.linkage import model_store  # imports Splink: only when a run is considered

    try:
        choice = model_store.choose_model(settings)
        return f"{choice.origin}:{choice.sha256}"
    except (OSError, ValueError, RuntimeError) as exc:  # the run itself then says what is wrong
        return f"unusable: {exc}"


def run_inputs(settings: Settings) -> RunInputs:
    listings, file_hashes = known_listings_and_hashes(settings)
    landing, listing, n = landing_fingerprint(settings.landing_dir, listings, file_hashes)
    return RunInputs(landing, listing, n, settings_fingerprint(settings), code_fingerprint(),
                     keys.fingerprint(settings.pseudo_key))


# ---- ops.run_log: what every run saw and how it ended

def ensure_run_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute("""create table if not exists ops.run_log (
        run_id integer, started_at timestamp, finished_at timestamp, command varchar,
        outcome varchar, exit_code integer, landing_fingerprint varchar, landing_listing varchar,
        n_landing_entries integer,
        settings_fingerprint varchar, code_fingerprint varchar, key_fingerprint varchar,
        published_version varchar, note varchar)""")


def record_run(con: duckdb.DuckDBPyConnection, inputs: RunInputs, *, started_at: float, command: str,
               outcome: str, exit_code: int | None, published_version: str | None, note: str = "") -> int:
    """Append this run to ops.run_log; returns its run_id. A run about to execute is
    recorded first as 'running' (finish_run completes it): one killed on the way stays
    'running', so the next night runs in full rather than trusting a half-built warehouse."""
    ensure_run_log(con)
    run_id = con.execute("select coalesce(max(run_id), 0) + 1 from ops.run_log").fetchone()[0]
    con.execute(
        "insert into ops.run_log values"
        " (?, to_timestamp(?)::timestamp, now()::timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, started_at, command, outcome, exit_code, inputs.landing, inputs.landing_listing,
         inputs.n_landing_entries,
         inputs.settings, inputs.code, inputs.key, published_version, note])
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: int, *, outcome: str, exit_code: int,
               published_version: str | None, note: str = "") -> None:
    con.execute("""update ops.run_log set finished_at = now()::timestamp, outcome = ?, exit_code = ?,
                       published_version = ?, note = ? where run_id = ?""",
                [outcome, exit_code, published_version, note, run_id])


def published_version_name(settings: Settings) -> str | None:
    """The version folder `published` points at (publish/swap.py's layout), if any."""
    link = settings.published_dir
    return link.resolve().name if link.is_symlink() and link.resolve().is_dir() else None


def _read_run_log(settings: Settings):
    """A read-only connection to the warehouse if it has ops.run_log, else None."""
    if not settings.warehouse_db.exists():
        return None
    try:
        con = duckdb_connection.connect(settings, read_only=True)
    except duckdb.Error:
        return None
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'ops' and table_name = 'run_log'").fetchone()[0]
    if not exists:
        con.close()
        return None
    return con


def known_listings_and_hashes(settings: Settings) -> tuple[dict[str, str], dict[tuple[str, int, int], str]]:
    """Landing listings recorded by earlier runs, with their content digests; and ingest's
    file hashes (ops.file_hashes: (path, size, mtime_ns) -> sha256)."""
    from dagster_project.ingest import discovery

    con = _read_run_log(settings)
    if con is None:
        return {}, {}
    try:
        listings = dict(con.execute("select landing_listing, any_value(landing_fingerprint) from ops.run_log "
                                    "where landing_listing is not null group by 1").fetchall())
        return listings, discovery.cached_hashes(con)
    finally:
        con.close()


def unchanged_since(settings: Settings, inputs: RunInputs) -> int | None:
    """The run that built the current published copy from these same inputs, or None
    if tonight must run (anything differs, the last run did not publish, or the
    published copy is not the one it left)."""
    con = _read_run_log(settings)
    if con is None:
        return None
    try:
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
