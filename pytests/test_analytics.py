"""Source freshness on a real PostgreSQL: `dbt source freshness` passes on freshly loaded
data, warns when no batch arrived for more than 26 hours, and errors when the events are
more than 72 hours old (the thresholds in models/staging/webshop/_webshop__sources.yml).

Events arrive every night, so they tell whether a batch was missed; the other tables only
get rows on days their rows change and have longer thresholds. Each case empties one
database and loads batches whose newest one was extracted today or days ago. The cases
share the database name and dbt's target directory, so dbt parses the project only once.
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
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# table -> (warn after, error after), as the README and the sources YAML state them.
THRESHOLDS = {
    "event": (26 * HOUR, 72 * HOUR),
    "product": (3 * DAY, 7 * DAY),
    "orders": (3 * DAY, 7 * DAY),
    "order_line": (3 * DAY, 7 * DAY),
    "customer": (7 * DAY, 14 * DAY),
    "voucher": (30 * DAY, 90 * DAY),
}


def expected_status(table: str, age_seconds: float) -> str:
    warn, error = THRESHOLDS[table]
    if age_seconds > error.total_seconds():
        return "error"
    return "warn" if age_seconds > warn.total_seconds() else "pass"


@pytest.fixture(scope="module")
def database(embedded_cluster: pg.Cluster) -> str:
    return fresh_database(embedded_cluster)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("freshness-target")


def freshness(
    cluster: pg.Cluster, database: str, target: Path, newest_batch_on: date, days: int = 1
) -> tuple[int, str, dict[str, tuple[str, float]]]:
    """Load `days` days, the newest extracted on `newest_batch_on`, into an emptied
    `database`, run `dbt source freshness`; return dbt's exit code, its output and
    {table: (status, age of the newest batch in seconds)}."""
    start = newest_batch_on - timedelta(days=days)
    config = GeneratorConfig(seed=7, scale=0.01, start_date=start)
    with psycopg.connect(**conninfo(cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        for schema in ("raw", loader.META_SCHEMA):
            conn.execute(f"drop schema if exists {schema} cascade")
        loader.load(conn, "raw", days, config, set())
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
    assert statuses.keys() == THRESHOLDS.keys(), proc.stdout[-4000:]
    return proc.returncode, proc.stdout, statuses


def today() -> date:
    return datetime.now(timezone.utc).date()


def test_freshness_passes_on_two_weeks_loaded_until_today(
    embedded_cluster: pg.Cluster, database: str, target: Path
) -> None:
    code, output, statuses = freshness(embedded_cluster, database, target, today(), days=14)
    assert code == 0, output[-4000:]
    assert {table: status for table, (status, _) in statuses.items()} == dict.fromkeys(
        THRESHOLDS, "pass"
    ), statuses
    assert "WARN" not in output, output[-4000:]


def test_freshness_warns_when_no_batch_arrived_for_more_than_26_hours(
    embedded_cluster: pg.Cluster, database: str, target: Path
) -> None:
    # Extracted two days ago shortly after midnight: the events are 48 to 72 hours old.
    code, output, statuses = freshness(
        embedded_cluster, database, target, today() - timedelta(days=2)
    )
    assert statuses["event"][0] == "warn", statuses
    for table, (status, age) in statuses.items():
        assert status == expected_status(table, age), (table, statuses)
    assert code == 0, output[-4000:]  # a warning does not fail the run


def test_freshness_errors_when_the_events_are_older_than_72_hours(
    embedded_cluster: pg.Cluster, database: str, target: Path
) -> None:
    # Extracted four days ago: events error, the daily tables warn, the quiet ones pass.
    code, output, statuses = freshness(
        embedded_cluster, database, target, today() - timedelta(days=4)
    )
    assert statuses["event"][0] == "error", statuses
    assert statuses["orders"][0] == "warn", statuses
    assert statuses["voucher"][0] == "pass", statuses
    for table, (status, age) in statuses.items():
        assert status == expected_status(table, age), (table, statuses)
    assert code == 1, output[-4000:]
