"""SQLFluff over the dbt project (dbt/.sqlfluff: DuckDB dialect, jinja templater, Rust
parser): every model and macro lints clean, so CI (which runs this suite) fails on a
violation and names each one (a macro's SQL is parsed as rendered in the models that call
it: a syntax error there fails). ~30 s of CPU for ~75 files in one process: a plain `pytest` starts it at collection
and runs this test last (conftest.py), under xdist its test starts it; slow (CI still
runs it)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import SqlLint


@pytest.mark.slow
def test_dbt_models_and_macros_lint_clean(sql_lint: SqlLint) -> None:
    returncode, stdout, stderr = sql_lint.result(timeout=900)
    assert returncode in (0, 1), f"sqlfluff could not run:\n{stderr[-3000:]}"
    files = json.loads(stdout)
    assert files, "sqlfluff linted no file: check dbt/.sqlfluff and .sqlfluffignore"
    violations = [
        f"{f['filepath']}:{v['start_line_no']}:{v['start_line_pos']} {v['code']} {v['description']}"
        for f in files for v in f["violations"]
    ]
    assert not violations, (
        f"{len(violations)} SQLFluff violations (fix with `.venv/bin/sqlfluff fix <file>` in dbt/):\n"
        + "\n".join(violations[:200])
    )
