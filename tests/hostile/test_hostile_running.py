"""Hostile and careless running (issue 11 items 4, 6, 9; issue 14 item 1).

What an operator or a local user can do to a night, and what each gets:
  - files made readable by every local user           -> everything private (0700/0600)
  - a published group configured                      -> that group reads published/ only
  - a weak secret                                     -> exit 2 (unless --demo)
  - a changed secret                                  -> exit 2 unless --rotate-key
  - a second run while one runs                       -> exit 2 naming the holder
  - `query --internal` while a run writes             -> exit 2 with a message, no traceback
  - a full disk during the gates or the job           -> exit 3 with a summary naming the step
  - a night with nothing new                          -> exit 0 in seconds, published copy untouched
The nightly job itself is replaced by a fake (running_fixtures.FakeNightlyJob) where
only the decision around it is under test; the real job's side of these rules is
checked on the end-to-end run (tests/orchestration/test_nightly_e2e.py).
"""
from __future__ import annotations

import errno
import grp
import os
import signal
import stat
import sys
from pathlib import Path

import duckdb
import pytest
from running_fixtures import (
    OTHER_STRONG_KEY,
    QUALITY_TESTS,
    RUN_ENVIRONMENT,
    STRONG_KEY,
    FakeNightlyJob,
    hold_warehouse_in_another_process,
    make_landing,
    published_bytes,
)

from dagster_project import keys
from dagster_project.cli import main
from dagster_project.exit_codes import ExitCode
from dagster_project.linkage import stable_ids
from dagster_project.runs import execution

sys.path.insert(0, str(QUALITY_TESTS))
from warehouse_fixture import PSEUDO_KEY as FIXTURE_KEY
from warehouse_fixture import build_warehouse


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in RUN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    umask = os.umask(0o022)  # what a careless shell gives; the commands must not rely on it
    yield
    os.umask(umask)


@pytest.fixture
def fake_job(monkeypatch) -> FakeNightlyJob:
    job = FakeNightlyJob()
    monkeypatch.setattr(execution, "execute", job)
    return job


@pytest.fixture
def tiny_warehouse(tmp_path, monkeypatch) -> Path:
    """The quality tests' hand-made warehouse (marts built), keyed with their short secret."""
    from dagster_project.publish import command
    from dagster_project.quality import gx_runner

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    build_warehouse(warehouse / "warehouse.duckdb").close()
    monkeypatch.setattr(gx_runner, "BUILD_DATA_DOCS", False)
    # two gates keep this quick (each GX validation costs a second); all run in production
    monkeypatch.setattr(command, "GATES", {g: command.GATES[g] for g in ("linkage", "marts_journey")})
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", FIXTURE_KEY)
    return warehouse


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(landing: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--landing", str(landing), "--warehouse", str(warehouse), *extra])


# ---- item 4: private by default -----------------------------------------------------------

def test_publish_leaves_nothing_readable_by_other_users(tiny_warehouse, capsys):
    # a warehouse made before the rule: world-readable quarantine copy and demo key
    (tiny_warehouse / "quarantine").mkdir()
    (tiny_warehouse / "quarantine" / "hes_apc_20240101.csv").write_text("NEWNHSNO\n9434765919\n")
    (tiny_warehouse / "quarantine" / "hes_apc_20240101.csv").chmod(0o644)
    (tiny_warehouse / "duckdb_tmp").mkdir()   # a killed run's spill file: rows of the warehouse
    (tiny_warehouse / "duckdb_tmp" / "duckdb_temp_storage_S32K-0.tmp").write_bytes(b"x" * 4096)
    (tiny_warehouse / "warehouse.duckdb").chmod(0o644)
    tiny_warehouse.chmod(0o755)
    assert main(["publish", "--warehouse", str(tiny_warehouse), "--demo"]) == ExitCode.OK, capsys.readouterr()
    assert mode(tiny_warehouse) == 0o700
    assert not (tiny_warehouse / "duckdb_tmp").exists()   # publish holds the lock: removed
    for path in tiny_warehouse.rglob("*"):
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path} is {oct(mode(path))}, not {oct(expected)}"
    assert (tiny_warehouse / "published" / "carejourney.duckdb").exists()


