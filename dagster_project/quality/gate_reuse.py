"""A gate's passing verdict reused when tonight's validation would repeat a passed one exactly.

A gate is a function of its frame (the dataframe its SQL pulls from the warehouse: every
input the gate reads, the opt-out list, thresholds in the data, the as-of date, the
previous reference version, enters through it), its suite file (expectations and
thresholds), the label column, the code (`nothing_new.code_fingerprint`: this package,
dbt, the suites) and the installed Great Expectations. Building the frame is cheap (one
SQL query); validating it is not (GX's context, checkpoint and Data Docs: at 1M people
the four ledger gates took 4.4 s of a HES delivery's night while only the HES frame
had changed). So the frame is always built, and when the key of all of the above equals
the key of a run of the same gate that passed, and that run's Data Docs page is still
there (or Data Docs were off then and now), the verdict is that run's: the gate passes,
its message and metadata say which run it reuses, and the Data Docs index links the
page that validated these very rows. Anything else validates. Only passes are reused: a
failure is validated again, so its message is tonight's.

The frame's digest is exact, not a sampled or 64-bit row hash: equal digests mean equal
frames. It is the sha256 of the frame written as an Arrow IPC stream (schema with the
columns, dtypes and index, then every value's bytes): the linkage gate's frame has a row
per person (760k at 1M people), and a per-cell digest in Python cost ~6 s CPU there
against ~0.25 s. Equal frames may in principle serialise differently (a null slot's
bytes), which can only cost a reuse, never give a wrong one. A frame Arrow cannot
convert (an object column of mixed types) is digested cell by cell instead.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

TABLE = "ops.gate_pass"


@dataclass(frozen=True)
class PassedRun:
    run_id: str
    passed_at: dt.datetime
    message: str
    docs_page: Path | None
    n_rows: int


def _value(value: Any) -> Any:
    """A JSON-able form of one cell that keeps its type and exact value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, float):   # numpy float64 too: repr round-trips exactly
        return ["float", repr(float(value))]
    if isinstance(value, bool):
        return ["bool", value]
    if hasattr(value, "item") and not isinstance(value, str):   # numpy scalars
        return _value(value.item())
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, (list, tuple)):
        return ["list", [_value(v) for v in value]]
    return [type(value).__name__, str(value)]


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of the frame as an Arrow IPC stream (module doc); cell by cell where Arrow cannot convert it."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return "cells:" + _cell_digest(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return "arrow:" + hashlib.sha256(sink.getvalue()).hexdigest()


def _cell_digest(frame: pd.DataFrame) -> str:
    """sha256 of the frame's columns, dtypes, index and every value (type and exact repr)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c) for c in frame.columns], [str(t) for t in frame.dtypes],
                              [_value(i) for i in frame.index]]).encode())
    for row in frame.itertuples(index=False, name=None):
        digest.update(json.dumps([_value(v) for v in row]).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def reuse_key(gate_name: str, label_column: str | None, suite_path: Path, frame: pd.DataFrame,
              build_data_docs: bool) -> str:
    """Everything a gate's verdict is a function of (module doc), as one sha256."""
    from dagster_project.runs.nothing_new import code_fingerprint

    parts = {
        "gate": gate_name, "label_column": label_column,
        "suite": hashlib.sha256(suite_path.read_bytes()).hexdigest() if suite_path.exists() else None,
        "frame": frame_digest(frame), "code": code_fingerprint(),
        "great_expectations": importlib.metadata.version("great_expectations"),
        "data_docs": build_data_docs,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(f"""create table if not exists {TABLE} (gate varchar, reuse_key varchar, run_id varchar,
        passed_at timestamp, message varchar, docs_page varchar, n_rows bigint)""")


def find_pass(con: duckdb.DuckDBPyConnection, gate_name: str, key: str, docs_dir: Path,
              build_data_docs: bool) -> PassedRun | None:
    """The latest passing run of this gate with this key whose Data Docs page still exists."""
    try:
        rows = con.execute(f"select run_id, passed_at, message, docs_page, n_rows from {TABLE} "
                           "where gate = ? and reuse_key = ? order by passed_at desc", [gate_name, key]).fetchall()
    except duckdb.CatalogException:   # no gate has passed in this warehouse yet
        return None
    for run_id, passed_at, message, page, n_rows in rows:
        docs_page = docs_dir / page if page else None
        if build_data_docs and (docs_page is None or not docs_page.exists()):
            continue
        return PassedRun(run_id, passed_at, message, docs_page, n_rows)
    return None


def record_pass(con: duckdb.DuckDBPyConnection, gate_name: str, key: str, run_id: str, message: str,
                docs_page: Path | None, docs_dir: Path, n_rows: int) -> None:
    """Remember a validation that passed (one row per gate and key: the latest)."""
    page = str(docs_page.relative_to(docs_dir)) if docs_page and docs_page.is_relative_to(docs_dir) else None
    _ensure_table(con)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {TABLE} where gate = ? and reuse_key = ?", [gate_name, key])
        con.execute(f"insert into {TABLE} values (?, ?, ?, now()::timestamp, ?, ?, ?)",
                    [gate_name, key, run_id, message, page, n_rows])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
