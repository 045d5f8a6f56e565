"""One writer at a time: an OS file lock on <warehouse>/carejourney.lock.

`carejourney run` and `carejourney publish` hold it for their whole life. The lock
is fcntl.flock on an open file, so the kernel releases it when the process ends,
however it ends (kill -9 included): a crash never leaves a stale lock. The file
also says who holds it (pid, command, since when) so the second writer, and a
reader refused by DuckDB's own lock, can say so.

The lock is re-entrant within one process: `carejourney run` takes it, then executes
the Dagster job in process, whose WarehouseGuard (resources.py) finds it already
held by this process and goes on; a run the Dagster daemon or UI starts takes it in
its own run worker process for the whole run (released at the run's end, or by the
kernel if the worker dies).

A second writer waits up to CAREJOURNEY_LOCK_WAIT_SECONDS (default 0: not at all)
for the lock, then gives up with exit 2: "another run holds the warehouse since
<time> (pid N)".
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE_NAME = "carejourney.lock"
WAIT_SETTING = "CAREJOURNEY_LOCK_WAIT_SECONDS"
POLL_SECONDS = 0.5
# Warehouses whose lock this process holds now, with how many blocks hold it (re-entrancy).
_HELD_HERE: dict[Path, int] = {}


class LockError(RuntimeError):
    """The warehouse cannot be locked; the message says why and what to do (exit 2)."""


class WarehouseBusy(LockError):
    """Another process holds the warehouse; the message names it and what to do."""


def lock_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / LOCK_FILE_NAME


def wait_seconds_from_env() -> float:
    raw = os.environ.get(WAIT_SETTING, "").strip()
    if not raw:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{WAIT_SETTING}={raw!r} is not a number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{WAIT_SETTING}={raw!r} must be 0 or more seconds")
    return seconds


def holder(warehouse_dir: Path) -> dict | None:
    """Who holds the lock now (pid, command, since), or None if nobody does."""
    path = lock_path(warehouse_dir)
    if not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                return {}
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def held_by_this_process(warehouse_dir: Path) -> bool:
    return _HELD_HERE.get(warehouse_dir.resolve(), 0) > 0


def describe_holder(info: dict | None) -> str:
    if not info:
        return "another run holds the warehouse"
    command = str(info.get("command", "?"))
    # CLI commands are one word (run, publish); a Dagster run names itself ("Dagster run <id> of nightly")
    who = f"`carejourney {command}`" if " " not in command else command
    return (f"another run holds the warehouse since {info.get('since', 'an unknown time')} "
            f"(pid {info.get('pid', '?')}, {who})")


@contextlib.contextmanager
def hold(warehouse_dir: Path, command: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's lock for the block; WarehouseBusy if another process keeps it longer than wait_seconds.

    Re-entrant: a block inside another block of this process holding the same warehouse just goes on."""
    key = warehouse_dir.resolve()
    if held_by_this_process(key):
        _HELD_HERE[key] += 1
        try:
            yield
        finally:
            _HELD_HERE[key] -= 1
        return
    try:
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path(warehouse_dir), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LockError(f"cannot create the lock file {lock_path(warehouse_dir)} ({exc}): check the "
                        "warehouse folder's permissions and free space") from None
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    try:
                        info = json.loads(handle.read() or "{}")
                    except json.JSONDecodeError:
                        info = {}
                    waited = f" (waited {wait_seconds:.0f}s; {WAIT_SETTING} sets how long)" if wait_seconds else \
                        f" (set {WAIT_SETTING} to wait for it)"
                    raise WarehouseBusy(f"{describe_holder(info)}: try again when it has finished{waited}; "
                                        f"the lock is {lock_path(warehouse_dir)}") from None
                time.sleep(POLL_SECONDS)
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": command, "since": since}))
        handle.flush()
        _HELD_HERE[key] = 1
        try:
            yield
        finally:
            _HELD_HERE.pop(key, None)
    finally:
        handle.close()  # closing the file releases the lock
