"""Read what the report draws from one published version, and nothing else.

The report is drawn from the published copy only (never warehouse.duckdb), so
what it shows is exactly what analysts can see: disclosure-controlled counts,
suppressed cells left out. Tables and columns added in later releases (data
dictionary, confidence intervals, England reference, an index-event pathway
mart) are used when the copy has them and simply not drawn when it does not.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project import duckdb_connection
from dagster_project.metric_units import unit_of
from dagster_project.publish import swap
from dagster_project.publish.core import DATABASE_FILE, SCHEMA
from dagster_project.settings import Settings

REQUIRED_TABLES = ("system_metrics", "pathway_transitions", "data_quality")


class ReportInputError(RuntimeError):
    """The published copy cannot be reported on; the message says what is missing and what to do."""


@dataclass(frozen=True)
class PublishedData:
    """Everything the report draws, read from one published version directory."""

    version_dir: Path
    metrics: pd.DataFrame                     # system_metrics
    pathways: pd.DataFrame                    # pathway_transitions
    data_quality: pd.DataFrame
    metric_definitions: pd.DataFrame | None = None
    code_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> code -> label
    index_pathways: pd.DataFrame | None = None  # the index-event pathway mart, when published
    index_pathways_table: str | None = None

    @property
    def version(self) -> str:
        return self.version_dir.name

    def metric_unit(self, metric_id: str) -> str:
        """pct, per_100k or days: from the published data dictionary, else the seed (metric_units)."""
        defs = self.metric_definitions
        for column in ("unit", "value_unit"):
            if defs is not None and column in defs.columns:
                match = defs.loc[defs["metric_id"] == metric_id, column]
                if len(match) and isinstance(match.iloc[0], str) and match.iloc[0]:
                    return match.iloc[0]
        return unit_of(metric_id)

    def metric_title(self, metric_id: str) -> str:
        defs = self.metric_definitions
        if defs is not None:
            for column in ("title", "name", "label"):
                if column in defs.columns:
                    match = defs.loc[defs["metric_id"] == metric_id, column]
                    if len(match) and isinstance(match.iloc[0], str) and match.iloc[0]:
                        return match.iloc[0]
        return metric_id.replace("_", " ")

    def metric_description(self, metric_id: str) -> str:
        defs = self.metric_definitions
        if defs is not None and "description" in defs.columns:
            match = defs.loc[defs["metric_id"] == metric_id, "description"]
            if len(match) and isinstance(match.iloc[0], str):
                return match.iloc[0]
        return ""

    def area_name(self, la_code: str) -> str:
        if la_code == "ALL":
            return "All councils"
        name = self.code_labels.get("la_code", {}).get(la_code)
        return f"{name} ({la_code})" if name else la_code

    def label(self, column: str, code: object) -> str:
        """A coded value's label from the published code_labels, else the code itself."""
        return self.code_labels.get(column, {}).get(str(code), str(code))


def resolve_version(published_dir: Path) -> Path:
    """The version directory `published` points to now, resolved once so data and report match."""
    version = swap.current_version(published_dir)
    if version is None:
        if published_dir.is_dir():
            return published_dir.resolve()  # an older plain-directory layout
        raise ReportInputError(f"no published copy at {published_dir}: run `carejourney run` "
                               "(or `carejourney publish`) first")
    return version


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]).fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position", [SCHEMA, table]).fetchall()]


def _code_labels(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, dict[str, str]]:
    """The published data dictionary's labels (code_labels: column_name, code, label), by column."""
    if "code_labels" not in tables or not {"column_name", "code", "label"} <= set(_columns(con, "code_labels")):
        return {}
    labels: dict[str, dict[str, str]] = {}
    for column, code, label in con.execute(f"select column_name, code, label from {SCHEMA}.code_labels").fetchall():
        if column is not None and code is not None and label is not None:
            labels.setdefault(str(column), {})[str(code)] = str(label)
    return labels


INDEX_PATHWAY_COLUMNS = {"index_event", "step", "from_state", "to_state", "n_transitions"}


def _index_pathway_table(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    """The index-event pathway mart (pathway_index_events): one row per index event, step and transition."""
    for table in sorted(tables):
        if set(_columns(con, table)) >= INDEX_PATHWAY_COLUMNS:
            return table
    return None


def read_published(settings: Settings, version_dir: Path) -> PublishedData:
    """Read the report's inputs from one published version (read-only; the run's DuckDB
    memory limit and spill folder: duckdb_connection.py)."""
    database = version_dir / DATABASE_FILE
    if not database.exists():
        raise ReportInputError(f"{database} does not exist: the published copy is incomplete; re-run "
                               "`carejourney publish`")
    con = duckdb_connection.connect(settings, database, read_only=True)
    try:
        tables = _tables(con)
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise ReportInputError(f"{database} has no {', '.join(SCHEMA + '.' + t for t in missing)}: "
                                   "it was not published by this version of carejourney; re-run `carejourney publish`")
        read = lambda table: con.execute(f"select * from {SCHEMA}.{table}").df()
        index_table = _index_pathway_table(con, tables)
        return PublishedData(
            version_dir=version_dir,
            metrics=read("system_metrics"),
            pathways=read("pathway_transitions"),
            data_quality=read("data_quality"),
            metric_definitions=read("metric_definitions") if "metric_definitions" in tables else None,
            code_labels=_code_labels(con, tables),
            index_pathways=read(index_table) if index_table else None,
            index_pathways_table=index_table,
        )
    finally:
        con.close()


def report_path(version_dir: Path) -> Path:
    return version_dir / "report" / "index.html"


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target and rename over it: a reader sees the old page or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
