"""Run settings, in one place: paths, the pseudonymisation secret, the as-of date.

Read from CLI options first, then the environment (../shared/contract/README.md):
CAREJOURNEY_LANDING_DIR, CAREJOURNEY_WAREHOUSE_DIR, CAREJOURNEY_AS_OF, CAREJOURNEY_LINKAGE_MODEL,
CAREJOURNEY_PSEUDO_KEY, and CAREJOURNEY_PUBLISHED_GROUP / CAREJOURNEY_ANALYST_GROUP (the
group that may read published/ or analyst/; see private_files.py), and the engine that
builds the models and links people: CAREJOURNEY_ENGINE (duckdb | spark) with its
CAREJOURNEY_SPARK_* settings (SparkSettings below; README "Running on Spark"), and how much memory
DuckDB may hold: CAREJOURNEY_DUCKDB_MEMORY_LIMIT (duckdb_connection.py). Every module asks
this object for paths instead of building them itself, so the layout of the warehouse folder is written down once.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message says which and what to do."""


ENGINE_DUCKDB = "duckdb"
ENGINE_SPARK = "spark"
ENGINES = (ENGINE_DUCKDB, ENGINE_SPARK)
DEFAULT_SPARK_MASTER = "local[2]"
# DuckDB's own default is 80% of RAM per database instance, and the nightly run has two at
# once (the run's process and dbt's): at 1M people the run's tree peaked at 6.6 GB in the dbt
# marts step. Capped, DuckDB spills to the warehouse's temp folder instead (bench/RESULTS.md).
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"
_MEMORY_LIMIT = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


_YES, _NO = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def dbt_unit_tests_from_env() -> bool:
    """CAREJOURNEY_DBT_UNIT_TESTS: the night's dbt builds include the project's unit tests
    (each gates its model, as `dbt build` does). Off by default: unit tests pin the SQL
    logic on fixtures, which a night's data cannot change (dbt's advice: run them in
    development and CI); on, a run proves the logic on this engine and environment, e.g.
    the first Spark nights of a deployment, or CI's two-engine test. Anything else is refused."""
    value = (os.environ.get("CAREJOURNEY_DBT_UNIT_TESTS") or "").strip().lower()
    if value not in _YES + _NO:
        raise SettingsError(f"CAREJOURNEY_DBT_UNIT_TESTS={value!r} is neither on nor off: set it to 1 (run the "
                            "dbt unit tests inside the night's dbt builds) or 0 / leave it unset (do not)")
    return value in _YES


