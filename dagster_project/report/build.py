"""Write the report of the published copy into that same published version.

`published` is a symlink to a version directory that publish swaps atomically.
The report resolves the link once, reads that version's carejourney.duckdb and
writes `<version>/report/index.html` (temporary file, then rename). A reader who
opens `published/report/index.html` therefore always gets the report of the data
beside it: the report of another version is never reachable through the link.
"""
from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from dagster_project.report.page import build_page
from dagster_project.report.published_data import (
    read_published,
    report_path,
    resolve_version,
    write_atomically,
)
from dagster_project.settings import Settings


@dataclass(frozen=True)
class ReportResult:
    path: Path
    version_dir: Path
    charts: int
    metrics: int
    size_bytes: int


def _match_version_access(path: Path, version: Path) -> None:
    """The report is written after the swap, so it takes the version folder's group and
    modes itself: private (0700/0600), or readable by the published copy's reader group
    (CAREJOURNEY_PUBLISHED_GROUP) when the version was shared with it."""
    folder = version.stat()
    for target, mode in ((path.parent, stat.S_IMODE(folder.st_mode)), (path, stat.S_IMODE(folder.st_mode) & 0o666)):
        os.chown(target, -1, folder.st_gid)
        os.chmod(target, mode)


def write_report(settings: Settings, version_dir: Path | None = None,
                 out: Path | None = None) -> ReportResult:
    """Render the report of `version_dir` (default: the version settings.published_dir
    points to now).

    out: write there instead of into the version (e.g. to mail a copy); it is still
    drawn from the published copy only.
    """
    version = version_dir or resolve_version(settings.published_dir)
    data = read_published(settings, version)
    page = build_page(data, dt.datetime.now(dt.UTC))
    path = out or report_path(version)
    write_atomically(path, page)
    if out is None:
        _match_version_access(path, version)
    return ReportResult(path=path, version_dir=version, charts=page.count('data-chart="'),
                        metrics=int(data.metrics["metric_id"].nunique()), size_bytes=len(page.encode("utf-8")))
