"""End to end: real PostgreSQL, real COPY, real dbt with the real packages.

- the build passes with no warnings and no deprecations, on the embedded PostgreSQL and on
  Debian's PostgreSQL 15, first on 3 days and then incrementally on one more;
- sqlfluff is clean; the docs describe every model and column, and list exactly the raw
  rules.

Incremental == full refresh is in test_incremental.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from warehouse_helpers import assert_clean, dbt

pytestmark = [pytest.mark.db, pytest.mark.slow]


def build_three_days_then_one_more(
    cluster: pg.Cluster, target: Path
) -> tuple[dict[str, str], list[str]]:
    """Load 3 days and build, load 1 more day and build (incrementally): the daily routine,
    whose nightly build leaves the unit tests (they check the code, not the night: the first
    build ran them) to the full build, as `make load-day` does."""
    database = fresh_database(cluster)
    env = pg_env(cluster, database)
    config = GeneratorConfig(seed=3, scale=0.002, start_date=date(2026, 3, 2))
    outputs = []
    with psycopg.connect(**conninfo(cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", 3, config, set())
        outputs.append(dbt(env, target, "build"))
        loader.load(conn, "raw", 1, config, set())
        outputs.append(dbt(env, target, "build", "--exclude-resource-type", "unit_test"))
        orders = conn.execute("select count(*) from analytics_warehouse.fct_orders").fetchone()
        sessions = conn.execute(
            "select count(*), count(distinct customer_id) from analytics_warehouse.fct_sessions"
        ).fetchone()
    assert orders is not None and orders[0] > 0
    assert sessions is not None and sessions[0] > sessions[1] > 0
    return env, outputs


@pytest.fixture(scope="module")
def built_embedded(
    embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Path, list[str]]:
    target = tmp_path_factory.mktemp("dbt-target")
    env, outputs = build_three_days_then_one_more(embedded_cluster, target)
    return env, target, outputs


def test_daily_build_is_clean_on_embedded_postgres(
    built_embedded: tuple[dict[str, str], Path, list[str]],
) -> None:
    for output in built_embedded[2]:
        assert_clean(output)


def test_daily_build_is_clean_on_postgres_15(pg15_cluster: pg.Cluster, tmp_path: Path) -> None:
    with psycopg.connect(**conninfo(pg15_cluster, "postgres")) as conn:  # type: ignore[arg-type]
        version = conn.execute("show server_version_num").fetchone()
    assert version is not None and 150000 <= int(version[0]) < 160000
    _, outputs = build_three_days_then_one_more(pg15_cluster, tmp_path)
    for output in outputs:
        assert_clean(output)


def test_sqlfluff_lint_is_clean(built_embedded: tuple[dict[str, str], Path, list[str]]) -> None:
    """Linted against a built warehouse, so the incremental branches are rendered too."""
    env, _, _ = built_embedded
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "sqlfluff"),
            "lint",
            "models",
            "tests",
            "analyses",
            "snapshots",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_docs_describe_every_model_and_column(
    built_embedded: tuple[dict[str, str], Path, list[str]],
) -> None:
    env, target, _ = built_embedded
    # The build compiled every node already; the docs need the parse and the catalog.
    dbt(env, target, "docs", "generate", "--no-compile")
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undocumented = []
    for node_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or node["package_name"] != "webshop":
            continue
        if not node["description"].strip():
            undocumented.append(node_id)
        built = set(catalog["nodes"][node_id]["columns"])
        documented = {name for name, col in node["columns"].items() if col["description"].strip()}
        undocumented += [f"{node_id}.{column}" for column in sorted(built - documented)]
        undocumented += [f"{node_id}.{column} (not in table)" for column in documented - built]
    assert undocumented == []


def test_docs_list_exactly_the_raw_rules(
    built_embedded: tuple[dict[str, str], Path, list[str]],
) -> None:
    """The raw rules are written once (macros/raw_rules.sql); the docs' table must list
    every (table, reason) of them and nothing else."""
    env, target, _ = built_embedded
    output = dbt(env, target, "run-operation", "print_raw_rules", "--quiet")
    in_macro = set()
    for line in output.splitlines():
        if line.startswith("{"):
            rule = json.loads(line)
            in_macro.add((rule["table"], rule["reason"]))
    docs = (REPO_ROOT / "models/staging/webshop/_webshop__docs.md").read_text()
    groups = {
        "every table (first)": ["customer", "product", "voucher", "orders", "order_line", "event"],
        "customer, product, voucher, orders, order_line": [
            "customer",
            "product",
            "voucher",
            "orders",
            "order_line",
        ],
    }
    in_docs = set()
    for line in docs.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("table", "---"):
            for table in groups.get(cells[0], [cells[0]]):
                in_docs.add((table, cells[1]))
    assert len(in_macro) > 40
    assert in_docs == in_macro
