"""`carejourney publish` (plain Python, no Dagster): a failed gate means exit 1 and nothing published."""
from __future__ import annotations

import argparse

from dagster_project.exit_codes import ExitCode
from dagster_project.publish import command


def _args(settings, **extra) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    return parser.parse_args(["publish", "--warehouse", str(settings.warehouse_dir),
                              *[f"--{k.replace('_', '-')}" for k, v in extra.items() if v]])


def test_a_failed_gate_refuses_publication(con, settings, monkeypatch, capsys):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", settings.pseudo_key)
    # two gates keep this quick (each GX validation costs a second); all run in production
    monkeypatch.setattr(command, "GATES", {g: command.GATES[g] for g in ("linkage", "marts_journey")})
    con.execute("update marts.journey set end_date = date '2000-01-01'")  # negative durations
    con.close()
    # --demo: the shared fixture's secret is short (a real run refuses it: tests/hostile)
    assert command.run(_args(settings, demo=True)) == ExitCode.GATE_FAILED
    out = capsys.readouterr()
    assert "FAIL quality gate marts_journey failed" in out.out and "n_negative_durations" in out.out
    assert "PASS quality gate linkage passed" in out.out
    assert "NOT PUBLISHED: 1 gate(s) failed" in out.err
    assert not settings.published_dir.exists()


def test_no_warehouse_cannot_start(settings, monkeypatch, capsys):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", "k")
    assert command.run(_args(settings)) == ExitCode.CANNOT_START
    assert "run `carejourney run` first" in capsys.readouterr().err


def test_a_publish_comes_with_its_report_inside_the_new_version(con, settings, monkeypatch, capsys):
    monkeypatch.setenv("CAREJOURNEY_PSEUDO_KEY", settings.pseudo_key)
    monkeypatch.setattr(command, "GATES", {g: command.GATES[g] for g in ("linkage",)})
    con.close()
    args = _args(settings)
    args.demo = True  # the fixture's secret is a short test one, accepted only by a demo run (keys.py)
    assert command.run(args) == ExitCode.OK
    report = (settings.published_dir / "report" / "index.html").resolve()
    assert report.parent.parent == settings.published_dir.resolve()
    assert f"report {report}" in capsys.readouterr().out
