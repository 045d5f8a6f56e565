"""The engine setting, and the SQL dialect rules that keep Spark from silently misreading
DuckDB SQL (no Spark needed: these check the SQL text and the settings)."""
from __future__ import annotations

import re

import pytest

from dagster_project.engine.dialect import DUCKDB, SPARK
from dagster_project.linkage import splink_dialect, splink_runner, splink_settings
from dagster_project.settings import Settings, SettingsError

KEY = "ab" * 32


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("CAREJOURNEY_ENGINE", "CAREJOURNEY_SPARK_MASTER", "CAREJOURNEY_SPARK_WAREHOUSE_DIR",
                 "CAREJOURNEY_SPARK_CONF"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_duckdb_is_the_default_engine(clean_env, tmp_path):
    settings = Settings.from_env(tmp_path / "l", tmp_path / "w", pseudo_key=KEY)
    assert settings.engine == "duckdb" and not settings.on_spark


def test_spark_settings_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("CAREJOURNEY_ENGINE", "Spark")
    clean_env.setenv("CAREJOURNEY_SPARK_MASTER", "local[4]")
    clean_env.setenv("CAREJOURNEY_SPARK_CONF", '{"spark.driver.memory": "8g"}')
    settings = Settings.from_env(tmp_path / "l", tmp_path / "w", pseudo_key=KEY)
    assert settings.on_spark
    assert settings.spark.master == "local[4]"
    assert settings.spark.conf_dict == {"spark.driver.memory": "8g"}
    assert settings.spark_dir == (tmp_path / "w").resolve() / "spark"


def test_extra_jvm_options_keep_the_metastore_home(clean_env, tmp_path):
    # JVM options in CAREJOURNEY_SPARK_CONF are added to ours: Derby (the local metastore)
    # must keep its home under the Spark directory, or derby.log lands in the working folder
    from dagster_project.engine.spark_session import spark_conf

    clean_env.setenv("CAREJOURNEY_ENGINE", "spark")
    clean_env.setenv("CAREJOURNEY_SPARK_CONF", '{"spark.driver.extraJavaOptions": "-XX:+UseSerialGC", '
                                               '"spark.driver.memory": "8g"}')
    settings = Settings.from_env(tmp_path / "l", tmp_path / "w", pseudo_key=KEY)
    conf = spark_conf(settings)
    assert conf["spark.driver.extraJavaOptions"] == f"-Dderby.system.home={settings.spark_dir} -XX:+UseSerialGC"
    assert conf["spark.driver.memory"] == "8g"
    clean_env.delenv("CAREJOURNEY_SPARK_CONF")
    plain = spark_conf(Settings.from_env(tmp_path / "l", tmp_path / "w", pseudo_key=KEY))
    assert plain["spark.driver.extraJavaOptions"] == f"-Dderby.system.home={settings.spark_dir}"


def _rendered_spark_parameters(cli_vars: dict) -> dict[str, str]:
    """dbt/profiles.yml's Spark session settings as dbt renders them for an invocation."""
    import os

    import yaml
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    from dagster_project.settings import DBT_PROJECT_DIR

    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    set_invocation_context(dict(os.environ))
    return ProfileRenderer(cli_vars).render_data(profile["carejourney"]["outputs"]["spark"])["server_side_parameters"]


def test_dbts_spark_session_gets_every_setting_of_the_run(clean_env, tmp_path):
    # Before, the profile passed on a fixed list of keys: CAREJOURNEY_SPARK_CONF reached the
    # linkage worker but not dbt's session (a driver memory set for a large run was lost there).
    from dagster_project.engine.spark_session import dbt_spark_vars, spark_conf

    clean_env.setenv("CAREJOURNEY_ENGINE", "spark")
    clean_env.setenv("CAREJOURNEY_SPARK_CONF", '{"spark.driver.memory": "3g", "spark.sql.shuffle.partitions": "2"}')
    settings = Settings.from_env(tmp_path / "l", tmp_path / "w", pseudo_key=KEY)
    rendered = _rendered_spark_parameters(dbt_spark_vars(settings))
    assert rendered == {**spark_conf(settings), "spark.sql.adaptive.enabled": "false"}
    assert rendered["spark.driver.memory"] == "3g" and rendered["spark.sql.shuffle.partitions"] == "2"


def test_dbt_run_by_hand_gets_the_runs_spark_defaults(clean_env, tmp_path):
    # dbt/README.md's way: no vars, the warehouse from CAREJOURNEY_WAREHOUSE_DIR. The
    # profile's fallback must agree with what a run would pass for the same warehouse.
    from dagster_project.engine.spark_session import dbt_spark_vars

    clean_env.setenv("CAREJOURNEY_ENGINE", "spark")
    warehouse = (tmp_path / "w").resolve()
    clean_env.setenv("CAREJOURNEY_WAREHOUSE_DIR", str(warehouse))
    run = dbt_spark_vars(Settings.from_env(tmp_path / "l", warehouse, pseudo_key=KEY))["spark_conf"]
    by_hand = _rendered_spark_parameters({})
    # what only the run's Python sessions need: Splink's jar and the workers' Python
    python_only = {"spark.jars", "spark.pyspark.python"}
    assert by_hand == {k: v for k, v in run.items() if k not in python_only}


@pytest.mark.parametrize(("name", "value", "says"), [
    ("CAREJOURNEY_ENGINE", "postgres", "CAREJOURNEY_ENGINE='postgres'"),
    ("CAREJOURNEY_SPARK_CONF", "spark.driver.memory=8g", "CAREJOURNEY_SPARK_CONF is not JSON"),
    ("CAREJOURNEY_SPARK_CONF", '["spark.driver.memory"]', "must be a JSON object"),
])
def test_a_bad_engine_setting_is_refused_naming_it(clean_env, tmp_path, name, value, says):
    clean_env.setenv("CAREJOURNEY_ENGINE", "spark")
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(says)):
        Settings.from_env(tmp_path / "l", tmp_path / "w", pseudo_key=KEY)


