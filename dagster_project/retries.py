"""Which failures are transient, and asking Dagster to retry those (and only those).

A deterministic failure (a broken model, a failed gate) must stop the run at once;
retrying it only delays the alert. A warehouse file locked by another process
(someone holding a write connection, a previous run still closing) clears by itself.
"""
from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

import dagster as dg
import duckdb

MAX_RETRIES = 3
WAIT_SECONDS = 15
_TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EBUSY, errno.ETXTBSY}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
        return True
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS


@contextlib.contextmanager
def retry_transient(what: str) -> Iterator[None]:
    """Turn a transient error into a Dagster retry request naming what was busy."""
    try:
        yield
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=WAIT_SECONDS) from RuntimeError(
            f"{what} was busy ({exc}); retrying in {WAIT_SECONDS}s"
        )
