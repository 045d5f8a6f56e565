"""Running linkage's SQL on either engine: the few verbs it needs, once per engine.

The SQL itself is written once (dialect.py for what differs); a runner creates the
tables it describes on a DuckDB connection or in a Spark session. Temporary tables
are session-only (DuckDB temp tables; Spark cached temp views); permanent ones are
tables in the warehouse (DuckDB) or in the Spark catalog (Parquet).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

from dagster_project.engine.dialect import DUCKDB, SPARK, SqlDialect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SqlRunner(Protocol):
    dialect: SqlDialect

    def create_table(self, name: str, sql: str, *, temporary: bool) -> None: ...

    def drop(self, name: str) -> None: ...

    def rows(self, sql: str) -> list[tuple]: ...

    def arrow(self, sql: str) -> pa.Table: ...

    def columns(self, relation: str) -> set[str]: ...

    def register_csv_as_text(self, name: str, path: Path) -> None: ...

    def register_text_pairs(self, name: str, columns: tuple[str, str], rows: list[tuple[str, str]]) -> None: ...

    def scalar(self, sql: str) -> Any: ...


class DuckDBRunner:
    dialect = DUCKDB

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def create_table(self, name: str, sql: str, *, temporary: bool) -> None:
        if not temporary and "." in name:
            self.con.execute(f"create schema if not exists {name.split('.')[0]}")
        self.con.execute(f"create or replace {'temp ' if temporary else ''}table {name} as {sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"drop table if exists {name}")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def scalar(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def columns(self, relation: str) -> set[str]:
        schema, name = relation.split(".")
        return {row[0] for row in self.con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name]).fetchall()}

    def register_csv_as_text(self, name: str, path: Path) -> None:
        self.con.execute(f"create or replace temp table {name} as "
                         "select * from read_csv(?, header = true, all_varchar = true)", [str(path)])

    def register_text_pairs(self, name: str, columns: tuple[str, str], rows: list[tuple[str, str]]) -> None:
        """A temp table of two text columns from Python rows (a lookup computed in Python)."""
        table = pa.table({columns[0]: pa.array([r[0] for r in rows], pa.string()),
                          columns[1]: pa.array([r[1] for r in rows], pa.string())})
        self.con.register(f"{name}_arrow", table)
        try:
            self.con.execute(f"create or replace temp table {name} as select * from {name}_arrow")
        finally:
            self.con.unregister(f"{name}_arrow")


class SparkRunner:
    dialect = SPARK

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def create_table(self, name: str, sql: str, *, temporary: bool) -> None:
        frame = self.spark.sql(sql)
        if temporary:
            # cached: later statements read it several times, as DuckDB reads its temp table
            self.spark.catalog.dropTempView(name)
            frame.cache().createOrReplaceTempView(name)
            return
        if "." in name:
            self.spark.sql(f"create schema if not exists {name.split('.')[0]}")
        frame.write.mode("overwrite").format("parquet").saveAsTable(name)

    def drop(self, name: str) -> None:
        if self.spark.catalog.tableExists(name) and "." not in name:
            self.spark.catalog.dropTempView(name)
        else:
            self.spark.sql(f"drop table if exists {name}")

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def scalar(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def arrow(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def columns(self, relation: str) -> set[str]:
        if not self.spark.catalog.tableExists(relation):
            return set()
        return set(self.spark.table(relation).columns)

    def register_csv_as_text(self, name: str, path: Path) -> None:
        import pandas as pd

        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def register_text_pairs(self, name: str, columns: tuple[str, str], rows: list[tuple[str, str]]) -> None:
        schema = f"{columns[0]} string, {columns[1]} string"
        self.spark.createDataFrame(rows, schema=schema).cache().createOrReplaceTempView(name)
