"""Finding landed files, recognising them by folder and name, and fingerprinting them.

A file's identity is its SHA-256. Hashing a multi-GB landing on every sensor tick
would be wasteful, so hashes are cached by (path, size, modification time) in
``ops.file_hashes`` (and in memory for read-only callers): a file that changes
gets a new size or mtime and is hashed again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import contract

_HASH_CHUNK = 8 * 1024 * 1024
# (path, size, mtime_ns) -> sha256, for callers that may not write ops.file_hashes.
_MEMORY_HASHES: dict[tuple[str, int, int], str] = {}


@dataclass
class LandingFile:
    path: Path
    folder: str                         # landing sub-folder ("" for the landing root)
    table: contract.Table | None        # None: not a file the contract knows
    name_parts: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    # Why the entry is refused without being opened (a symlink, a folder, a fifo): it
    # is recorded in the ledger, never read, never followed, never copied to quarantine.
    refused: str | None = None
    # Not matching any pattern, the table the name was probably meant for (contract.guess_table).
    guessed_table: contract.Table | None = None

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def relative_path(self) -> str:
        return f"{self.folder}/{self.file_name}" if self.folder else self.file_name

    @property
    def delivery_date(self) -> dt.date | None:
        """From the file name; None for reference files (they carry no date) and impossible dates."""
        text = self.name_parts.get("delivery")
        if not text or contract.delivery_date_problem(self.name_parts):
            return None
        return dt.datetime.strptime(text, "%Y%m%d").date()

    @property
    def ledger_table(self) -> contract.Table | None:
        """The table to record the file under: its own, else the one its name was meant for."""
        return self.table or self.guessed_table

    @property
    def source(self) -> str | None:
        """The source the ledger records: the table's, else the source folder the file sits in."""
        if self.ledger_table is not None:
            return self.ledger_table.source
        return self.folder if self.folder in contract.SOURCES else None


