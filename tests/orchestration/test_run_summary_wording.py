"""The nightly summary says what happened to the published copy, whichever step failed."""
import json
from pathlib import Path

from dagster_project.dbt.assets import dbt_target_dir
from dagster_project.exit_codes import ExitCode
from dagster_project.runs.summary import RunSummary, dbt_failures
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


def test_publish_refusing_in_the_nightly_job_is_a_gate_exit_1(tmp_path):
    """Publish's own checks (an identifier found, opted-out rows) stop publication like a gate:
    the nightly job exits 1 as `carejourney publish` does, not 3 (a crash)."""
    from types import SimpleNamespace

    from dagster._utils.error import SerializableErrorInfo

    from dagster_project.runs.summary import summarise

    refusal = SerializableErrorInfo("marts.journey.provider_code: 7 row(s) hold a NHS number", [], "PublishError")
    wrapped = SerializableErrorInfo("Error occurred while executing op published_carejourney", [],
                                    "DagsterExecutionStepExecutionError", cause=refusal)
    crash = SerializableErrorInfo("division by zero", [], "ZeroDivisionError")

    def result(error):
        event = SimpleNamespace(step_key="published_carejourney", event_specific_data=SimpleNamespace(error=error))
        return SimpleNamespace(success=False, get_asset_check_evaluations=lambda: [],
                               get_step_failure_events=lambda: [event], get_asset_materialization_events=lambda: [])

    settings = Settings(tmp_path / "landing", tmp_path / "warehouse", None, "k")
    refused = summarise(result(wrapped), settings, 0.0)
    assert refused.exit_code == ExitCode.GATE_FAILED
    assert refused.failed_gates == ["published_carejourney: publish refused: PublishError: "
                                    "marts.journey.provider_code: 7 row(s) hold a NHS number"]
    assert summarise(result(crash), settings, 0.0).exit_code == ExitCode.STEP_CRASHED


def test_a_failed_dbt_unit_test_is_named_in_plain_text(tmp_path):
    # dbt colours a unit test's diff with ANSI escapes, inside run_results.json too
    settings = Settings(tmp_path / "landing", tmp_path / "warehouse", None, "k")
    target = dbt_target_dir(settings)
    target.mkdir(parents=True)
    message = ("\x1b[32mactual\x1b[0m differs from \x1b[31mexpected\x1b[0m:\n\n"
               "\x1b[0;1m@@\x1b[0m ,person_id\n\x1b[32;1m+++\x1b[0m,p3\n\x1b[31;1m---\x1b[0m,p2")
    (target / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "unit_test.carejourney.int_person__opted_out.opted_out_people_from_their_records",
         "status": "fail", "message": message},
        {"unique_id": "model.carejourney.journey", "status": "success", "message": "OK"}]}))
    assert dbt_failures(settings) == [
        "opted_out_people_from_their_records fail: actual differs from expected: @@ ,person_id +++,p3 ---,p2"]
