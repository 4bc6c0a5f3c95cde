"""Run by the Spark tests in a process of its own (Derby, Spark's metastore, admits one
process at a time; dbt is another): `python spark_night.py <project dir> <nights file>`.

The nights file is a pickle of {"config": GeneratorConfig, "queries": {name: SQL},
"nights": [{raw table: [row tuples in contract order, without _extracted_at]}, ...]}. The
script first runs the queries on the warehouse as the last dbt run left it and prints
their results as JSON ({name: [[value as text, ...], ...]}), then loads the next nights
into the Spark warehouse of the project directory, one per item of "nights"
(webshop.spark_loader, as `webshop load --target spark --days 1`), and appends each
item's rows to its night's batch (its batch moment).
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

from webshop import contract, spark_loader


def append(spark: Any, rows_of_night: dict[str, list[tuple[Any, ...]]], day: int) -> None:
    """Hand-made rows into the raw tables, stamped with the batch moment of `day`."""
    for table, rows in rows_of_night.items():
        schema = ", ".join(
            f"`{name}` {spark_loader.SPARK_TYPES[pgtype]}"
            for name, pgtype in contract.TABLES[table]
            if name != "_extracted_at"  # the table's last column
        )
        spark.createDataFrame(rows, schema, verifySchema=False).createOrReplaceTempView("handmade")
        spark.sql(
            f"insert into raw.{table} select handmade.*, batch.extracted_at from handmade"
            " cross join (select min(extracted_at) as extracted_at"
            f" from {spark_loader.META_SCHEMA}.batch where day = {day}) as batch"
        )


def main(project: Path, night_file: Path) -> None:
    night = pickle.loads(night_file.read_bytes())
    parameters = spark_loader.profile_parameters(project)
    with spark_loader.spark_session(project, parameters) as spark:
        found = {
            name: [
                [None if v is None else str(v) for v in row] for row in spark.sql(query).collect()
            ]
            for name, query in night["queries"].items()
        }
        for rows_of_night in night["nights"]:
            [report] = spark_loader.load(spark, "raw", 1, night["config"], set())
            append(spark, rows_of_night, report.day)
    print(json.dumps(found))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
