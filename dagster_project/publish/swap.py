"""Swap a finished copy (published or analyst tier) into place atomically, keeping the contract paths.

Layout, the same for each tier (`published`, `analyst`):
    <warehouse>/published -> published_versions/<version>   (a relative symlink)
    <warehouse>/published_versions/<version>/carejourney.duckdb, <table>.parquet

Why a symlink to a version directory rather than a per-file os.replace: the
database and its Parquet files change together in one rename(2), so a reader that
resolves `published/` sees either the whole old set or the whole new set, never a
mix. A reader that already has the old file open keeps its open inode; the old
version directory is kept until the next publish so new opens of old paths held
by a slow reader (e.g. a dashboard that resolved the link earlier) still work.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

from dagster_project import private_files

VERSIONS_SUFFIX = "_versions"


def versions_dir(published_dir: Path) -> Path:
    """Where a tier's versions live: `published_versions` beside `published`, and so on."""
    return published_dir.parent / (published_dir.name + VERSIONS_SUFFIX)


def new_version_dir(published_dir: Path) -> Path:
    """A fresh, empty directory for the next published copy."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = versions_dir(published_dir) / f"{stamp}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def current_version(published_dir: Path) -> Path | None:
    """The version directory `published` points to now (None before the first publish)."""
    if published_dir.is_symlink():
        return (published_dir.parent / os.readlink(published_dir)).resolve()
    return None


def swap_in(published_dir: Path, version: Path, group: str | None = None) -> Path | None:
    """Point `published` at version in one atomic rename; return the previous version.

    The version is private (0700/0600) unless a reader group is given: then, before
    anyone can see it, the group gets read on it and traverse on the versions folder
    (private_files.py), so a reader never meets a copy it cannot open.
    """
    if group:
        private_files.share_with_group(version, group)
        private_files.allow_traverse(versions_dir(published_dir), {group})
    else:
        private_files.make_private(versions_dir(published_dir))
    previous = current_version(published_dir)
    if published_dir.exists() and not published_dir.is_symlink():
        # A plain directory from an older layout: move it aside as a version. This
        # one-time migration has an instant with no `published`; every later swap is atomic.
        legacy = versions_dir(published_dir) / f"legacy-{uuid.uuid4().hex[:8]}"
        os.replace(published_dir, legacy)
        previous = legacy
    link_tmp = published_dir.parent / f".{published_dir.name}.swap-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(version, published_dir.parent), link_tmp)
    os.replace(link_tmp, published_dir)  # rename(2): atomic for readers
    return previous


def prune(published_dir: Path, keep: list[Path | None]) -> list[Path]:
    """Delete version directories other than those kept (the new one and the previous one)."""
    kept = {p.resolve() for p in keep if p is not None}
    removed = []
    root = versions_dir(published_dir)
    for candidate in sorted(root.iterdir()) if root.exists() else []:
        if candidate.is_dir() and candidate.resolve() not in kept:
            # Readers with files open there keep reading: unlinked inodes live on.
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def discard(version: Path) -> None:
    """Remove a version that failed verification; the published copy never saw it."""
    shutil.rmtree(version, ignore_errors=True)