def discover(landing_dir: Path) -> list[LandingFile]:
    """Every file in the landing folder and its source sub-folders, in load order.

    Load order is contract.TABLES order (reference first: flags need the postcode
    directory), then delivery date, then file name; unknown files come last.
    Hidden files (``.name``: transfers in progress, OS litter) are left alone.
    Symbolic links (at either level) and anything that is not a regular file or a
    source folder are listed as refused, without following or opening them: a link
    named like a delivery must never pull another file (``/etc/passwd``) into the
    warehouse or its quarantine.
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(
            f"landing folder {landing_dir} does not exist: set --landing or CAREJOURNEY_LANDING_DIR"
        )
    found: list[LandingFile] = []
    for entry in sorted(landing_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if stat.S_ISDIR(entry.lstat().st_mode):  # a real folder, not a link to one
            for path in sorted(entry.iterdir()):
                if not path.name.startswith("."):
                    found.append(_landing_file(path, entry.name))
        else:
            found.append(_landing_file(entry, ""))
    _refuse_gzip_beside_plain(found)
    order = {table.name: i for i, table in enumerate(contract.TABLES)}
    found.sort(key=lambda f: (
        order[f.table.name] if f.table else len(order),
        f.name_parts.get("delivery", ""),
        f.file_name,
        f.folder,
    ))
    return found


def _landing_file(path: Path, folder: str) -> LandingFile:
    """One landing entry, described from lstat (a symlink is never followed)."""
    info = path.lstat()
    matched = contract.match_file(folder, path.name) if folder else None
    table, parts = matched if matched else (None, {})
    landing_file = LandingFile(path=path, folder=folder, table=table, name_parts=parts,
                               size_bytes=info.st_size, mtime_ns=info.st_mtime_ns,
                               refused=_refusal(path, info.st_mode))
    if table is None:
        landing_file.guessed_table = contract.guess_table(folder, path.name)
    if landing_file.refused:  # never loaded, whatever its name says
        landing_file.table, landing_file.guessed_table = None, table or landing_file.guessed_table
    return landing_file


def _refuse_gzip_beside_plain(found: list[LandingFile]) -> None:
    """`x.csv.gz` beside `x.csv` in one folder is one delivery twice (its rows would load
    and count twice: the gzip's bytes differ) or two versions of it (which is current would
    be the load order's choice): the gzip is refused, unread, until one of them is removed."""
    plain = {(f.folder, f.file_name) for f in found if not f.refused}
    for landing_file in found:
        name = landing_file.file_name
        if landing_file.refused or not name.endswith(".csv.gz") or (landing_file.folder, name[:-3]) not in plain:
            continue
        landing_file.refused = (f"{name[:-3]} is beside it: the same delivery plain and compressed, or two "
                                "versions of it; keep one and remove the other")
        landing_file.table, landing_file.guessed_table = None, landing_file.table or landing_file.guessed_table


def _refusal(path: Path, mode: int) -> str | None:
    """Why a landing entry is refused unopened, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return (f"a symbolic link (to {os.readlink(path)}): links are refused and never followed; "
                "put the delivery itself in the landing folder")
    if stat.S_ISDIR(mode):
        return "a folder, not a file: deliveries are files directly inside the source folder"
    return "not a regular file (a pipe, socket or device): deliveries are regular files"


def _refused_identity(landing_file: LandingFile) -> str:
    """A stable fingerprint for a refused entry (its content is never read): what it is."""
    return hashlib.sha256(f"refused:{landing_file.relative_path}:{landing_file.refused}".encode()).hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# Files hashed at once: hashlib and file reads release the GIL, so a first night's
# landing (1.6 GB at 1M people: 1.5-1.8 s on one core, 0.9-1.0 s on two) is read on every core.
_HASHING_THREADS = max(1, min(4, os.cpu_count() or 1))


def sha256_of_each(paths: list[Path]) -> list[str]:
    """sha256_of every path, in order, hashed side by side; an OSError of any is raised."""
    if len(paths) < 2:
        return [sha256_of(path) for path in paths]
    with ThreadPoolExecutor(max_workers=_HASHING_THREADS, thread_name_prefix="landing-hash") as pool:
        return list(pool.map(sha256_of, paths))


def fingerprint(files: list[LandingFile], con: duckdb.DuckDBPyConnection, *, remember: bool) -> None:
    """Fill in each file's sha256, from the cache when size and mtime are unchanged.

    remember: write new hashes to ops.file_hashes (needs a writable connection).
    """
    cached = cached_hashes(con)
    # hashed earlier in this process (the nothing-new check reads every new file first)
    # or now, side by side: only the files neither cache knows
    unknown = [f for f in files if not f.refused and _key(f) not in cached and _key(f) not in _MEMORY_HASHES]
    _MEMORY_HASHES.update(zip(map(_key, unknown), sha256_of_each([f.path for f in unknown]), strict=True))
    for landing_file in files:
        if landing_file.refused:
            landing_file.sha256 = _refused_identity(landing_file)
            continue
        key = _key(landing_file)
        sha = cached.get(key)
        if sha is None:
            sha = _MEMORY_HASHES[key]
            if remember:
                con.execute("insert or replace into ops.file_hashes values (?, ?, ?, ?)", [*key, sha])
        _MEMORY_HASHES[key] = sha
        landing_file.sha256 = sha


def _key(landing_file: LandingFile) -> tuple[str, int, int]:
    """A file's key in the hash caches: (path, size, modification time)."""
    return (str(landing_file.path), landing_file.size_bytes, landing_file.mtime_ns)


def remember_in_memory(path: Path, size_bytes: int, mtime_ns: int, sha: str) -> None:
    """A file hashed by another reader of the landing in this process (runs/nothing_new.py):
    `fingerprint` takes it from here instead of reading the file again."""
    _MEMORY_HASHES[(str(path), size_bytes, mtime_ns)] = sha


def cached_hashes(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, int], str]:
    """ops.file_hashes: (path, size, mtime_ns) -> sha256 of every file hashed before (works read-only)."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'ops' and table_name = 'file_hashes'"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute("select file_path, size_bytes, mtime_ns, sha256 from ops.file_hashes").fetchall()
    return {(path, size, mtime): sha for path, size, mtime, sha in rows}
