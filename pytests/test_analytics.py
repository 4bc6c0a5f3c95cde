"""Source freshness on a real PostgreSQL: `dbt source freshness` passes when the newest
batch was extracted today, warns when no batch arrived for more than 26 hours, and errors
after 72 hours (the thresholds in models/staging/webshop/_webshop__sources.yml).

Each case empties one database and loads one day into it (the batch of day d is extracted
shortly after midnight UTC of start_date + d + 1, and a first batch holds rows for every
raw table), with a start date that puts that batch today or days ago. The cases share the
database name and dbt's target directory, so dbt parses the project only once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env

pytestmark = [pytest.mark.db, pytest.mark.slow]

DBT = str(Path(sys.executable).parent / "dbt")
TABLES = {"customer", "product", "voucher", "orders", "order_line", "event"}
WARN_AFTER = timedelta(hours=26)
ERROR_AFTER = timedelta(hours=72)


@pytest.fixture(scope="module")
def database(embedded_cluster: pg.Cluster) -> str:
    return fresh_database(embedded_cluster)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("freshness-target")


def freshness(
    cluster: pg.Cluster, database: str, target: Path, newest_batch_on: date
) -> tuple[int, str, dict[str, tuple[str, float]]]:
    """Load one day whose batch is extracted on `newest_batch_on` into an emptied
    `database`, run `dbt source freshness`; return dbt's exit code, its output and
    {table: (status, age of the newest batch in seconds)}."""
    config = GeneratorConfig(seed=7, scale=0.002, start_date=newest_batch_on - timedelta(days=1))
    with psycopg.connect(**conninfo(cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        for schema in ("raw", loader.META_SCHEMA):
            conn.execute(f"drop schema if exists {schema} cascade")
        loader.load(conn, "raw", 1, config, set())
    proc = subprocess.run(
        [
            DBT,
            "source",
            "freshness",
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
        ],
        cwd=REPO_ROOT,
        env=pg_env(cluster, database),
        capture_output=True,
        text=True,
    )
    assert "deprecat" not in proc.stdout.lower(), proc.stdout[-4000:]
    results = json.loads((target / "sources.json").read_text())["results"]
    statuses = {
        result["unique_id"].rsplit(".", 1)[-1]: (
            result["status"],
            float(result["max_loaded_at_time_ago_in_s"]),
        )
        for result in results
    }
    assert statuses.keys() == TABLES, proc.stdout[-4000:]
    return proc.returncode, proc.stdout, statuses


def today() -> date:
    return datetime.now(timezone.utc).date()


def test_freshness_passes_when_the_newest_batch_is_today(
    embedded_cluster: pg.Cluster, database: str, target: Path
) -> None:
    code, output, statuses = freshness(embedded_cluster, database, target, today())
    assert code == 0, output[-4000:]
    assert {status for status, _ in statuses.values()} == {"pass"}, statuses
    assert "[WARNING]" not in output and "WARN" not in output, output[-4000:]


def test_freshness_warns_when_no_batch_arrived_for_more_than_26_hours(
    embedded_cluster: pg.Cluster, database: str, target: Path
) -> None:
    # Extracted two days ago shortly after midnight: between 48 and 72 hours old, whatever
    # the time of day now.
    code, output, statuses = freshness(
        embedded_cluster, database, target, today() - timedelta(days=2)
    )
    for status, age in statuses.values():
        assert WARN_AFTER.total_seconds() < age < ERROR_AFTER.total_seconds()
        assert status == "warn", statuses
    assert code == 0, output[-4000:]  # a warning does not fail the run
    assert "WARN" in output


def test_freshness_errors_after_72_hours(
    embedded_cluster: pg.Cluster, database: str, target: Path
) -> None:
    code, output, statuses = freshness(
        embedded_cluster, database, target, today() - timedelta(days=3)
    )
    # Extracted three days ago shortly after midnight: over 72 hours old, except in the
    # first minutes after midnight, before that extraction's time of day (then a warning).
    for status, age in statuses.values():
        assert age > WARN_AFTER.total_seconds()
        assert status == ("error" if age > ERROR_AFTER.total_seconds() else "warn"), statuses
    if any(status == "error" for status, _ in statuses.values()):
        assert code == 1, output[-4000:]