def test_published_group_reads_published_copy_only(tiny_warehouse, monkeypatch, capsys):
    group = grp.getgrgid(os.getgid())
    monkeypatch.setenv("CAREJOURNEY_PUBLISHED_GROUP", group.gr_name)
    assert main(["publish", "--warehouse", str(tiny_warehouse), "--demo"]) == ExitCode.OK, capsys.readouterr()
    version = (tiny_warehouse / "published").resolve()
    assert mode(version) == 0o750 and version.stat().st_gid == group.gr_gid
    for path in version.rglob("*"):  # the copies, their Parquet files and the report (written after the swap)
        assert mode(path) == (0o750 if path.is_dir() else 0o640) and path.stat().st_gid == group.gr_gid, path
    # the folders above: pass through, never list; the warehouse itself: owner only
    assert mode(tiny_warehouse) == 0o710 and tiny_warehouse.stat().st_gid == group.gr_gid
    assert mode(version.parent) == 0o710
    assert mode(tiny_warehouse / "warehouse.duckdb") == 0o600


def test_an_unknown_group_is_refused_before_anything_changes(tiny_warehouse, monkeypatch, capsys):
    monkeypatch.setenv("CAREJOURNEY_PUBLISHED_GROUP", "no-such-group-carejourney")
    assert main(["publish", "--warehouse", str(tiny_warehouse), "--demo"]) == ExitCode.CANNOT_START
    assert "CAREJOURNEY_PUBLISHED_GROUP='no-such-group-carejourney': no such group" in capsys.readouterr().err
    assert not (tiny_warehouse / "published").exists()


def test_a_quarantined_copy_is_private_whatever_the_landing_mode(tmp_path):
    from dagster_project.ingest import loader
    from dagster_project.ingest.discovery import discover

    landing = make_landing(tmp_path)
    (landing / "hes_apc" / "hes_apc_20240630.csv").chmod(0o644)
    [landing_file] = [f for f in discover(landing) if f.file_name == "hes_apc_20240630.csv"]
    outcome = loader._quarantine(landing_file, tmp_path / "warehouse" / "quarantine")
    target = tmp_path / "warehouse" / "quarantine" / "hes_apc_20240630.csv"
    assert outcome == f"copied to {target}" and mode(target) == 0o600


def test_a_demo_key_file_is_private(tmp_path):
    from dagster_project.settings import Settings

    Settings.from_env(warehouse_dir=tmp_path / "wh", demo=True)
    assert mode(tmp_path / "wh" / ".demo_pseudo_key") == 0o600


# ---- item 6: keys ---------------------------------------------------------------------------

@pytest.mark.parametrize("secret", ["x", "test-secret", "a" * 64, "0123456789abcdef" * 4,
                                    "c0ffee5a7b3d2468ace13579bdf0246", "correct horse battery staple " * 2])
def test_a_weak_secret_is_refused(secret, tmp_path, monkeypatch, fake_job, capsys):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", secret)
    assert run(make_landing(tmp_path), tmp_path / "warehouse") == ExitCode.CANNOT_START
    err = capsys.readouterr().err
    assert "CAREJOURNEY_PSEUDO_KEY is too weak" in err and "openssl rand -hex 32" in err
    assert fake_job.calls == 0 and not (tmp_path / "warehouse" / "warehouse.duckdb").exists()


@pytest.mark.parametrize("make", [lambda: STRONG_KEY, lambda: __import__("secrets").token_urlsafe(32),
                                  lambda: __import__("base64").b64encode(os.urandom(32)).decode()])
def test_a_random_secret_of_32_bytes_is_accepted(make):
    assert keys.secret_problem(make()) is None


def test_a_weak_secret_runs_only_as_a_demo(tmp_path, monkeypatch, fake_job, capsys):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", "x")
    assert run(make_landing(tmp_path), tmp_path / "warehouse", "--demo") == ExitCode.OK
    assert "accepted only because of --demo" in capsys.readouterr().out and fake_job.calls == 1


