"""dbt macros and the linkage input models rendered in Python, without running dbt.

The rules live in dbt (macros, models); Python sometimes needs the same SQL: ingest's
NHS-number cleaning and postcode-directory check, the identifier scan of publish and the
opt-out check apply `clean_nhs_number`, `compact_postcode`, `normalise_postcode` and
`source_person_id` (dbt/macros/normalise.sql); the Splink comparisons use the
date-of-birth and postcode pair predicates of dbt/macros/linkage_rules.sql, and linkage
outside a nightly dbt build (`link()` in the tests and benchmarks, `carejourney
train-linkage`) builds linkage.source_person from the models in
dbt/models/intermediate/linkage/. Rendering them here, with plain Jinja, gives
exactly the SQL dbt compiles (the same files, `adapter.dispatch` resolved as dbt-duckdb
or dbt-spark resolves it) in milliseconds, with no dbt parse, profile or warehouse.

Only what those files use is provided: the macros of `MACRO_FILES`, `ref`/`source`
(resolved by the caller), `config` (ignored: the caller decides where the SQL goes),
`var` (dbt_project.yml's vars), `target.type` and dbt's `type_string`; a model renders
as a full build, as on Spark (`carejourney_is_incremental()`, of incremental_by_person.sql,
is false).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import yaml
from jinja2 import pass_context
from jinja2.runtime import Context

from dagster_project.settings import DBT_PROJECT_DIR, ENGINE_DUCKDB, ENGINE_SPARK

MACROS_DIR = DBT_PROJECT_DIR / "macros"
# The macro files Python renders (the linkage rules and models, the normalisation rules, the
# financial year, the confidence intervals publish recomputes, the linkage models' incremental
# switch), each dispatch macro's file included.
MACRO_FILES = (
    "linkage_rules.sql", "normalise.sql", "incremental_by_record.sql", "incremental_by_identity.sql",
    "metrics/financial_year.sql", "metrics/confidence_intervals.sql",
    *(f"portable/{name}" for name in ("aggregates.sql", "arrays.sql", "dates.sql", "text.sql", "types.sql")))
_DISPATCH_PREFIXES = {ENGINE_DUCKDB: ("duckdb__", "default__"), ENGINE_SPARK: ("spark__", "default__")}
_TYPE_STRING = {ENGINE_DUCKDB: "varchar", ENGINE_SPARK: "string"}


class RenderError(RuntimeError):
    """A macro or model could not be rendered (the message names it)."""


@pass_context
def _dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    engine = context["target"].type
    for prefix in _DISPATCH_PREFIXES[engine]:
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise RenderError(f"no {' or '.join(_DISPATCH_PREFIXES[engine])}{macro_name} macro in {MACROS_DIR}")


def _raise_compiler_error(message: str) -> None:
    raise RenderError(message)


@cache
def _project_vars() -> dict[str, Any]:
    return (yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text()) or {}).get("vars", {})


def project_var(name: str) -> Any:
    """A var of dbt/dbt_project.yml (its one home), for Python that applies the same rule."""
    try:
        return _project_vars()[name]
    except KeyError:
        raise RenderError(f"no var {name!r} in {DBT_PROJECT_DIR / 'dbt_project.yml'}") from None


@cache
def _macro_source() -> str:
    return "".join((MACROS_DIR / name).read_text() for name in MACRO_FILES)


def _environment(engine: str) -> jinja2.Environment:
    if engine not in _DISPATCH_PREFIXES:
        raise RenderError(f"unknown engine {engine!r}: expected one of {', '.join(_DISPATCH_PREFIXES)}")
    environment = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)
    project_vars = _project_vars()

    def var(name: str, default: Any = None) -> Any:
        return project_vars.get(name, default)

    environment.globals.update({
        "adapter": SimpleNamespace(dispatch=_dispatch),
        "return": lambda value: value,
        "target": SimpleNamespace(type=engine),
        "var": var,
        "config": lambda *args, **kwargs: "",
        "carejourney_is_incremental": lambda: False,
        "dbt": SimpleNamespace(type_string=lambda: _TYPE_STRING[engine]),
        "exceptions": SimpleNamespace(raise_compiler_error=_raise_compiler_error),
    })
    return environment


@cache
def _macro_module(engine: str) -> Any:
    """The macro files compiled once per engine (ingest renders rules for every file it loads)."""
    return _environment(engine).from_string(_macro_source()).module


def clear_caches() -> None:
    """Forget the macro files read so far (for a test that points MACROS_DIR elsewhere)."""
    _macro_source.cache_clear()
    _macro_module.cache_clear()


def render_macro(name: str, *args: Any, engine: str = ENGINE_DUCKDB) -> str:
    """The SQL of `{{ name(*args) }}` as dbt compiles it on `engine` (duckdb | spark)."""
    module = _macro_module(engine)
    macro = getattr(module, name, None)
    if macro is None:
        raise RenderError(f"no macro {name!r} in {', '.join(MACRO_FILES)} under {MACROS_DIR}")
    return str(macro(*args)).strip()


def render_model(path: Path, ref: Callable[[str], str], source: Callable[[str, str], str],
                 engine: str = ENGINE_DUCKDB) -> str:
    """A model's SQL as dbt compiles it on `engine`, with `ref(name)` and `source(source, table)`
    resolved by the caller (the relation names its SQL should read)."""
    template = _environment(engine).from_string(_macro_source() + path.read_text())
    try:
        return template.render(ref=ref, source=source).strip()
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{path}: {exc} (dagster_project/dbt_macros.py provides only what the "
                          "linkage models use)") from exc
