"""Private by default: what the warehouse holds is identifiable, so nobody but its owner reads it.

Folders 0700, files 0600, by a process umask set once at the start of `carejourney
run`, `carejourney publish` and when the Dagster definitions load, plus an explicit
chmod wherever a file is copied (a copy keeps its source's mode) and a one-time
tightening of warehouses made before this rule.

One exception, documented in README.md: a group named in CAREJOURNEY_PUBLISHED_GROUP
(or CAREJOURNEY_ANALYST_GROUP) may read the published copy (or the analyst copy), and
only that: it gets read on the version folder and its files and traverse (not list)
on the folders above, never read on warehouse.duckdb or anything else.
"""
from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from dagster_project.settings import Settings

# Folders of shared copies directly under the warehouse, by the setting naming their reader group.
SHARED_VERSION_FOLDERS = {"published_group": "published_versions", "analyst_group": "analyst_versions"}
GROUP_SETTINGS = {"published_group": "CAREJOURNEY_PUBLISHED_GROUP", "analyst_group": "CAREJOURNEY_ANALYST_GROUP"}

PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SHARED_DIR_MODE = 0o750      # a published version folder: the group lists and reads it
SHARED_FILE_MODE = 0o640
TRAVERSE_DIR_MODE = 0o710    # a folder above it: the group passes through, cannot list


class GroupError(ValueError):
    """A configured group does not exist or this user cannot hand files to it."""


def apply_private_umask() -> None:
    """Every file and folder this process (and its dbt subprocess) creates from now on is private."""
    os.umask(PRIVATE_UMASK)


def make_private(path: Path) -> None:
    """chmod one path private (a copied file keeps its source's mode otherwise)."""
    if path.is_symlink():
        return
    os.chmod(path, PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE)


def tighten_tree(root: Path, skip: Iterable[str] = ()) -> None:
    """Make every folder and file under root private (warehouses made before this rule);
    names in skip (directly under root) are left alone: the shared published copies."""
    if not root.is_dir():
        return
    skipped = set(skip)
    make_private(root)
    for entry in root.iterdir():
        if entry.name in skipped or entry.is_symlink():
            continue
        make_private(entry)
        if entry.is_dir():
            for folder, dirs, files in os.walk(entry):
                for name in dirs + files:
                    path = Path(folder) / name
                    if not path.is_symlink():
                        make_private(path)


def group_id(name: str, setting: str) -> int:
    """The gid of a group named in a setting; GroupError says which setting is wrong."""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise GroupError(f"{setting}={name!r}: no such group on this machine; "
                         "name an existing group or unset it") from None
    if gid != os.getegid() and gid not in os.getgroups() and os.geteuid() != 0:
        raise GroupError(f"{setting}={name!r}: this user is not a member of that group, so cannot "
                         "hand files to it; add the user to the group or unset it")
    return gid


def share_with_group(version_dir: Path, group: str) -> None:
    """Give the group read on a finished version folder and its files (before it is swapped in)."""
    gid = grp.getgrnam(group).gr_gid
    for folder, _dirs, files in os.walk(version_dir):
        os.chown(folder, -1, gid)
        os.chmod(folder, SHARED_DIR_MODE)
        for name in files:
            path = Path(folder) / name
            os.chown(path, -1, gid)
            os.chmod(path, SHARED_FILE_MODE)


def allow_traverse(folder: Path, groups: set[str]) -> None:
    """Let the group(s) pass through a folder above a shared copy without listing it.

    With one group the folder is handed to that group (0710). A folder has one group,
    so when two different groups need to pass (published and analyst) it becomes 0711:
    anyone may pass through by exact name, nobody but the owner may list it, and every
    file inside stays 0600, so passing through reveals nothing.
    """
    if not groups:
        return
    if len(groups) == 1:
        os.chown(folder, -1, grp.getgrnam(next(iter(groups))).gr_gid)
        os.chmod(folder, TRAVERSE_DIR_MODE)
    else:
        os.chmod(folder, TRAVERSE_DIR_MODE | stat.S_IXOTH)


def check_groups(settings: Settings) -> None:
    """GroupError if a configured reader group does not exist or cannot be handed files."""
    for field_name, env_name in GROUP_SETTINGS.items():
        name = getattr(settings, field_name)
        if name:
            group_id(name, env_name)


def secure_warehouse(settings: Settings) -> None:
    """At the start of a run or publish: the warehouse folder private, everything in it
    private (warehouses made before this rule too), the reader groups let through to
    their shared copies only."""
    settings.warehouse_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    shared = [folder for field_name, folder in SHARED_VERSION_FOLDERS.items() if getattr(settings, field_name)]
    tighten_tree(settings.warehouse_dir, skip=shared)
    allow_traverse(settings.warehouse_dir, settings.reader_groups)
