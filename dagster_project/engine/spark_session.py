"""The Spark session of a Spark run, configured in one place.

All of a Spark run's Spark work runs in one process, the run's Spark worker
(engine/run_worker.py), in the one session start_session gives it: the linkage step
directly, dbt in process through dbt-spark's `session` method, whose
`SparkSession.builder...getOrCreate()` (with dbt_spark_vars' settings) finds that session
and never stops it. Locally the catalog is a Hive metastore in an embedded Derby database
under the Spark directory (Settings.spark_dir), which one JVM at a time may open: nothing
else opens it while the worker lives.
Splink's Spark backend needs its similarity functions (jaro_winkler, ...) from the jar
bundled inside the splink package: it goes on spark.jars from there (nothing downloads).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_project.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "carejourney"


def splink_jar() -> Path:
    """Splink's bundled Scala similarity UDFs for this Spark version (inside the splink package)."""
    from splink.backends.spark import similarity_jar_location

    jar = Path(similarity_jar_location())
    if not jar.is_file():
        raise FileNotFoundError(f"Splink's similarity jar {jar} is missing from the installed splink package: "
                                "reinstall splink (the Spark linkage needs it; nothing may download it)")
    return jar


def metastore_url(spark_dir: Path) -> str:
    return f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true"


def spark_conf(settings: Settings) -> dict[str, str]:
    """Spark settings of every session of this run (dbt's too: dbt_spark_vars), extra conf last.

    JVM options in the extra conf (spark.driver.extraJavaOptions) are added after ours, not
    instead of them: the metastore's Derby home stays under the Spark directory."""
    spark_dir = settings.spark_dir
    extra = settings.spark.conf_dict
    java_options = " ".join(filter(None, (f"-Dderby.system.home={spark_dir}",
                                          extra.pop("spark.driver.extraJavaOptions", ""))))
    conf = {
        "spark.master": settings.spark.master,
        "spark.app.name": APP_NAME,
        "spark.sql.warehouse.dir": str(spark_dir / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": metastore_url(spark_dir),
        "spark.jars": str(splink_jar()),
        # Derby writes derby.log into the working directory unless told otherwise.
        "spark.driver.extraJavaOptions": java_options,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        # no console progress bar: it would go to the worker's log between dbt's steps' output
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.pyspark.python": sys.executable,
    }
    conf.update(extra)
    return conf


# dbt's statements only (the linkage step sets it back: run_worker._linkage): adaptive
# execution off. With it, tasks of two metric unit tests' plans (fixture unions under
# metric_rows) failed to deserialise (ClassCastException on UnionExec.children, Spark
# 4.3.0); without it the same SQL runs and gives the rows.
DBT_SESSION_CONF = {"spark.sql.adaptive.enabled": "false"}


def dbt_spark_vars(settings: Settings) -> dict[str, dict[str, str]]:
    """What dbt's `spark` target needs from this run (the var `spark_conf`; dbt/profiles.yml
    gives every key of it to dbt's session): the run's Spark settings, extra conf
    (CAREJOURNEY_SPARK_CONF) included, so a dbt run by hand is configured as the run's
    worker; DBT_SESSION_CONF first, so the extra conf can override it too. In the run's
    worker dbt's getOrCreate finds the worker's session and sets what may change in a
    live session (the SQL settings: DBT_SESSION_CONF); the linkage step sets them back."""
    return {"spark_conf": {**DBT_SESSION_CONF, **spark_conf(settings)}}


# CAREJOURNEY_SPARK_MASTER=databricks: a Databricks cluster through Databricks Connect
# (README "Running on Spark"; not tested here: no cluster in CI).
DATABRICKS_MASTER = "databricks"


def on_databricks(settings: Settings) -> bool:
    return settings.spark.master == DATABRICKS_MASTER


def start_session(settings: Settings) -> SparkSession:
    """A Spark session with this run's settings and Hive catalog (the caller stops it);
    on Databricks, the Databricks Connect session its own configuration describes."""
    if on_databricks(settings):
        try:
            from databricks.connect import DatabricksSession
        except ImportError as exc:
            raise RuntimeError("CAREJOURNEY_SPARK_MASTER=databricks needs databricks-connect (the version of the "
                               "cluster's runtime) installed and configured (DATABRICKS_HOST, ..._CLUSTER_ID, "
                               "a token): README 'Running on Spark'") from exc
        return DatabricksSession.builder.getOrCreate()
    from pyspark.sql import SparkSession

    settings.spark_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_problem(settings: Settings | None = None) -> str | None:
    """Why a Spark run cannot start on this machine (no pyspark, no Java), or None."""
    import importlib.util
    import os
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return ("CAREJOURNEY_ENGINE=spark but pyspark is not installed: install the project's `spark` extra "
                "(pip install -e '.[spark]'), or unset CAREJOURNEY_ENGINE to run on DuckDB")
    if settings is not None and on_databricks(settings):
        return None  # Databricks Connect runs no local JVM
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        return ("CAREJOURNEY_ENGINE=spark but no Java runtime was found (JAVA_HOME unset and no `java` on PATH): "
                "install Java 17 or 21, or unset CAREJOURNEY_ENGINE to run on DuckDB")
    return None
