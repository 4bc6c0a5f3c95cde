"""`webshop load --target spark`: the same nightly batches as loader.py, appended to Parquet
tables in a local Spark warehouse instead of PostgreSQL (issue 14, the Spark port).

The raw tables are `<raw>.<table>` in Spark's catalog (a Hive metastore in embedded Derby),
with the contract's columns and types (contract.TABLES, mapped by SPARK_TYPES), stored as
Parquet. Spark starts with the `server_side_parameters` of the dbt profile's `spark`
output, from the project directory, exactly as dbt-spark's session method starts it, so
dbt finds the tables where the loader put them. Derby admits one process at a time: the
loader stops Spark before it returns, and cannot run while dbt does.

Bookkeeping lives next to the raw tables, in `webshop_loader` (Parquet too): `config` (the
generator settings), `batch` (one row per delivery, written after the delivery's rows) and
`state` (the generator's snapshot after the last loaded day, replaced by each load).
Parquet appends are not transactional: a load interrupted in the middle of a day leaves
rows the `batch` ledger does not list, and the next load refuses to go on.

One day is held in memory at a time: simulated, appended table by table, forgotten.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml
from py4j.protocol import Py4JError
from pyspark import SparkContext
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from webshop import contract, names
from webshop.generator import GeneratorConfig, Simulation
from webshop.loader import (
    DayReport,
    LoadError,
    check_same,
    config_from_json,
    config_to_json,
    simulation_at,
)

# What Spark raises (its own errors, and the JVM's through py4j): one line for the user.
SPARK_ERRORS = (PySparkException, Py4JError)

META_SCHEMA = "webshop_loader"
PROFILE = "webshop"
TARGET = "spark"

# PostgreSQL type of the contract -> Spark SQL type. timestamptz is an instant: Spark's
# TIMESTAMP is one too (shown in spark.sql.session.timeZone, UTC in the profile).
SPARK_TYPES = {
    "bigint": "BIGINT",
    "integer": "INT",
    "text": "STRING",
    "boolean": "BOOLEAN",
    contract.MONEY: "DECIMAL(12,2)",
    contract.TIMESTAMP: "TIMESTAMP",
}

# The bookkeeping tables, as Spark DDL (also the schemas their rows are written with).
META_TABLES = {
    "config": "settings STRING",
    "batch": "day INT, delivery INT, extracted_at TIMESTAMP, rows STRING",
    "state": "day INT, snapshot BINARY",
}


def profile_parameters(project_dir: Path) -> dict[str, str]:
    """The `server_side_parameters` of the `spark` output in profiles.yml (DBT_PROFILES_DIR,
    else the project directory, else ~/.dbt), its env_var() calls rendered as dbt does."""
    candidates = [
        Path(os.environ["DBT_PROFILES_DIR"]) if os.environ.get("DBT_PROFILES_DIR") else None,
        project_dir,
        Path.home() / ".dbt",
    ]
    found = [d / "profiles.yml" for d in candidates if d and (d / "profiles.yml").is_file()]
    if not found:
        raise LoadError(
            "no profiles.yml (DBT_PROFILES_DIR, the project or ~/.dbt): `make setup` copies "
            "profiles.yml.example, whose `spark` output the Spark loader reads"
        )
    path = found[0]

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise LoadError(f"{path}: env_var {name!r} is not set and has no default")
        return value

    outputs = ((yaml.safe_load(path.read_text()) or {}).get(PROFILE) or {}).get("outputs") or {}
    output = outputs.get(TARGET)
    if not output or output.get("type") != "spark" or output.get("method") != "session":
        raise LoadError(
            f"{path} has no `{TARGET}` output of type spark, method session, in profile "
            f"{PROFILE}: copy it from profiles.yml.example"
        )
    # Each value rendered on its own, as dbt renders a profile's values.
    jinja = jinja2.Environment()
    return {
        str(key): jinja.from_string(str(value)).render(env_var=env_var)
        for key, value in (output.get("server_side_parameters") or {}).items()
    }


@contextmanager
def spark_session(project_dir: Path, parameters: Mapping[str, str]) -> Iterator[SparkSession]:
    """Spark as dbt-spark's session method builds it (Hive support, the profile's
    parameters, ANSI mode off), started in the project directory so that relative paths
    mean what they mean to dbt; stopped on the way out with its JVM, which frees the Derby
    metastore. The JVM goes too: it keeps the metastore it first opened (Derby's home, the
    Hive client), so a later session in this process would read another project's."""
    previous = Path.cwd()
    os.chdir(project_dir)
    try:
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in {**parameters, "spark.sql.ansi.enabled": "false"}.items():
            builder = builder.config(key, value)
        spark = builder.appName("webshop load").getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        try:
            yield spark
        finally:
            spark.stop()
            _stop_jvm()
    finally:
        os.chdir(previous)