def test_a_changed_secret_stops_publication_unless_rotated(tmp_path, monkeypatch, fake_job, capsys):
    landing, warehouse = make_landing(tmp_path), tmp_path / "warehouse"
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    assert run(landing, warehouse) == ExitCode.OK
    before = published_bytes(warehouse)
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", OTHER_STRONG_KEY)
    capsys.readouterr()
    assert run(landing, warehouse) == ExitCode.CANNOT_START
    err = capsys.readouterr().err
    assert "not the key this warehouse was keyed with" in err and "--rotate-key" in err
    assert fake_job.calls == 1 and published_bytes(warehouse) == before
    assert run(landing, warehouse, "--rotate-key") == ExitCode.OK
    assert "KEY ROTATED" in capsys.readouterr().out and fake_job.calls == 2
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    rotations = con.execute("select from_fingerprint, to_fingerprint from ops.key_rotation").fetchall()
    active = con.execute("select fingerprint from ops.key_fingerprint where active").fetchall()
    stored = con.execute("select string_agg(fingerprint, '') from ops.key_fingerprint").fetchone()[0]
    con.close()
    assert rotations == [(keys.fingerprint(STRONG_KEY), keys.fingerprint(OTHER_STRONG_KEY))]
    assert active == [(keys.fingerprint(OTHER_STRONG_KEY),)]
    assert STRONG_KEY not in stored and OTHER_STRONG_KEY not in stored
    # the new key is now the warehouse's: the next night runs without --rotate-key
    assert run(landing, warehouse, "--full-refresh") == ExitCode.OK


def test_publish_refuses_a_changed_secret(tiny_warehouse, monkeypatch, capsys):
    assert main(["publish", "--warehouse", str(tiny_warehouse), "--demo"]) == ExitCode.OK
    before = published_bytes(tiny_warehouse)
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", OTHER_STRONG_KEY)
    assert main(["publish", "--warehouse", str(tiny_warehouse)]) == ExitCode.CANNOT_START
    assert "not the key this warehouse was keyed with" in capsys.readouterr().err
    assert published_bytes(tiny_warehouse) == before


def test_the_publish_step_itself_refuses_a_warehouse_keyed_with_another_key(tiny_warehouse):
    """A Dagster UI or schedule run (no `carejourney run` start checks): linkage re-keyed with a
    new secret, so person_key matches it, but the warehouse's recorded key is another one."""
    from dagster_project.publish.core import PublishError, publish
    from dagster_project.settings import Settings

    settings = Settings.from_env(warehouse_dir=tiny_warehouse, pseudo_key=FIXTURE_KEY)
    con = duckdb.connect(str(settings.warehouse_db))
    try:
        keys.check_and_record(con, OTHER_STRONG_KEY, rotate=False)
        with pytest.raises(PublishError, match="not the key this warehouse was keyed with"):
            publish(settings, con)
    finally:
        con.close()
    assert not settings.published_dir.exists()


def test_new_person_ids_are_salted_per_warehouse(tmp_path):
    import hashlib

    import pandas as pd

    current = pd.DataFrame([("hes_apc", "RXX|L001", 0)], columns=["source_dataset", "source_person_id", "cluster"])
    previous = pd.DataFrame(columns=["source_dataset", "source_person_id", "person_id"])
    cons = [duckdb.connect(str(tmp_path / f"w{i}.duckdb")) for i in (1, 2)]
    salts = [stable_ids.warehouse_id_salt(con) for con in cons]
    assert salts[0] == stable_ids.warehouse_id_salt(cons[0])       # kept, not re-made
    assert salts[0] != salts[1] and len(salts[0]) == 64            # random, 32 bytes
    assert keys.fingerprint(STRONG_KEY) not in salts                # not derived from the secret
    ids = [stable_ids.assign_ids(current, previous, set(), salt).person_id[0] for salt in salts]
    unsalted = "P" + hashlib.sha256(b"hes_apc\x1fRXX|L001").hexdigest()[:16]
    assert ids[0] != ids[1] and unsalted not in ids
    # an id already issued stays with its people whatever the salt
    kept = pd.DataFrame([("hes_apc", "RXX|L001", "Pold")], columns=previous.columns)
    assert stable_ids.assign_ids(current, kept, {"Pold"}, salts[1]).person_id[0] == "Pold"
    for con in cons:
        con.close()


# ---- item 9: one writer at a time, readers told, every failure has its code ----------------------

