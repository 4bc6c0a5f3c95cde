"""The warehouse on Apache Spark (issue 14): the same batches, built by the same model files
on PostgreSQL and on Spark, give the same rows in every mart, fact and dimension.

Skipped unless the Spark extra is installed (`make spark-setup`) and Java is on PATH;
marker `spark` (`make test-spark`). A few minutes: four nights at a tiny scale with every
fault turned up, loaded into both engines, `dbt build` on each (data and unit tests
included, no warning), then every table of the marts and warehouse schemas compared.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import Faults, GeneratorConfig

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or 21) on PATH", allow_module_level=True)

from webshop import spark_loader

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env

pytestmark = [pytest.mark.spark, pytest.mark.db, pytest.mark.slow]

BIN = Path(sys.executable).parent
NIGHTS = 4
# Every fault the EL job and the tracker make, at many times its default rate.
FAULTS = {
    "duplicate_batch": 0.3,
    "duplicate_row": 0.05,
    "tied_version": 0.05,
    "out_of_order": 0.05,
    "late_event": 0.1,
    "future_event": 0.02,
    "invalid_json": 0.05,
    "odd_event_type": 0.05,
    "string_customer_id": 0.2,
    "messy_email": 0.2,
}
CONFIG = GeneratorConfig(scale=0.003, start_date=date(2026, 1, 5), faults=Faults(**FAULTS))
SCHEMAS = ("analytics_warehouse", "analytics_marts")
# Money to the cent, hours to 0.01: every number is compared to within half of that.
TOLERANCE = 0.005
# schema.table -> (column names in order of name, rows)
Tables = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def dbt_build(target: str, env: dict[str, str], cwd: Path, target_path: Path) -> str:
    proc = subprocess.run(
        [
            str(BIN / "dbt"),
            "build",
            "--target",
            target,
            "--project-dir",
            str(REPO_ROOT),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path / "logs"),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def normalized(value: Any) -> Any:
    """A value as both engines' drivers can hand it back: moments as naive UTC, numbers
    (other than booleans) as float."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return value


def split(row: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[float, ...]]:
    """(the row's other values, its numbers): rows are matched on the first, exactly."""
    values = [normalized(value) for value in row]
    others = tuple(v if not isinstance(v, float) else None for v in values)
    numbers = tuple(v for v in values if isinstance(v, float))
    return others, numbers


def differences(
    postgres: list[tuple[Any, ...]], spark: list[tuple[Any, ...]]
) -> list[tuple[Any, Any]]:
    """Row pairs that differ (a row without partner paired with None)."""
    left = sorted(map(split, postgres), key=lambda r: (repr(r[0]), [round(n, 2) for n in r[1]]))
    right = sorted(map(split, spark), key=lambda r: (repr(r[0]), [round(n, 2) for n in r[1]]))
    found: list[tuple[Any, Any]] = []
    for a, b in zip(left, right, strict=False):
        if a[0] != b[0] or not all(
            math.isclose(x, y, abs_tol=TOLERANCE) for x, y in zip(a[1], b[1], strict=True)
        ):
            found.append((a, b))
    found += [(row, None) for row in left[len(right) :]]
    found += [(None, row) for row in right[len(left) :]]
    return found


@pytest.fixture(scope="module")
def built(
    embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Tables, Tables, dict[str, str]]:
    """The marts' and warehouse's tables and views on both engines, and both builds' output."""
    # PostgreSQL: the embedded test server.
    database = fresh_database(embedded_cluster)
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", NIGHTS, CONFIG, set())
    tmp = tmp_path_factory.mktemp("engines")
    outputs = {
        "postgres": dbt_build("dev", pg_env(embedded_cluster, database), REPO_ROOT, tmp / "pg")
    }

    # Spark: a warehouse of its own in a directory of its own (the profile's paths are
    # relative to where Spark starts).
    project = tmp / "spark"
    project.mkdir()
    shutil.copy(REPO_ROOT / "dbt_project.yml", project)
    shutil.copy(REPO_ROOT / "profiles.yml.example", project / "profiles.yml")
    env = {**os.environ, "WEBSHOP_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": str(project)}
    for name in ("WEBSHOP_RAW_SCHEMA", "DBT_SCHEMA"):
        env.pop(name, None)
    faults = [arg for name, rate in FAULTS.items() for arg in ("--fault", f"{name}={rate}")]
    load = subprocess.run(
        [
            *(str(BIN / "webshop"), "load", "--target", "spark", "--days", str(NIGHTS)),
            *("--scale", str(CONFIG.scale), "--start-date", CONFIG.start_date.isoformat()),
            *faults,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert load.returncode == 0, load.stdout + load.stderr
    outputs["spark"] = dbt_build("spark", env, project, tmp / "spark-target")

    postgres = {}
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        tables = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema = any(%s)",
            [list(SCHEMAS)],
        ).fetchall()
        for (name,) in tables:
            columns = sorted(
                c.name for c in conn.execute(f"select * from {name} limit 0").description or []
            )
            postgres[name] = (
                columns,
                conn.execute(f"select {', '.join(columns)} from {name}").fetchall(),
            )
    spark_tables = {}
    with spark_loader.spark_session(project, spark_loader.profile_parameters(project)) as spark:
        for schema in SCHEMAS:
            for table in spark.catalog.listTables(schema):
                frame = spark.table(f"{schema}.{table.name}")
                columns = sorted(frame.columns)
                spark_tables[f"{schema}.{table.name}"] = (
                    columns,
                    [tuple(row[column] for column in columns) for row in frame.collect()],
                )
    return postgres, spark_tables, outputs


def test_both_builds_pass_without_warnings(built: tuple[Tables, Tables, dict[str, str]]) -> None:
    for engine, output in built[2].items():
        assert " WARN=0 " in output, (engine, output[-3000:])
        assert " ERROR=0 " in output, (engine, output[-3000:])
        assert "deprecat" not in output.lower(), (engine, output[-3000:])


def test_spark_builds_every_table_with_the_same_columns(
    built: tuple[Tables, Tables, dict[str, str]],
) -> None:
    postgres, spark, _ = built
    assert len(postgres) >= 20
    assert sorted(spark) == sorted(postgres)
    for name, (columns, _rows) in postgres.items():
        assert spark[name][0] == columns, name


def test_every_mart_fact_and_dimension_has_the_same_rows(
    built: tuple[Tables, Tables, dict[str, str]],
) -> None:
    postgres, spark, _ = built
    assert sum(1 for _columns, rows in postgres.values() if rows) >= 20
    problems = {}
    for name, (columns, rows) in sorted(postgres.items()):
        found = differences(rows, spark.get(name, ([], []))[1])
        if found:
            problems[name] = (
                f"{len(found)} of {len(rows)} rows differ; columns {columns}; "
                + "; ".join(f"postgres {a} / spark {b}" for a, b in found[:2])
            )
    assert not problems, "\n".join(f"{name}: {text}" for name, text in problems.items())


def test_the_comparison_sees_a_cent_and_a_row() -> None:
    row = (1, "a", Decimal("10.00"), datetime(2026, 1, 5, 8, tzinfo=timezone.utc))
    naive = (1, "a", 10.0, datetime(2026, 1, 5, 8))
    assert differences([row], [naive]) == []
    assert differences([row], [(1, "a", 10.01, datetime(2026, 1, 5, 8))]) != []
    assert differences([row], [(1, "b", 10.0, datetime(2026, 1, 5, 8))]) != []
    assert differences([row, row], [naive]) != []
