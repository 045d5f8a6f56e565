"""SQLFluff over the dbt project (dbt/.sqlfluff: DuckDB dialect, jinja templater):
every model and macro lints clean, so CI (which runs this suite) fails on a violation
and names each one. ~70 s of CPU for ~60 files, hence slow (CI still runs it)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt"
SQLFLUFF = Path(sys.executable).with_name("sqlfluff")


@pytest.mark.slow
def test_dbt_models_and_macros_lint_clean() -> None:
    completed = subprocess.run(
        [str(SQLFLUFF), "lint", "models", "macros", "--format", "json", "--processes", "2",
         "--disable-progress-bar", "--nocolor"],
        check=False, cwd=DBT_PROJECT, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode in (0, 1), f"sqlfluff could not run:\n{completed.stderr[-3000:]}"
    files = json.loads(completed.stdout)
    assert files, "sqlfluff linted no file: check dbt/.sqlfluff and .sqlfluffignore"
    violations = [
        f"{f['filepath']}:{v['start_line_no']}:{v['start_line_pos']} {v['code']} {v['description']}"
        for f in files for v in f["violations"]
    ]
    assert not violations, (
        f"{len(violations)} SQLFluff violations (fix with `.venv/bin/sqlfluff fix <file>` in dbt/):\n"
        + "\n".join(violations[:200])
    )
