"""Helpers for the running / keys / permissions hostile tests (no pytest fixtures here)."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

from dagster_project.publish import swap
from dagster_project.runs.summary import RunSummary

STRONG_KEY = "5f0c1e9a7b3d2468ace13579bdf02468" "9a8b7c6d5e4f30211f2e3d4c5b6a7988"   # 32 random bytes, hex
OTHER_STRONG_KEY = "c0ffee5a7b3d2468ace13579bdf02468" "1a2b3c4d5e6f70811f2e3d4c5b6a7988"
QUALITY_TESTS = Path(__file__).resolve().parent.parent / "quality"


def make_landing(root: Path) -> Path:
    """A landing folder with one (never loaded: the job is faked) HES delivery."""
    landing = root / "landing"
    (landing / "hes_apc").mkdir(parents=True)
    (landing / "hes_apc" / "hes_apc_20240630.csv").write_text("EPIKEY\nE1\n")
    return landing


class FakeNightlyJob:
    """Stands in for the Dagster job (runs/execution.execute): publishes a new version
    with a marker file, so a test can tell a real night (a new version) from a no-op."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, settings) -> RunSummary:
        self.calls += 1
        version = swap.new_version_dir(settings.published_dir)
        (version / "carejourney.duckdb").write_bytes(b"night %d" % self.calls)
        previous = swap.swap_in(settings.published_dir, version, group=settings.published_group)
        swap.prune(settings.published_dir, keep=[version, previous])
        return RunSummary(settings=settings, seconds=0.0, success=True, published=True)


def published_bytes(warehouse: Path) -> dict[str, bytes]:
    """Every file of the published copy, by name: equal before and after means untouched."""
    published = warehouse / "published"
    if not published.exists():
        return {}
    return {p.name: p.read_bytes() for p in sorted(published.resolve().iterdir()) if p.is_file()}


def hold_warehouse_in_another_process(warehouse: Path, open_duckdb: bool = False) -> subprocess.Popen:
    """Start a process that holds the warehouse lock (and, if asked, a DuckDB write
    connection, as a running night does) until killed; return once it holds them."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from dagster_project import warehouse_lock
        with warehouse_lock.hold(Path({str(warehouse)!r}), "run"):
            if {open_duckdb!r}:
                import duckdb
                con = duckdb.connect({str(warehouse / 'warehouse.duckdb')!r})
                con.execute("create table if not exists t as select 1 as x")
            print("holding", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    line = proc.stdout.readline()
    assert line.strip() == "holding" and time.monotonic() < deadline, line
    return proc


@contextlib.contextmanager
def held_by_another_process(warehouse: Path) -> Iterator[subprocess.Popen]:
    """The warehouse lock held by another process for the block (killed after it)."""
    holder = hold_warehouse_in_another_process(warehouse)
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait()


# Every setting a run reads from the environment: tests start from none of them.
RUN_ENVIRONMENT = ("CAREJOURNEY_PSEUDO_KEY", "CAREJOURNEY_LANDING_DIR", "CAREJOURNEY_WAREHOUSE_DIR",
                   "CAREJOURNEY_AS_OF", "CAREJOURNEY_PUBLISHED_GROUP", "CAREJOURNEY_ANALYST_GROUP",
                   "CAREJOURNEY_LOCK_WAIT_SECONDS", "DAGSTER_HOME")