def test_a_killed_runs_spill_files_are_removed_by_the_next_run_only_once_it_holds_the_lock(
        tmp_path, monkeypatch, fake_job, capsys):
    landing, warehouse = make_landing(tmp_path), tmp_path / "warehouse"
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    spill_folder = warehouse / "duckdb_tmp"   # Settings.duckdb_temp_dir
    spill_folder.mkdir(parents=True)
    left = spill_folder / "duckdb_temp_storage_S32K-0.tmp"   # as DuckDB names them
    left.write_bytes(b"x" * 4096)
    holder = hold_warehouse_in_another_process(warehouse)   # a live run: its spill files are its own
    try:
        assert run(landing, warehouse) == ExitCode.CANNOT_START
        assert left.exists() and fake_job.calls == 0
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    capsys.readouterr()
    assert run(landing, warehouse) == ExitCode.OK and fake_job.calls == 1
    assert not spill_folder.exists()
    assert f"Removed 1 DuckDB spill file(s) a run that did not finish left in {spill_folder}" in capsys.readouterr().out


def test_a_second_run_is_refused_while_one_holds_the_warehouse(tmp_path, monkeypatch, fake_job, capsys):
    landing, warehouse = make_landing(tmp_path), tmp_path / "warehouse"
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    assert run(landing, warehouse) == ExitCode.OK
    before = published_bytes(warehouse)
    holder = hold_warehouse_in_another_process(warehouse)
    try:
        capsys.readouterr()
        assert run(landing, warehouse, "--full-refresh") == ExitCode.CANNOT_START
        err = capsys.readouterr().err
        assert "another run holds the warehouse since 20" in err and f"(pid {holder.pid}," in err
        assert fake_job.calls == 1 and published_bytes(warehouse) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # a crashed holder: the kernel releases its lock
        holder.wait()
    assert run(landing, warehouse, "--full-refresh") == ExitCode.OK and fake_job.calls == 2


def test_query_internal_during_a_run_says_so(tmp_path, capsys):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    holder = hold_warehouse_in_another_process(warehouse, open_duckdb=True)
    try:
        code = main(["query", "--internal", "select 1", "--warehouse", str(warehouse)])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == ExitCode.CANNOT_START
    assert "is being written: another run holds the warehouse since" in err and f"pid {holder.pid}" in err
    assert "drop --internal" in err and "Traceback" not in err


def test_a_full_disk_during_the_gates_exits_3_naming_the_gate(tiny_warehouse, monkeypatch, capsys):
    from dagster_project.publish import command

    assert main(["publish", "--warehouse", str(tiny_warehouse), "--demo"]) == ExitCode.OK
    before = published_bytes(tiny_warehouse)

    def disk_full(name, con, settings):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(settings.data_docs_dir / "index.html"))

    monkeypatch.setattr(command, "run_gate", disk_full)
    capsys.readouterr()
    assert main(["publish", "--warehouse", str(tiny_warehouse), "--demo"]) == ExitCode.STEP_CRASHED
    err = capsys.readouterr().err
    assert "quality gate linkage crashed: No space left on device (ENOSPC)" in err
    assert "exit status       3: a step crashed" in err and "Traceback" not in err
    assert published_bytes(tiny_warehouse) == before


def test_a_full_disk_inside_the_job_exits_3_with_a_summary(tmp_path, monkeypatch, capsys):
    def disk_full(settings):
        print("dagster writes its log here", flush=True)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(execution, "run_job", disk_full)
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    assert run(make_landing(tmp_path), tmp_path / "warehouse") == ExitCode.STEP_CRASHED
    out = capsys.readouterr().out
    assert "NOT PUBLISHED" in out and "step FAILED       the nightly job: No space left on device" in out
    assert "exit status       3" in out


def test_a_log_on_a_full_disk_stops_writing_instead_of_raising():
    log = execution.TolerantLog(Path("/dev/full"))
    log.write("x" * 100_000)
    log.flush()
    log.close()
    assert log.failure is not None and log.failure.errno == errno.ENOSPC


