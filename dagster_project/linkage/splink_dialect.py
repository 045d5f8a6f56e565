"""A trained Splink model moved to another engine's SQL dialect, weights untouched.

A model JSON carries its comparison conditions in the SQL it was trained on (DuckDB:
`sql_dialect: duckdb`). Splink parses them with the predicting engine's dialect, so on
Spark a DuckDB condition is wrong or fails: "x_l" reads as a string literal there, and
jaro_winkler_similarity / list_intersect do not exist. Each level's condition is
rebuilt for the target dialect; m and u probabilities, term-frequency settings and
the prior are carried over unchanged, so the engines score every pair the same.

A level whose DuckDB condition is the project's own (splink_settings.comparisons, the
definition it was trained from) takes that definition's condition for the target
dialect. A level from another definition (a model trained with older code) is
translated with sqlglot, with the DuckDB-only functions this project uses renamed;
a condition that still names a DuckDB-only function is refused with a message.
"""
from __future__ import annotations

import copy
from typing import Any

import sqlglot
from sqlglot import exp

from dagster_project.dbt_macros import render_macro
from dagster_project.engine.dialect import DUCKDB, SqlDialect
from dagster_project.linkage import splink_settings

ELSE = "ELSE"
# DuckDB functions with no Spark namesake, as sqlglot parses them.
_DUCKDB_ONLY = ("jaro_winkler_similarity", "list_intersect", "list_has_any", "strftime", "strip_accents")


class ModelDialectError(ValueError):
    """A model's condition cannot be expressed in the target engine's SQL."""


def normalised(condition: str, read: str = "duckdb") -> str:
    """A condition's meaning, spelled one way: parsed, identifiers unquoted, lower case."""
    if condition.strip().upper() == ELSE:
        return ELSE
    tree = sqlglot.parse_one(condition, read=read)
    for identifier in tree.find_all(exp.Identifier):
        identifier.set("quoted", False)
    return tree.sql(dialect="duckdb").lower()


def _translated(condition: str, dialect: SqlDialect) -> str:
    """A DuckDB condition from outside the project's definition, in the target dialect."""
    tree = sqlglot.parse_one(condition, read="duckdb")
    for identifier in tree.find_all(exp.Identifier):
        identifier.set("quoted", False)

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.JarowinklerSimilarity):
            return sqlglot.parse_one(dialect.jaro_winkler(node.this.sql(), node.expression.sql()), read=dialect.name)
        inner = node.this.this if isinstance(node, exp.GT) and isinstance(node.this, exp.Length) else None
        if inner is not None and node.expression.sql() == "0" and (
                isinstance(inner, exp.ArrayIntersect)
                or (isinstance(inner, exp.Anonymous) and inner.name.lower() == "list_intersect")):
            lists = inner.expressions
            if len(lists) == 2:
                overlap = render_macro("arrays_share_element", lists[0].sql(), lists[1].sql(), engine=dialect.name)
                return sqlglot.parse_one(overlap, read=dialect.name)
        return node

    text = tree.transform(rename).sql(dialect=dialect.name)
    leftover = [name for name in _DUCKDB_ONLY if name in text.lower()]
    if leftover:
        raise ModelDialectError(
            f"the model's condition {condition!r} uses {', '.join(leftover)}, which {dialect.name} lacks: "
            "retrain the model with this version (`carejourney train-linkage`) so its conditions "
            "come from splink_settings.py, which spells them for every engine")
    return text


def model_for_dialect(model: dict[str, Any], dialect: SqlDialect) -> dict[str, Any]:
    """The model with every comparison condition and blocking rule in `dialect`."""
    if dialect == DUCKDB:
        return model
    ours_duckdb = {c["output_column_name"]: c for c in splink_settings.comparisons(DUCKDB)}
    ours_target = {c["output_column_name"]: c for c in splink_settings.comparisons(dialect)}
    moved = copy.deepcopy(model)
    for comparison in moved["comparisons"]:
        name = comparison["output_column_name"]
        definition = {normalised(level["sql_condition"]): target["sql_condition"]
                      for level, target in zip(ours_duckdb.get(name, {}).get("comparison_levels", []),
                                               ours_target.get(name, {}).get("comparison_levels", []),
                                               strict=True)}
        for level in comparison["comparison_levels"]:
            condition = level["sql_condition"]
            if condition.strip().upper() == ELSE:
                continue
            level["sql_condition"] = definition.get(normalised(condition)) or _translated(condition, dialect)
    moved["blocking_rules_to_generate_predictions"] = [
        {**rule, "blocking_rule": _translated(rule["blocking_rule"], dialect), "sql_dialect": dialect.name}
        for rule in moved.get("blocking_rules_to_generate_predictions", [])]
    moved["sql_dialect"] = dialect.name
    return moved
