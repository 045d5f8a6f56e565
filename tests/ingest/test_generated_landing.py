"""A small generated landing folder loads: malformed rows in rejects, every count reconciled."""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from dagster_project import contract
from dagster_project.generate.config import GeneratorConfig
from dagster_project.generate.generator import simulate, write
from dagster_project.ingest.assets import unreconciled_files
from dagster_project.ingest.run import ingest_landing
from dagster_project.settings import Settings

# Five quarterly deliveries of 300 people: every file family, small enough to be quick.
SMALL = GeneratorConfig(people=300, seed=5, start=dt.date(2024, 4, 1), end=dt.date(2025, 6, 30))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    write(simulate(SMALL), root / "landing", root / "truth", progress=lambda _m: None)
    settings = Settings.from_env(root / "landing", root / "warehouse", pseudo_key="k")
    settings.warehouse_dir.mkdir()
    con = duckdb.connect(str(settings.warehouse_db))
    summary = ingest_landing(settings, con)
    yield settings, con, summary
    con.close()


def _records_in(path: Path) -> int:
    """Data records by Python's own CSV reader: an independent count of rows read."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if row) - 1


def test_every_generated_file_loads_and_reconciles(loaded):
    settings, con, summary = loaded
    landed = sorted(p for p in settings.landing_dir.rglob("*") if p.is_file())
    assert len(summary.files) == len(landed)
    assert summary.files_loaded == len(landed), [f.reason for f in summary.files if f.status != "loaded"]
    for result in summary.files:
        assert result.rows_read == result.rows_loaded + result.rows_rejected, result.file_name
        assert result.rows_read == _records_in(Path(result.file_path)), result.file_name
    assert unreconciled_files(con) == []


def test_malformed_generated_rows_are_in_rejects_by_kind(loaded):
    _, con, summary = loaded
    assert summary.rows_rejected > 0
    kinds = {(table, kind) for table, kind in con.execute(
        "select distinct table_name, reason_kind from raw.rejects").fetchall()}
    # the generator breaks an event date, a key and a row's length in every table's latest delivery
    for table in ("hes_apc", "asc_cld", "csds_cyp101_referral", "csds_cyp201_care_contact"):
        assert {(table, "key_missing"), (table, "wrong_field_count")} <= kinds, table
        assert (table, "event_date_unparseable") in kinds or (table, "event_date_missing") in kinds, table
    # each reject points at its physical line, whose text is the raw text kept
    for file_path, line_number, raw_text in con.execute("""
            select l.file_path, r.line_number, r.raw_text from raw.rejects r join ops.load_ledger l using (load_id)
            """).fetchall():
        lines = Path(file_path).read_text(encoding="utf-8").splitlines()
        assert raw_text.startswith(lines[line_number - 1]), (file_path, line_number)


def test_current_tables_hold_one_row_per_natural_key(loaded):
    _, con, _ = loaded
    for table in contract.TABLES:
        if table.snapshot:
            continue
        key = ", ".join(f'trim("{c}")' for c in table.natural_key)
        total, distinct = con.execute(
            f"select count(*), count(distinct ({key})) from raw_current.{table.name}").fetchone()
        assert total == distinct > 0, table.name


def test_flags_are_counted_per_file(loaded):
    _, con, summary = loaded
    assert summary.flags.get("nhs_number_missing", 0) > 0
    union = " union all ".join(f"select unnest(_flags) as flag from raw.{t.name}" for t in contract.TABLES)
    from_rows = dict(con.execute(f"select flag, count(*) from ({union}) group by flag").fetchall())
    assert from_rows == summary.flags


def _loaded_contents(con: duckdb.DuckDBPyConnection, warehouse_dir: Path) -> dict[str, list[tuple]]:
    """Every raw, raw_current and ledger table, sorted (run times and paths left out; the
    warehouse folder named in a reason, as where a rejected file was copied, as <warehouse>)."""
    tables = con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                         "where schema_name in ('raw', 'raw_current', 'ops') order by 1").fetchall()
    contents = {}
    for (name,) in tables:
        columns = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name || '.' || table_name = ? "
            "and column_name not in ('started_at', 'finished_at', 'file_path', 'loaded_at')", [name]).fetchall()]
        selected = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f"select {selected} from {name} order by all").fetchall()
        contents[name] = [tuple(v.replace(str(warehouse_dir), "<warehouse>") if isinstance(v, str) else v
                                for v in row) for row in rows]
    return contents


def test_files_loaded_side_by_side_give_what_one_by_one_gives(loaded, tmp_path, monkeypatch):
    """Event files load on several connections at once; the ledger (load ids included),
    raw, rejects, flags, raw_current and the run's summary (in landing order) are exactly
    those of loading them one by one."""
    from dagster_project.ingest import run

    settings, _, _ = loaded
    landing = tmp_path / "landing"
    shutil.copytree(settings.landing_dir, landing)
    # files that end a run of side-by-side loads: the same bytes under a second name (a
    # skipped duplicate of the first), the same name and bytes outside its folder (left
    # alone: already in the ledger by then), a name no pattern matches (rejected)
    first_hes = sorted((landing / "hes_apc").glob("hes_apc_*.csv"))[0]
    shutil.copy(first_hes, first_hes.with_name(first_hes.stem + "_resent.csv"))
    last_contacts = sorted((landing / "csds").glob("csds_cyp201_care_contact_*.csv"))[-1]
    shutil.copy(last_contacts, landing / last_contacts.name)
    (landing / "hes_apc" / "hes_apc_2025-03-31.csv").write_bytes(first_hes.read_bytes())
    pools: list[int] = []

    class CountingPool(run.ThreadPoolExecutor):
        def __init__(self, max_workers: int, **kwargs) -> None:
            pools.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(run, "ThreadPoolExecutor", CountingPool)
    contents = {}
    for label, side_by_side in (("side_by_side", 4), ("one_by_one", 1)):
        monkeypatch.setattr(run, "MAX_FILES_SIDE_BY_SIDE", side_by_side)
        warehouse = Settings.from_env(landing, tmp_path / label, pseudo_key="k")
        warehouse.warehouse_dir.mkdir()
        con = duckdb.connect(str(warehouse.warehouse_db), config={"threads": 4})
        try:
            summary = ingest_landing(warehouse, con, load_date=dt.date(2025, 7, 1))
            contents[label] = _loaded_contents(con, warehouse.warehouse_dir)
            contents[label]["summary"] = [(f.file_name, f.load_id, f.status, f.rows_loaded) for f in summary.files]
        finally:
            con.close()
        assert (max(pools, default=1) > 1) == (side_by_side > 1), label
        pools.clear()
    assert contents["side_by_side"]["raw.rejects"]  # the mess is there to compare
    statuses = {name: status for name, _, status, _ in contents["side_by_side"]["summary"]}
    assert statuses[first_hes.stem + "_resent.csv"] == "skipped_duplicate"
    assert statuses["hes_apc_2025-03-31.csv"] == "rejected"
    assert [name for name, *_ in contents["side_by_side"]["summary"]].count(last_contacts.name) == 1
    assert contents["side_by_side"] == contents["one_by_one"]
