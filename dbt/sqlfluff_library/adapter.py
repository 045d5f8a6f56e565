"""SQLFluff's stand-in for dbt's `adapter` (dbt/.sqlfluff, library_path).

SQLFluff's jinja templater renders models without dbt, so `adapter.dispatch(...)` in
the portable macros (dbt/macros/portable/) would be undefined there. This resolves a
dispatch the way dbt-duckdb does (duckdb__<name>, else default__<name>), so the linter
sees exactly the DuckDB SQL that `dbt build` compiles. Also used by
tests/test_rules_match_dbt_macros.py to render macros as dbt-duckdb does.
"""
from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise LookupError(f"no duckdb__ or default__ implementation of macro {macro_name!r}")