def _stop_jvm() -> None:
    """End the JVM pyspark started for this process; the next session starts a new one."""
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)  # pyspark's launch_gateway keeps the process
    if process is not None:
        process.stdin.close()  # the JVM ends when its stdin closes
        process.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


def _table(schema: str, table: str) -> str:
    return f"`{schema}`.`{table}`"


def create_table_sql(schema: str, table: str) -> str:
    """Spark DDL for one raw table: the contract's columns in order, Parquet. Without the
    contract's NOT NULL on `_extracted_at`: a Parquet table of the Hive catalog drops it
    (every column stays nullable); the loader never writes a null there."""
    return f"CREATE TABLE IF NOT EXISTS {_table(schema, table)} ({_schema(table)}) USING parquet"


def prepare(spark: SparkSession, raw: str) -> None:
    """The raw schema and tables, and the bookkeeping tables (if missing)."""
    names.plain_name(raw, "the raw schema (WEBSHOP_RAW_SCHEMA)")
    for schema in (raw, META_SCHEMA):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
    for table in contract.TABLES:
        spark.sql(create_table_sql(raw, table))
    for table, ddl in META_TABLES.items():
        spark.sql(f"CREATE TABLE IF NOT EXISTS {_table(META_SCHEMA, table)} ({ddl}) USING parquet")


def _exists(spark: SparkSession, schema: str, table: str) -> bool:
    return bool(spark.catalog.tableExists(f"{schema}.{table}"))


def stored_config(spark: SparkSession, raw: str) -> GeneratorConfig | None:
    """The settings of the data loaded already; None when nothing is. A raw schema with
    tables this loader did not create is refused, as on PostgreSQL."""
    names.plain_name(raw, "the raw schema (WEBSHOP_RAW_SCHEMA)")
    if not _exists(spark, META_SCHEMA, "config"):
        if spark.catalog.databaseExists(raw) and spark.catalog.listTables(raw):
            raise LoadError(
                f"Spark database {raw} holds tables that this loader did not create; refusing "
                "to touch them. Set WEBSHOP_RAW_SCHEMA or delete .warehouse/spark."
            )
        return None
    rows = spark.table(f"{META_SCHEMA}.config").collect()
    return config_from_json(json.loads(rows[0]["settings"])) if rows else None


def loaded_days(spark: SparkSession) -> int:
    if not _exists(spark, META_SCHEMA, "batch"):
        return 0
    row = spark.sql(f"SELECT coalesce(max(day) + 1, 0) AS n FROM {META_SCHEMA}.batch").first()
    return int(row["n"]) if row else 0


def check_contract(spark: SparkSession, raw: str) -> None:
    """Each raw table's columns and Spark types are still the contract's."""
    for table, expected in contract.TABLES.items():
        fields = spark.table(_table(raw, table)).schema.fields
        found = [(f.name, f.dataType.simpleString()) for f in fields]
        wanted = [(name, SPARK_TYPES[pgtype].lower()) for name, pgtype in expected]
        if found != wanted:
            raise LoadError(f"{raw}.{table} does not match the raw-sources contract: {found}")