def test_spark_literals_keep_their_backslashes():
    # Spark unescapes '\s' to 's': every postcode NULL (issue 17); DuckDB keeps it as written
    assert SPARK.literal("\\s") == "'\\\\s'"
    assert DUCKDB.literal("\\s") == "'\\s'"
    assert "'g'" not in SPARK.regexp_replace_all("x", "\\s")


def _conditions(model: dict) -> list[str]:
    return [level["sql_condition"] for c in model["comparisons"] for level in c["comparison_levels"]]


def test_the_shipped_model_moves_to_spark_with_its_weights():
    model = splink_runner.load_model(splink_runner.MODEL_PATH, 1000)
    moved = splink_dialect.model_for_dialect(model, SPARK)
    for condition in _conditions(moved) + [r["blocking_rule"] for r in moved["blocking_rules_to_generate_predictions"]]:
        assert '"' not in condition, condition          # Spark would read "x_l" as a string
        assert not re.search(r"jaro_winkler_similarity|list_intersect|\blen\(", condition), condition
    weights = [(lv.get("m_probability"), lv.get("u_probability"), lv.get("tf_adjustment_column"))
               for c in model["comparisons"] for lv in c["comparison_levels"]]
    assert weights == [(lv.get("m_probability"), lv.get("u_probability"), lv.get("tf_adjustment_column"))
                       for c in moved["comparisons"] for lv in c["comparison_levels"]]
    assert moved["probability_two_random_records_match"] == model["probability_two_random_records_match"]


def test_a_level_from_an_older_definition_is_translated_or_refused():
    model = {"comparisons": [{"output_column_name": "legacy", "comparison_levels": [
        {"sql_condition": 'jaro_winkler_similarity("a_l", "a_r") >= 0.9'},
        {"sql_condition": 'len(list_intersect("h_l", "h_r")) > 0'},
        {"sql_condition": "ELSE"}]}], "blocking_rules_to_generate_predictions": []}
    moved = splink_dialect.model_for_dialect(model, SPARK)
    assert [c.lower() for c in _conditions(moved)] == [
        "jaro_winkler(a_l, a_r) >= 0.9", "(size(array_intersect(h_l, h_r)) > 0)", "else"]
    model["comparisons"][0]["comparison_levels"][0]["sql_condition"] = "strip_accents(a_l) = a_r"
    with pytest.raises(splink_dialect.ModelDialectError, match="retrain"):
        splink_dialect.model_for_dialect(model, SPARK)


def test_the_python_definition_is_the_same_on_both_engines_but_for_spelling():
    duck, spark = splink_settings.comparisons(DUCKDB), splink_settings.comparisons(SPARK)
    assert [len(c["comparison_levels"]) for c in duck] == [len(c["comparison_levels"]) for c in spark]
    differing = [(d["sql_condition"], s["sql_condition"])
                 for dc, sc in zip(duck, spark, strict=True)
                 for d, s in zip(dc["comparison_levels"], sc["comparison_levels"], strict=True)
                 if d["sql_condition"] != s["sql_condition"]]
    # only the functions the dialect spells differently: Jaro-Winkler, list overlap, the text type
    assert differing and all(re.search(r"jaro_winkler|intersect|as (varchar|string)", d) for d, _ in differing)
