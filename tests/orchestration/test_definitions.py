"""The code location as Dagster loads it: graph, groups, checks, job, schedule."""
import dagster as dg
import pytest

from dagster_project.definitions import defs
from dagster_project.jobs import NIGHTLY_JOB_NAME

PUBLISHED = dg.AssetKey(["published", "carejourney"])


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_asset_groups_per_layer(graph):
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    assert {"ingest", "dbt_staging", "linkage", "dbt_intermediate", "dbt_marts", "publish"} <= groups


def test_graph_runs_ingest_then_staging_then_linkage_then_marts_then_publish(graph):
    upstream = graph.get_ancestor_asset_keys(PUBLISHED)
    for key in (["raw_current", "hes_apc"], ["staging", "stg_hes_apc__episodes"], ["linkage", "record_person"],
                ["intermediate", "int_hospital__spells"], ["marts", "journey"], ["marts", "system_metrics"]):
        assert dg.AssetKey(key) in upstream, key


def test_every_blocking_gate_guards_publication(graph):
    """A blocking check only stops assets downstream of the asset it checks, so every
    gated asset must be upstream of the published copy (or a failed gate would not stop it)."""
    upstream_of_publish = graph.get_ancestor_asset_keys(PUBLISHED)
    blocking = [spec for check in defs.asset_checks or [] for spec in check.check_specs if spec.blocking]
    assert blocking, "no blocking gates defined"
    for spec in blocking:
        assert spec.asset_key in upstream_of_publish, f"gate {spec.name} on {spec.asset_key} does not guard publish"


def test_nightly_job_runs_every_layer_in_process_but_not_training():
    job = defs.resolve_job_def(NIGHTLY_JOB_NAME)
    assert job.executor_def.name == "in_process"
    ops = {node.name for node in job.graph.node_defs}
    assert {"dbt_before_linkage", "dbt_after_linkage"} <= ops
    assert any("ingest" in name for name in ops) and any("publish" in name for name in ops)
    assert not any("splink_model" in name for name in ops), "training must not run nightly"


def test_schedule_runs_nightly_at_two_london_time():
    schedule = defs.resolve_schedule_def("nightly_0200_london")
    assert schedule.job_name == NIGHTLY_JOB_NAME
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/London"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_sensor_targets_the_nightly_job():
    sensor = defs.resolve_sensor_def("new_delivery_sensor")
    assert sensor.job_name == NIGHTLY_JOB_NAME


def test_linkage_training_is_its_own_job():
    names = {job.name for job in defs.resolve_all_job_defs()}
    assert NIGHTLY_JOB_NAME in names
    assert any("train" in name for name in names), names


def test_the_report_is_drawn_after_publish(graph):
    report = dg.AssetKey(["published", "report"])
    assert PUBLISHED in graph.get_ancestor_asset_keys(report)
    assert report in defs.resolve_job_def(NIGHTLY_JOB_NAME).asset_layer.executable_asset_keys


def test_the_warehouse_is_compacted_weekly_and_by_the_nightly_job_only_past_its_safety_share(graph):
    from dagster_project.compaction.assets import JOB_NAME, KEY, CompactionConfig, compaction_job
    from dagster_project.compaction.compact import COMPACT_AT_DEAD_SHARE, NIGHTLY_SAFETY_SHARE

    # last in the nightly job, with the asset's default: the safety share
    assert dg.AssetKey(["published", "report"]) in graph.get_ancestor_asset_keys(KEY)
    assert KEY in defs.resolve_job_def(NIGHTLY_JOB_NAME).asset_layer.executable_asset_keys
    assert CompactionConfig().at_dead_share == NIGHTLY_SAFETY_SHARE > COMPACT_AT_DEAD_SHARE
    # its own job, weekly, with the compaction share
    job = defs.resolve_job_def(JOB_NAME)
    assert job.asset_layer.executable_asset_keys == {KEY}
    config = compaction_job.config
    assert config["ops"]["ops__warehouse_compaction"]["config"]["at_dead_share"] == COMPACT_AT_DEAD_SHARE
    schedule = defs.resolve_schedule_def("warehouse_compaction_sunday_1300_london")
    assert schedule.job_name == JOB_NAME and schedule.cron_schedule == "0 13 * * 0"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
