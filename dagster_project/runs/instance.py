"""The Dagster instance `carejourney run` executes in when DAGSTER_HOME is not set.

It is Dagster's ephemeral instance (`DagsterInstance.ephemeral()`: run, event log and
schedules in memory, nothing kept after the process) with a leaner event log. Dagster's
in-memory event log is SQLite, and for every event it stores it opens a new SQLite
connection and issues two PRAGMAs on it, several times per event (the event, its asset
index, its check index), and asks SQLite whether the asset tags table exists before
each asset event. A delivery night stores ~1,200 events (each dbt model's
materialisation and each of its ~240 data tests as an asset check, Dagster's step
events), which cost the Dagster process ~2.6 s CPU (100k people; bench/RESULTS.md).
Here the event log keeps the one connection Dagster's own class already holds open
for the life of the instance, with the same PRAGMA set once, and remembers which
tables exist (a schema created when the instance is, never altered after): the same
tables, rows and reads, without the connection churn. Connections stay serialised by
the storage's own lock, as before; a thread other than the one that opened the held
connection (SQLite allows no other) gets a new connection, as in Dagster's class.

A DAGSTER_HOME instance (a deployment's, with its persistent storage) is used as it is.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def lean_ephemeral_instance() -> Any:
    """Dagster's ephemeral instance with the event log below (as dagster's create_ephemeral_instance builds it)."""
    from dagster._core.instance.instance import DagsterInstance
    from dagster._core.instance.types import InstanceType
    from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
    from dagster._core.run_coordinator import DefaultRunCoordinator
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
    from dagster._core.storage.root import TemporaryLocalArtifactStorage
    from dagster._core.storage.runs import InMemoryRunStorage

    return DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=InMemoryRunStorage(),
        event_storage=_lean_event_log_storage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )


def _lean_event_log_storage() -> Any:
    from dagster._core.storage.event_log import InMemoryEventLogStorage

    class OneConnectionEventLogStorage(InMemoryEventLogStorage):
        """Dagster's in-memory event log on its one held connection (module doc)."""

        def __init__(self, inst_data: Any = None, preload: Any = None) -> None:
            super().__init__(inst_data, preload)
            self._tables_present: dict[str, bool] = {}
            # SQLite lets a connection be used only by the thread that opened it
            self._held_conn_thread = threading.get_ident()
            # what Dagster's _connect sets on each new connection (WAL means nothing in memory)
            self._held_conn.exec_driver_sql("PRAGMA foreign_keys=ON").close()
            self._held_conn.commit()

        @contextmanager
        def _connect(self) -> Iterator[Any]:
            if threading.get_ident() != self._held_conn_thread:   # another thread: Dagster's own way
                with super()._connect() as conn:
                    yield conn
                return
            with self._db_lock, self._held_conn.begin():
                yield self._held_conn

        def has_table(self, table_name: str) -> bool:
            if table_name not in self._tables_present:
                self._tables_present[table_name] = super().has_table(table_name)
            return self._tables_present[table_name]

    return OneConnectionEventLogStorage()
