"""Running dbt from the tests: subprocess with tmp target/log paths and the fixture warehouse."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
# Tests meant for full-size data (e.g. every metric has a complete-year value)
# cannot hold on four people; they are switched off here, on only for real builds.
BUILD_VARS = json.dumps({"carejourney_full_size_tests_enabled": False})


def run_dbt(args: list[str], warehouse_dir: Path, work_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CAREJOURNEY_WAREHOUSE_DIR": str(warehouse_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        str(DBT_EXECUTABLE), *args,
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