def check_complete(spark: SparkSession, raw: str) -> None:
    """Every raw row belongs to a delivery the ledger lists: Parquet appends are not
    transactional, so a load stopped in the middle of a day leaves a part of it."""
    newest = " UNION ALL ".join(
        f"SELECT max(_extracted_at) AS at FROM {_table(raw, t)}" for t in contract.TABLES
    )
    row = spark.sql(
        f"SELECT (SELECT max(at) FROM ({newest})) AS raw,"
        f" (SELECT max(extracted_at) FROM {META_SCHEMA}.batch) AS ledger"
    ).first()
    if row and row["raw"] is not None and (row["ledger"] is None or row["raw"] > row["ledger"]):
        raise LoadError(
            f"Spark database {raw} holds rows of a batch ({row['raw']}) that no finished load "
            "recorded (a load was interrupted mid-night): delete .warehouse/spark and load again"
        )


def _simulation(spark: SparkSession, config: GeneratorConfig, first: int) -> Simulation:
    """The simulation about to simulate day `first` (loader.simulation_at), with the
    snapshot stored for that day."""
    snapshot = None
    if first > 0 and _exists(spark, META_SCHEMA, "state"):
        row = spark.table(f"{META_SCHEMA}.state").where(f"day = {first}").first()
        snapshot = bytes(row["snapshot"]) if row is not None else None
    return simulation_at(config, first, snapshot)


def _schema(table: str) -> str:
    """A raw table's columns as a DDL schema, for its rows' DataFrame."""
    return ", ".join(f"`{name}` {SPARK_TYPES[pgtype]}" for name, pgtype in contract.TABLES[table])


def _record(
    spark: SparkSession, table: str, rows: list[tuple[Any, ...]], overwrite: bool = False
) -> None:
    """Rows into a bookkeeping table (appended, or replacing what it held)."""
    frame = spark.createDataFrame(rows, META_TABLES[table])
    frame.write.insertInto(f"{META_SCHEMA}.{table}", overwrite=overwrite)


def load(
    spark: SparkSession,
    raw: str,
    days: int,
    requested: GeneratorConfig,
    overrides: set[str],
    on_day: Callable[[DayReport], None] = lambda _: None,
) -> list[DayReport]:
    """Append the next `days` days (loader.load, for Spark)."""
    stored = stored_config(spark, raw)
    prepare(spark, raw)
    if stored is None:
        _record(spark, "config", [(json.dumps(config_to_json(requested)),)], overwrite=True)
        config = requested
    else:
        check_same(stored, requested, overrides)
        check_contract(spark, raw)
        check_complete(spark, raw)
        config = stored
    first = loaded_days(spark)
    sim = _simulation(spark, config, first)
    schemas = {table: _schema(table) for table in contract.TABLES}
    reports = []
    for day in range(first, first + days):
        started = time.perf_counter()
        deliveries = sim.next_day()
        extracted_at: datetime = deliveries[0].extracted_at
        counts = {t: len(deliveries[0].rows.get(t, ())) for t in contract.TABLES}
        for table in contract.TABLES:
            # a delivery made twice lands twice, as on PostgreSQL
            rows = [(*r, b.extracted_at) for b in deliveries for r in b.rows.get(table, ())]
            if rows:
                frame = spark.createDataFrame(rows, schemas[table], verifySchema=False)
                frame.write.mode("append").format("parquet").saveAsTable(f"{raw}.{table}")
        ledger = [(day, n, b.extracted_at, json.dumps(counts)) for n, b in enumerate(deliveries, 1)]
        _record(spark, "batch", ledger)
        if day == first + days - 1:
            _record(spark, "state", [(day + 1, sim.snapshot())], overwrite=True)
        reports.append(
            DayReport(
                day=day,
                batch_date=extracted_at.date(),
                deliveries=len(deliveries),
                rows={t: n * len(deliveries) for t, n in counts.items()},
                seconds=time.perf_counter() - started,
            )
        )
        on_day(reports[-1])
    return reports
