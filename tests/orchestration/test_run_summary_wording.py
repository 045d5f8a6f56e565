"""The nightly summary says what happened to the published copy, whichever step failed."""
from pathlib import Path

from dagster_project.exit_codes import ExitCode
from dagster_project.runs.summary import RunSummary
from dagster_project.settings import Settings


def summary(tmp_path: Path, **outcome) -> RunSummary:
    settings = Settings(tmp_path / "landing", tmp_path / "warehouse", None, "k")
    return RunSummary(settings=settings, seconds=1.0, **outcome)


def test_only_the_report_failing_says_published_and_exits_3(tmp_path):
    failed = summary(tmp_path, success=False, published=True,
                     failed_steps=["published__report: ValueError: no metrics"])
    text = failed.text()
    assert failed.exit_code == ExitCode.STEP_CRASHED
    assert "carejourney nightly run: PUBLISHED, BUT A LATER STEP FAILED" in text
    assert "NOT PUBLISHED" not in text and "untouched" not in text
    assert f"published         {tmp_path / 'warehouse' / 'published' / 'carejourney.duckdb'}" in text
    assert "report            NOT WRITTEN" in text and "carejourney report" in text
    assert "exit status       3: a step crashed" in text


def test_a_published_night_names_its_report(tmp_path):
    text = summary(tmp_path, success=True, published=True).text()
    assert f"report            {tmp_path / 'warehouse' / 'published' / 'report' / 'index.html'}" in text
    assert "NOT" not in text


def test_a_night_stopped_before_publish_says_untouched(tmp_path):
    text = summary(tmp_path, success=False, published=False, failed_gates=["a gate"]).text()
    assert "NOT PUBLISHED" in text and "published copy    untouched" in text and "report  " not in text
