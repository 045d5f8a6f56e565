"""system_metrics and its age/sex breakdown are controlled together: once per publish, never a stale result."""
from __future__ import annotations

import duckdb

from dagster_project.publish import core, disclosure


def test_one_publish_controls_system_metrics_and_its_breakdown_once(con, settings, monkeypatch):
    calls = []
    original = disclosure.control_system_metrics_with_breakdown

    def counted(metrics, breakdown, connection):
        calls.append(len(metrics))
        return original(metrics, breakdown, connection)

    monkeypatch.setattr(disclosure, "control_system_metrics_with_breakdown", counted)
    core._last_controlled.clear()
    core.publish(settings, con)
    assert len(calls) == 1
    # and what each table got is what controlling them together gives
    metrics = con.execute("select * from marts.system_metrics").df()
    breakdown = con.execute(f"select * from marts.{core.BREAKDOWN_TABLE}").df()
    expected_metrics, expected_breakdown = original(metrics, breakdown, con)
    published = duckdb.connect(str(settings.published_db), read_only=True)
    for table, expected in (("system_metrics", expected_metrics), (core.BREAKDOWN_TABLE, expected_breakdown)):
        got = published.execute(f"select * from marts.{table}").df()
        assert len(got) == len(expected) and int(got["suppressed"].sum()) == int(expected["suppressed"].sum())
    published.close()


def test_other_inputs_are_controlled_afresh(con):
    metrics = con.execute("select * from marts.system_metrics").df()
    breakdown = con.execute(f"select * from marts.{core.BREAKDOWN_TABLE}").df()
    first = core._controlled_together(metrics, breakdown, con)[0]
    shown = int(first.index[~first["suppressed"]][0])
    changed = metrics.copy()
    changed.loc[shown, "numerator"] = changed.loc[shown, "numerator"] + 100
    again = core._controlled_together(changed, breakdown, con)[0]
    assert again.loc[shown, "numerator"] != first.loc[shown, "numerator"]
    assert again.equals(disclosure.control_system_metrics_with_breakdown(changed, breakdown, con)[0])
    # the same rows in another order come back in that order, not the remembered one's
    reordered = metrics.iloc[::-1].reset_index(drop=True)
    assert core._controlled_together(reordered, breakdown, con)[0].equals(
        disclosure.control_system_metrics_with_breakdown(reordered, breakdown, con)[0])