def test_a_gate_stopped_by_a_full_disk_is_a_crash_not_a_gate_failure(tmp_path):
    """The real Dagster path: a blocking check that raises OSError(ENOSPC)."""
    import dagster as dg

    from dagster_project.runs.summary import summarise
    from dagster_project.settings import Settings

    @dg.asset
    def marts_thing():
        return 1

    @dg.asset_check(asset=marts_thing, blocking=True)
    def a_gate():  # no annotation: `from __future__ import annotations` hides dg from Dagster
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    defs = dg.Definitions(assets=[marts_thing], asset_checks=[a_gate], jobs=[dg.define_asset_job("night")])
    result = defs.resolve_job_def("night").execute_in_process(raise_on_error=False)
    settings = Settings(tmp_path, tmp_path / "warehouse", None, STRONG_KEY)
    summary = summarise(result, settings, 0.0)
    assert summary.exit_code == ExitCode.STEP_CRASHED
    assert any("No space left on device (ENOSPC)" in step for step in summary.failed_steps), summary.failed_steps


# ---- issue 14 item 1: nothing new, nothing done ---------------------------------------------

def test_nothing_new_is_a_no_op_and_any_change_runs(tmp_path, monkeypatch, fake_job, capsys):
    landing, warehouse = make_landing(tmp_path), tmp_path / "warehouse"
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    delivery = landing / "hes_apc" / "hes_apc_20240630.csv"
    original = delivery.read_bytes()

    def night(*extra: str) -> tuple[int, str]:
        code = run(landing, warehouse, *extra)
        return code, capsys.readouterr().out

    assert night()[0] == ExitCode.OK and fake_job.calls == 1
    version, before = (warehouse / "published").resolve(), published_bytes(warehouse)
    code, out = night()
    assert code == ExitCode.OK and fake_job.calls == 1, out
    assert "nothing new since run 1; published copy unchanged" in out
    assert (warehouse / "published").resolve() == version and published_bytes(warehouse) == before

    first_seen = delivery.stat()
    delivery.write_bytes(original + b"E2\n")                       # a changed file
    assert night()[0] == ExitCode.OK and fake_job.calls == 2
    delivery.write_bytes(original)                                  # the older file restored,
    os.utime(delivery, ns=(first_seen.st_atime_ns, first_seen.st_mtime_ns))   # as `cp -p` would
    assert night()[0] == ExitCode.OK and fake_job.calls == 3
    assert night()[0] == ExitCode.OK and fake_job.calls == 3       # ... and then nothing new again
    assert night("--as-of", "2024-06-30")[0] == ExitCode.OK and fake_job.calls == 4   # a changed setting
    assert night("--as-of", "2024-06-30")[0] == ExitCode.OK and fake_job.calls == 4
    assert night("--as-of", "2024-06-30", "--full-refresh")[0] == ExitCode.OK and fake_job.calls == 5
    (landing / "hes_apc" / "hes_apc_20240731.csv").write_bytes(original)   # a new file
    assert night("--as-of", "2024-06-30")[0] == ExitCode.OK and fake_job.calls == 6

    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    outcomes = [r[0] for r in con.execute("select outcome from ops.run_log order by run_id").fetchall()]
    con.close()
    assert outcomes == ["published", "nothing_new", "published", "published", "nothing_new", "published",
                        "nothing_new", "published", "published"]


def test_the_landing_fingerprint_reads_only_files_ingest_has_not_hashed(tmp_path, monkeypatch):
    """A new listing hashes only the files missing from ingest's cache (same path, size and
    mtime), with the same digest as hashing them all; ingest then takes the new file's hash
    from this process instead of reading it again, and keeps it in ops.file_hashes."""
    from dagster_project.ingest import discovery
    from dagster_project.ingest.schema import ensure_schema
    from dagster_project.runs import nothing_new

    landing = make_landing(tmp_path)
    delivery = landing / "hes_apc" / "hes_apc_20240630.csv"
    (landing / "hes_apc" / "hes_apc_20240731.csv").write_bytes(delivery.read_bytes() + b"E2\n")
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    read: list[Path] = []
    real_sha = discovery.sha256_of
    monkeypatch.setattr(discovery, "sha256_of", lambda path: read.append(path) or real_sha(path))
    monkeypatch.setattr(discovery, "_MEMORY_HASHES", {})
    every = nothing_new.landing_fingerprint(landing)
    assert sorted(read) == files
    key = lambda p: (str(p), p.stat().st_size, p.stat().st_mtime_ns)
    cache = {key(p): real_sha(p) for p in files[1:]}
    cache[(str(files[0]), files[0].stat().st_size, files[0].stat().st_mtime_ns + 1)] = "0" * 64   # not this file
    read.clear()
    monkeypatch.setattr(discovery, "_MEMORY_HASHES", {})
    assert nothing_new.landing_fingerprint(landing, {}, cache) == every
    assert read == [files[0]]                                    # only the file the cache does not hold
    wrong = {k: "0" * 64 for k in cache} | {key(files[0]): "0" * 64}
    assert nothing_new.landing_fingerprint(landing, {}, wrong)[0] != every[0]   # the cache is what it used

    monkeypatch.setattr(discovery, "sha256_of", lambda path: pytest.fail(f"ingest read {path} again"))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    found = [f for f in discovery.discover(landing) if f.path == files[0]]
    discovery.fingerprint(found, con, remember=True)
    assert found[0].sha256 == real_sha(files[0])
    assert discovery.cached_hashes(con) == {key(files[0]): real_sha(files[0])}
    con.close()


