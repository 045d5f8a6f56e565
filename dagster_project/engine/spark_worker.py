"""The Spark steps of a Spark run, each in its own short-lived process.

`python -m dagster_project.engine.spark_worker <step> <request.json>`. A local Spark run
keeps its catalog in an embedded Derby metastore that one JVM at a time may open, and
dbt-spark's `session` method opens its own JVM inside the dbt subprocess: so Spark
work never runs in the Dagster process beside it, but here, one step per process.
`run_step` (in the Dagster process) starts it and turns a failure into an error that
names the step and carries the worker's last lines.

Step `linkage`: the Splink scores on Spark, handed to DuckDB as Parquet
(exchange.linkage_dir): the Splink input's nodes and the scored pairs. It reads the
identities, linkage.source_person, from the Spark catalog (the table dbt's model
int_linkage__source_person built there with the dbt half before linkage). Clustering and
stable ids run in the Dagster process (linkage/link.py), as on DuckDB.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from dagster_project.settings import ENGINE_SPARK, Settings, SparkSettings

STEP_LINKAGE = "linkage"


class SparkStepError(RuntimeError):
    """A Spark step failed; the message names it and ends with the worker's output."""


def request_for(settings: Settings, **extra: object) -> dict:
    return {"landing_dir": str(settings.landing_dir), "warehouse_dir": str(settings.warehouse_dir),
            "spark": {"master": settings.spark.master, "warehouse_dir": str(settings.spark_dir),
                      "conf": dict(settings.spark.conf)}, **extra}


def settings_from_request(request: dict) -> Settings:
    spark = request["spark"]
    return Settings(Path(request["landing_dir"]), Path(request["warehouse_dir"]), None, "",
                    engine=ENGINE_SPARK,
                    spark=SparkSettings(master=spark["master"], warehouse_dir=Path(spark["warehouse_dir"]),
                                        conf=tuple(sorted(spark["conf"].items()))))


def run_step(settings: Settings, step: str, log_dir: Path, **extra: object) -> dict:
    """Run a step in a worker process; its result (a JSON object). SparkStepError if it fails."""
    log_dir.mkdir(parents=True, exist_ok=True)
    request_path = log_dir / f"spark-{step}-request.json"
    result_path = log_dir / f"spark-{step}-result.json"
    log_path = log_dir / f"spark-{step}.log"
    result_path.unlink(missing_ok=True)
    request_path.write_text(json.dumps({**request_for(settings, **extra), "result": str(result_path)}))
    with log_path.open("w") as log:
        done = subprocess.run([sys.executable, "-m", __name__, step, str(request_path)],
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0 or not result_path.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise SparkStepError(f"Spark step {step!r} failed (exit {done.returncode}); its log is {log_path}:\n{tail}")
    return json.loads(result_path.read_text())


def _linkage(settings: Settings, request: dict) -> dict:
    from dagster_project.engine import exchange
    from dagster_project.engine.spark_session import start_session
    from dagster_project.engine.sql_runner import SparkRunner
    from dagster_project.linkage import splink_runner
    from dagster_project.linkage.link import score_with
    from dagster_project.linkage.model_store import ModelChoice
    from dagster_project.linkage.source_person import SOURCE_PERSON

    spark = start_session(settings)
    try:
        spark.sparkContext.setCheckpointDir(str(settings.spark_dir / "checkpoints"))
        runner = SparkRunner(spark)
        if not runner.columns(SOURCE_PERSON):
            raise RuntimeError(f"Spark linkage: no table {SOURCE_PERSON} in the Spark catalog; the dbt half "
                               "before linkage builds it (dbt model int_linkage__source_person): run it first")
        n_identities = runner.scalar(f"select count(*) from {SOURCE_PERSON}")
        choice = ModelChoice(Path(request["model_path"]), request["model_origin"])
        scored = score_with(runner, choice, lambda model: splink_runner.predict_edges_on_spark(spark, model))
        out = exchange.linkage_dir(settings)
        shutil.rmtree(out, ignore_errors=True)  # never a previous run's pairs beside this run's identities
        out.mkdir(parents=True)
        pq.write_table(scored.nodes, out / "nodes.parquet")
        pq.write_table(scored.edges, out / "edges.parquet")
        (out / "model.json").write_text(json.dumps(scored.model))
        result = {"identities": n_identities, "pairs_scored": scored.edges.num_rows, "seconds": scored.seconds}
        (out / "result.json").write_text(json.dumps(result))
        return result
    finally:
        spark.stop()


STEPS = {STEP_LINKAGE: _linkage}


def main(argv: list[str]) -> int:
    step, request_path = argv
    request = json.loads(Path(request_path).read_text())
    result = STEPS[step](settings_from_request(request), request)
    Path(request["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