def duckdb_memory_limit_from_env() -> str:
    """CAREJOURNEY_DUCKDB_MEMORY_LIMIT (e.g. 3GB, 2500MB, 4GiB), else the default; anything
    DuckDB would not read as an amount of memory is refused here, before a run starts."""
    value = (os.environ.get("CAREJOURNEY_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT).strip()
    if not _MEMORY_LIMIT.match(value):
        raise SettingsError(f"CAREJOURNEY_DUCKDB_MEMORY_LIMIT={value!r} is not an amount of memory: set it "
                            f"to a number and a unit, e.g. 3GB or 2500MB (or leave it unset for "
                            f"{DEFAULT_DUCKDB_MEMORY_LIMIT})")
    return value


@dataclass(frozen=True)
class SparkSettings:
    """Where a Spark run computes (CAREJOURNEY_SPARK_*; used only when the engine is spark).

    master: CAREJOURNEY_SPARK_MASTER (default local[2]); warehouse_dir:
    CAREJOURNEY_SPARK_WAREHOUSE_DIR (default <warehouse>/spark: the Spark tables' files and
    the local metastore); conf: CAREJOURNEY_SPARK_CONF, a JSON object of extra Spark
    settings (e.g. {"spark.driver.memory": "8g"}), applied last so it can override ours.
    """

    master: str = DEFAULT_SPARK_MASTER
    warehouse_dir: Path | None = None
    conf: tuple[tuple[str, str], ...] = ()

    @property
    def conf_dict(self) -> dict[str, str]:
        return dict(self.conf)

    @classmethod
    def from_env(cls, warehouse: Path) -> SparkSettings:
        env = os.environ
        raw_conf = env.get("CAREJOURNEY_SPARK_CONF") or "{}"
        try:
            conf = json.loads(raw_conf)
        except json.JSONDecodeError as exc:
            raise SettingsError(
                f"CAREJOURNEY_SPARK_CONF is not JSON ({exc}): set it to a JSON object of Spark "
                'settings, e.g. {"spark.driver.memory": "8g"}') from exc
        if not isinstance(conf, dict):
            raise SettingsError("CAREJOURNEY_SPARK_CONF must be a JSON object of Spark settings, "
                                f'e.g. {{"spark.driver.memory": "8g"}}; got {raw_conf!r}')
        spark_dir = env.get("CAREJOURNEY_SPARK_WAREHOUSE_DIR")
        return cls(master=env.get("CAREJOURNEY_SPARK_MASTER") or DEFAULT_SPARK_MASTER,
                   warehouse_dir=Path(spark_dir).resolve() if spark_dir else warehouse / "spark",
                   conf=tuple(sorted((str(k), str(v)) for k, v in conf.items())))


def engine_from_env(value: str | None = None) -> str:
    """The engine: the argument, else CAREJOURNEY_ENGINE, else duckdb; anything else refused."""
    engine = (value or os.environ.get("CAREJOURNEY_ENGINE") or ENGINE_DUCKDB).strip().lower()
    if engine not in ENGINES:
        raise SettingsError(f"CAREJOURNEY_ENGINE={engine!r} is not an engine this project runs on: "
                            f"set it to {' or '.join(ENGINES)} (or leave it unset for {ENGINE_DUCKDB})")
    return engine


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    as_of: dt.date | None      # None: the latest event date in the data
    pseudo_key: str
    demo: bool = False
    published_group: str | None = None   # may read published/ (and nothing else); None: owner only
    analyst_group: str | None = None     # may read analyst/ (and nothing else); None: owner only
    linkage_model: Path | None = None   # CAREJOURNEY_LINKAGE_MODEL (linkage/model_store.py)
    engine: str = ENGINE_DUCKDB         # CAREJOURNEY_ENGINE: where dbt and linkage compute
    spark: SparkSettings = SparkSettings()
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # CAREJOURNEY_DUCKDB_MEMORY_LIMIT
    dbt_unit_tests: bool = False        # CAREJOURNEY_DBT_UNIT_TESTS: the night's dbt builds run them too

    @property
    def on_spark(self) -> bool:
        return self.engine == ENGINE_SPARK

    @property
    def spark_dir(self) -> Path:
        """The Spark tables' files and the local metastore (CAREJOURNEY_SPARK_WAREHOUSE_DIR)."""
        return self.spark.warehouse_dir or self.warehouse_dir / "spark"

    # ---- layout of the warehouse folder (one place)
    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def duckdb_temp_dir(self) -> Path:
        """Where DuckDB spills what does not fit under its memory limit (every connection
        of a run: duckdb_connection.py); inside the warehouse, as private as it."""
        return self.warehouse_dir / "duckdb_tmp"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / "carejourney.duckdb"

    @property
    def analyst_dir(self) -> Path:
        """Person-level pseudonymised marts for approved analysts (outputs.md)."""
        return self.warehouse_dir / "analyst"

    @property
    def analyst_db(self) -> Path:
        return self.analyst_dir / "carejourney.duckdb"

    @property
    def quarantine_dir(self) -> Path:
        return self.warehouse_dir / "quarantine"

    @property
    def data_docs_dir(self) -> Path:
        return self.warehouse_dir / "gx_data_docs"

    @property
    def reports_dir(self) -> Path:
        return self.warehouse_dir / "reports"

    @property
    def reader_groups(self) -> set[str]:
        """The groups that may pass through the warehouse folder to a shared copy."""
        return {g for g in (self.published_group, self.analyst_group) if g}

    @property
    def warehouse_linkage_model(self) -> Path:
        """The deployment's own trained linkage model (written by `train-linkage`)."""
        return self.warehouse_dir / "linkage" / "model.json"

    @classmethod
    def from_env(
        cls,
        landing_dir: str | Path | None = None,
        warehouse_dir: str | Path | None = None,
        as_of: str | dt.date | None = None,
        pseudo_key: str | None = None,
        demo: bool = False,
        require_key: bool = True,
        engine: str | None = None,
    ) -> Settings:
        """Settings from arguments, else environment, else defaults.

        require_key=False is for callers that only need paths (the sensor, `query`):
        they never see a secret, and must not make up a demo one.
        """
        env = os.environ
        landing = Path(landing_dir or env.get("CAREJOURNEY_LANDING_DIR") or PROJECT_ROOT / "data" / "landing")
        warehouse = Path(warehouse_dir or env.get("CAREJOURNEY_WAREHOUSE_DIR") or PROJECT_ROOT / "data" / "warehouse")
        as_of_value = as_of or env.get("CAREJOURNEY_AS_OF") or None
        if isinstance(as_of_value, str):
            try:
                as_of_value = dt.date.fromisoformat(as_of_value)
            except ValueError as exc:
                raise SettingsError(
                    f"as-of date {as_of_value!r} is not YYYY-MM-DD: fix --as-of or CAREJOURNEY_AS_OF"
                ) from exc
        key = pseudo_key or env.get("CAREJOURNEY_PSEUDO_KEY")
        if not key and not require_key:
            key = ""
        elif not key:
            if not demo:
                raise SettingsError(
                    "CAREJOURNEY_PSEUDO_KEY is not set: the published person_key is an HMAC of the "
                    "person id and needs the deployment's secret. Set it in the environment "
                    "(or use --demo for a demonstration run, which makes one up and says so)."
                )
            key = _demo_key(warehouse)
        model = env.get("CAREJOURNEY_LINKAGE_MODEL") or None
        engine = engine_from_env(engine)
        return cls(landing.resolve(), warehouse.resolve(), as_of_value, key, demo,
                   published_group=env.get("CAREJOURNEY_PUBLISHED_GROUP") or None,
                   analyst_group=env.get("CAREJOURNEY_ANALYST_GROUP") or None,
                   linkage_model=Path(model).resolve() if model else None,
                   engine=engine, duckdb_memory_limit=duckdb_memory_limit_from_env(),
                   dbt_unit_tests=dbt_unit_tests_from_env(),
                   spark=SparkSettings.from_env(warehouse.resolve()) if engine == ENGINE_SPARK else SparkSettings())


def _demo_key(warehouse: Path) -> str:
    """A made-up secret for demo runs, kept beside the warehouse so keys stay stable."""
    path = warehouse / ".demo_pseudo_key"
    if path.exists():
        return path.read_text().strip()
    warehouse.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created 0600 whatever the umask: it keys every person_key of this warehouse.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    print(f"DEMO RUN: no CAREJOURNEY_PSEUDO_KEY set; made up a demo secret in {path}. "
          "Never use this for real data.", flush=True)
    return key
