"""The `dbt` a run's dbt steps execute: it hands the command to the run's worker.

dagster-dbt runs a dbt executable as a subprocess and reads dbt's JSON event lines from
its stdout (dbt/assets.py). The executable is a small script the run's worker writes
(engine/run_worker.py: RunWorker.dbt_executable) that calls `main` here: it sends its
argv, working directory and environment (the DBT_* variables dagster-dbt sets: target
and log path, JSON log format, ...) to the worker over the worker's Unix socket, writes
the event lines dbt prints there to its own stdout as they come, and exits with dbt's
exit code (0 ok, 1 failures, 2 error). dbt itself runs inside the worker (dbtRunner),
already imported; on Spark in the worker's Spark session's JVM, so no JVM starts here.

Standard library only: this starts once per dbt step, and must start fast.
"""
from __future__ import annotations

import json
import os
import socket
import sys

# The worker ends a dbt command's output with this line; a NUL never occurs in dbt's JSON lines.
EXIT_PREFIX = b"\0carejourney-dbt-exit "
EXIT_ERROR = 2  # dbt's own code for "dbt could not run" (dbt.cli.exceptions: UnhandledError)


def main(socket_path: str, log_path: str, argv: list[str]) -> int:
    request = {"kind": "dbt", "argv": argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(socket_path)
    except OSError as exc:
        print(f"the run's worker does not answer at {socket_path} ({exc}): dbt did not run; "
              f"the worker's log is {log_path}", file=sys.stderr)
        return EXIT_ERROR
    with conn, conn.makefile("rb") as replies:
        conn.sendall(json.dumps(request).encode() + b"\n")
        out = sys.stdout.buffer
        for line in replies:
            if line.startswith(EXIT_PREFIX):
                return int(line[len(EXIT_PREFIX):])
            out.write(line)
            out.flush()
    print(f"the run's worker ended while dbt ran: its log is {log_path}", file=sys.stderr)
    return EXIT_ERROR