def test_files_hashed_side_by_side_keep_their_order(tmp_path, monkeypatch):
    """The landing's files are hashed on several threads; each hash still goes with its own
    file, in the order given (a swap would tie a delivery's rows to another's hash)."""
    from dagster_project.ingest import discovery

    monkeypatch.setattr(discovery, "_HASHING_THREADS", 3)
    # sizes that finish out of order: the big files first, hashed while the small ones end
    paths = []
    for i, size in enumerate([3_000_000, 10, 2_000_000, 0, 50, 1_000_000, 7]):
        paths.append(tmp_path / f"file_{i}.csv")
        paths[-1].write_bytes(bytes([i]) * size)
    assert discovery.sha256_of_each(paths) == [discovery.sha256_of(p) for p in paths]
    assert len(set(discovery.sha256_of_each(paths))) == len(paths)
    with pytest.raises(FileNotFoundError):
        discovery.sha256_of_each([*paths, tmp_path / "gone.csv"])


def test_a_night_after_a_failed_one_runs_again(tmp_path, monkeypatch, fake_job, capsys):
    from dagster_project.runs.summary import RunSummary

    landing, warehouse = make_landing(tmp_path), tmp_path / "warehouse"
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    assert run(landing, warehouse) == ExitCode.OK
    monkeypatch.setattr(execution, "execute", lambda settings: RunSummary(
        settings=settings, seconds=0, success=False, published=False, failed_gates=["a gate"]))
    assert run(landing, warehouse, "--full-refresh") == ExitCode.GATE_FAILED
    monkeypatch.setattr(execution, "execute", fake_job)
    assert run(landing, warehouse) == ExitCode.OK and fake_job.calls == 2   # not skipped: the last night failed


def test_a_night_killed_half_way_is_not_trusted_by_the_next(tmp_path, monkeypatch, fake_job):
    """A --full-refresh killed while rebuilding leaves the warehouse half-built: the next
    night, though nothing changed, must run in full rather than skip."""
    landing, warehouse = make_landing(tmp_path), tmp_path / "warehouse"
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    assert run(landing, warehouse) == ExitCode.OK

    def killed(settings):
        raise KeyboardInterrupt  # as good as kill -9 for what gets recorded: nothing after this

    monkeypatch.setattr(execution, "execute", killed)
    with pytest.raises(KeyboardInterrupt):
        run(landing, warehouse, "--full-refresh")
    monkeypatch.setattr(execution, "execute", fake_job)
    assert run(landing, warehouse) == ExitCode.OK and fake_job.calls == 2
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    assert [r[0] for r in con.execute("select outcome from ops.run_log order by run_id").fetchall()] == [
        "published", "running", "published"]
    con.close()


def test_a_warehouse_that_cannot_be_locked_cannot_start(tmp_path, monkeypatch, fake_job, capsys):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", STRONG_KEY)
    (tmp_path / "warehouse").write_text("not a folder")
    assert run(make_landing(tmp_path), tmp_path / "warehouse") == ExitCode.CANNOT_START
    assert "cannot create the lock file" in capsys.readouterr().err and fake_job.calls == 0
