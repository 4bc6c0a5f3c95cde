"""The warehouse on Apache Spark (issue 14), proven by the tests that prove it on PostgreSQL.

Skipped unless the Spark extra is installed (`make spark-setup`) and Java is on PATH;
marker `spark`. One story, at a tiny scale with every fault turned up: four nights loaded
into a Spark warehouse, with the hand-made cases that break naive incremental designs
(compressed from pytests/test_incremental.py into nights 1 to 3):
- nights 0 to 2 are built whole, night 3 by an incremental `dbt build` (every data and
  unit test; on Spark the tests read every row);
- the same warehouse is then built by `dbt run --full-refresh` into other schemas: every
  model's rows are equal (EXCEPT ALL both ways);
- the hand-made cases came out right before and after the night (sessions merged by a
  late event, an order moved out of a session, versions out of order and tied, a product
  whose first version moved to a later week);
- the same nights loaded into PostgreSQL and built there give the same rows in every mart,
  fact and dimension (hashes included; money to the cent, hours to 0.01);
- every dbt build passes with no warning and no deprecation.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import Faults, GeneratorConfig

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or 21) on PATH", allow_module_level=True)

from webshop import spark_loader

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from warehouse_helpers import append_batch, customer_row

pytestmark = [pytest.mark.spark, pytest.mark.db, pytest.mark.slow]

BIN = Path(sys.executable).parent
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
# Night 0 is Saturday 2026-01-10: night 1 (Sunday) is in ISO week 01-05, nights 2 and 3 in
# 01-12.
CONFIG = GeneratorConfig(scale=0.003, start_date=date(2026, 1, 10), faults=Faults(**FAULTS))
DAY1 = datetime(2026, 1, 11, tzinfo=timezone.utc)
DAY2, DAY3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
CUSTOMER = PRODUCT = ORDER = 900_001  # ids the generator never reaches
PRODUCT_2 = ORDER_2 = 900_002
ONE_S = timedelta(seconds=1)
SCHEMAS = ("analytics_warehouse", "analytics_marts")
# Money to the cent, hours to 0.01: every number is compared to within half of that.
TOLERANCE = 0.005
# schema.table -> (column names in order of name, rows)
Tables = dict[str, tuple[list[str], list[tuple[Any, ...]]]]
Rows = dict[str, list[tuple[Any, ...]]]


def at(hours: float, day: datetime = DAY1) -> datetime:
    return day + timedelta(hours=hours)


ADDED_AT = at(10 + 50 / 60)  # the test product's cart add, in the second session of day 1


def event(event_id: int, kind: str, when: datetime, **data: Any) -> tuple[Any, ...]:
    document = {"user-agent": "pytest", "ip": "127.0.0.1", "customer-id": CUSTOMER, **data}
    return (event_id, kind, when, json.dumps(document))


def product(
    product_id: int, price: str, created_at: datetime, updated_at: datetime
) -> tuple[Any, ...]:
    return (
        product_id,
        f"SKU-{product_id}",
        "Test kettle",
        "kitchen",
        Decimal(price),
        5,
        True,
        created_at,
        updated_at,
    )


def order(order_id: int, placed_at: datetime, updated_at: datetime, status: str = "placed") -> Rows:
    """An order of one line, one unit of the test product at 10.00."""
    return {
        "orders": [(order_id, CUSTOMER, None, status, placed_at, updated_at)],
        "order_line": [
            (
                order_id,
                order_id,
                PRODUCT,
                1,
                Decimal("10.00"),
                Decimal("0.00"),
                placed_at,
                updated_at,
            )
        ],
    }


# Hand-made rows, appended to the batch of the night they are listed under: nights 1 and 2
# are built whole with night 0, night 3 incrementally.
HANDMADE: dict[int, Rows] = {
    1: {
        "customer": [customer_row(CUSTOMER, "a@example.com", at(9), at(9))],
        "product": [product(PRODUCT, "10.00", at(8), at(8))],
        # Two sessions 50 minutes apart; the second adds the product.
        "event": [
            event(9_000_000_001, "PAGE_VIEW", at(10), page="https://www.xccelerated-shop.com/"),
            event(9_000_000_002, "ADD_PRODUCT_TO_CART", ADDED_AT, product=PRODUCT, quantity=1),
            # Unusable rows: quarantined with a reason, never a failed build.
            (9_000_000_090, "PAGE_VIEW", at(11), '{"customer-id": 9, "page": '),
            (9_000_000_091, "PAGE_VIEW", at(11), '{"customer-id": "abc"}'),
        ],
        # ORDER, placed at 10.40, is between the sessions; ORDER_2, a second after the
        # add, is the funnel's order step.
        "orders": [
            *order(ORDER, at(10 + 40 / 60), at(10 + 40 / 60))["orders"],
            *order(ORDER_2, ADDED_AT + ONE_S, ADDED_AT + ONE_S)["orders"],
        ],
        "order_line": [
            *order(ORDER, at(10 + 40 / 60), at(10 + 40 / 60))["order_line"],
            *order(ORDER_2, ADDED_AT + ONE_S, ADDED_AT + ONE_S)["order_line"],
        ],
    },
    2: {
        "product": [
            product(PRODUCT, "30.00", at(8), at(8, DAY2)),
            # A product in force from its created_at (Sunday 01-11, week 01-05) ...
            product(PRODUCT_2, "5.00", at(8), at(12, DAY2)),
        ],
    },
    3: {
        "product": [
            # Out of order: older than the version of night 2; in force at the add.
            product(PRODUCT, "20.00", at(8), at(10.5)),
            # ... until a version updated before it arrives, created later (Monday 01-12):
            # that one is its first version now, and it is not in week 01-05 any more.
            product(PRODUCT_2, "6.00", at(9, DAY2), at(10, DAY2)),
        ],
        # ORDER_2 placed a second before the add: the session loses its order step and
        # its funnel row, with no new row to take its place.
        "orders": [(ORDER_2, CUSTOMER, None, "paid", ADDED_AT - ONE_S, at(8, DAY3))],
        # A tie: the first version's updated_at, delivered later: it wins.
        "customer": [customer_row(CUSTOMER, "b@example.com", at(9), at(9))],
        # Two days late: bridges the two sessions of night 1.
        "event": [event(9_000_000_003, "PAGE_VIEW", at(10 + 25 / 60), page="https://x/")],
    },
}
# What the story reads between nights (the warehouse as the last dbt run left it).
QUERIES = {
    "sessions": "select session_id, session_start, cart_value_added"
    " from analytics_warehouse.fct_sessions"
    f" where customer_id = {CUSTOMER} order by session_start",
    "funnel": "select session_id, product_id, first_order_at"
    f" from analytics_warehouse.fct_funnel_orders where customer_id = {CUSTOMER}"
    " order by session_start, product_id",
    "mug_weeks": "select week_start from analytics_marts.mart_product_inventory_weekly"
    f" where product_id = {PRODUCT_2} order by week_start",
}


class Story(NamedTuple):
    seen: dict[str, list[list[str | None]]]  # QUERIES after the whole build, before night 3
    outputs: dict[str, str]  # dbt build -> its output
    incremental_vs_full: dict[str, int]  # model -> rows in one and not the other
    final: dict[str, list[tuple[Any, ...]]]  # QUERIES and more, after the last night
    postgres: Tables
    spark: Tables


def dbt(target: str, env: dict[str, str], cwd: Path, target_path: Path, *args: str) -> str:
    proc = subprocess.run(
        [
            *(str(BIN / "dbt"), *args, "--target", target, "--project-dir", str(REPO_ROOT)),
            *("--target-path", str(target_path), "--log-path", str(target_path / "logs")),
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


def tables(spark: Any, schemas: tuple[str, ...]) -> Tables:
    found = {}
    for schema in schemas:
        for table in spark.catalog.listTables(schema):
            frame = spark.table(f"{schema}.{table.name}")
            columns = sorted(frame.columns)
            found[f"{schema}.{table.name}"] = (
                columns,
                [tuple(row[column] for column in columns) for row in frame.collect()],
            )
    return found


@pytest.fixture(scope="module")
def story(embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Story:
    tmp = tmp_path_factory.mktemp("engines")
    # Spark: a warehouse of its own in a directory of its own (the profile's paths are
    # relative to where Spark starts).
    project = tmp / "spark"
    project.mkdir()
    shutil.copy(REPO_ROOT / "dbt_project.yml", project)
    shutil.copy(REPO_ROOT / "profiles.yml.example", project / "profiles.yml")
    env = {
        **os.environ,
        "WEBSHOP_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "TZ": "UTC",  # Spark hands moments to Python in the process's time zone
    }
    for name in ("WEBSHOP_RAW_SCHEMA", "DBT_SCHEMA"):
        env.pop(name, None)
    seen, outputs = {}, {}

    def load(*nights: int) -> None:
        """Load `nights` with their hand-made rows; first read QUERIES (the last build)."""
        night_file = tmp / f"nights-{nights[0]}.pickle"
        queries = QUERIES if nights[0] > 0 else {}
        rows = [HANDMADE.get(night, {}) for night in nights]
        night_file.write_bytes(pickle.dumps({"config": CONFIG, "queries": queries, "nights": rows}))
        script = Path(__file__).with_name("spark_night.py")
        done = subprocess.run(
            [str(BIN / "python"), str(script), str(project), str(night_file)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr[-4000:]
        seen.update(json.loads(done.stdout.strip().splitlines()[-1]))

    load(0, 1, 2)
    dbt("spark", env, project, tmp / "inc", "run")  # built whole
    load(3)
    # incremental, with every test (on Spark the tests read every row: no written units)
    outputs["spark incremental"] = dbt("spark", env, project, tmp / "inc", "build")
    dbt("spark", env | {"DBT_SCHEMA": "full"}, project, tmp / "full", "run", "--full-refresh")

    # PostgreSQL: the same nights, built once.
    database = fresh_database(embedded_cluster)
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        for night in range(4):
            loader.load(conn, "raw", 1, CONFIG, set())
            moment = conn.execute(
                "select min(extracted_at) from webshop_loader.batch where day = %s", (night,)
            ).fetchone()
            assert moment is not None
            append_batch(conn, HANDMADE.get(night, {}), moment[0])
    postgres_env = pg_env(embedded_cluster, database)
    outputs["postgres"] = dbt("dev", postgres_env, REPO_ROOT, tmp / "pg", "build")
    postgres: Tables = {}
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        names = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema = any(%s)",
            [list(SCHEMAS)],
        ).fetchall()
        for (name,) in names:
            columns = sorted(
                c.name for c in conn.execute(f"select * from {name} limit 0").description or []
            )
            rows = conn.execute(f"select {', '.join(columns)} from {name}").fetchall()
            postgres[name] = (columns, rows)

    with spark_loader.spark_session(project, spark_loader.profile_parameters(project)) as spark:
        incremental_vs_full = {}
        for schema in ("staging", "intermediate", "warehouse", "marts"):
            for table in spark.catalog.listTables(f"analytics_{schema}"):
                mine, theirs = f"analytics_{schema}.{table.name}", f"full_{schema}.{table.name}"
                incremental_vs_full[table.name] = sum(
                    spark.sql(f"select * from {a} except all select * from {b}").count()
                    for a, b in ((mine, theirs), (theirs, mine))
                )
        final = {
            name: [tuple(row) for row in spark.sql(query).collect()]
            for name, query in {
                **QUERIES,
                "sessions": "select session_id, session_start, session_end, cart_value_added"
                f" from analytics_warehouse.fct_sessions where customer_id = {CUSTOMER}",
                "prices": "select price, valid_from, valid_to from analytics_warehouse.dim_product"
                f" where product_id = {PRODUCT} order by valid_from",
                "placed_in": "select session_id from analytics_warehouse.fct_orders"
                f" where order_id = {ORDER}",
                "list_price": "select list_price_at_placement"
                f" from analytics_warehouse.fct_order_lines where order_id = {ORDER}",
                "emails": "select email, is_current from analytics_warehouse.dim_customer"
                f" where customer_id = {CUSTOMER}",
                "reasons": "select source_id, reject_reason"
                " from analytics_staging.stg_webshop__quarantine"
                " where source_id in (9000000090, 9000000091) order by source_id",
            }.items()
        }
        spark_tables = tables(spark, SCHEMAS)
    return Story(seen, outputs, incremental_vs_full, final, postgres, spark_tables)


def test_every_build_passes_without_warnings(story: Story) -> None:
    assert set(story.outputs) == {"spark incremental", "postgres"}
    for build, output in story.outputs.items():
        assert " WARN=0 " in output, (build, output[-3000:])
        assert " ERROR=0 " in output, (build, output[-3000:])
        assert "deprecat" not in output.lower(), (build, output[-3000:])


def test_incremental_nights_on_spark_equal_a_full_refresh(story: Story) -> None:
    assert {
        "fct_sessions",
        "dim_product",
        "stg_webshop__events",
    } <= story.incremental_vs_full.keys()
    assert len(story.incremental_vs_full) >= 30
    assert story.incremental_vs_full == dict.fromkeys(story.incremental_vs_full, 0)


def test_the_hand_made_cases_came_out_right_before_and_after_the_night(story: Story) -> None:
    # built whole with nights 1 and 2: two sessions, the second with the add (priced with the
    # version in force then) and ORDER_2's order step; the mug shown from week 01-05
    sessions = story.seen["sessions"]
    assert [start for _, start, _ in sessions] == [
        str(at(10).replace(tzinfo=None)),
        str(ADDED_AT.replace(tzinfo=None)),
    ]
    bridged_away, _, cart_value = sessions[1]
    assert cart_value is not None and float(cart_value) == 10
    assert story.seen["funnel"] == [
        [bridged_away, str(PRODUCT), str((ADDED_AT + ONE_S).replace(tzinfo=None))]
    ]
    assert story.seen["mug_weeks"][0] == ["2026-01-05"]
    # after night 3, incremental: the late event merged the sessions
    final = story.final
    assert [(start, end) for _, start, end, _ in final["sessions"]] == [
        (at(10).replace(tzinfo=None), ADDED_AT.replace(tzinfo=None))
    ]
    [(session_id, _, _, cart_value)] = final["sessions"]
    assert session_id != bridged_away
    # priced with the out-of-order version (20.00), not the one in force before (10.00)
    assert cart_value == pytest.approx(20)
    assert [str(price) for price, _, _ in final["prices"]] == ["10.00", "20.00", "30.00"]
    assert [valid_to for _, _, valid_to in final["prices"][:2]] == [
        at(10.5).replace(tzinfo=None),
        at(8, DAY2).replace(tzinfo=None),
    ]
    # ORDER, placed between the sessions, is in the merged one, its line priced with the
    # out-of-order version in force at 10.40: both arrived nights after it
    assert final["placed_in"] == [(session_id,)]
    assert final["list_price"] == [(Decimal("20.00"),)]
    # ORDER_2 placed before the add: no funnel row, and none in its place
    assert final["funnel"] == []
    assert final["mug_weeks"][0] == (date(2026, 1, 12),)
    assert final["emails"] == [("b@example.com", True)]
    assert final["reasons"] == [
        (9_000_000_090, "event_data is not valid JSON"),
        (9_000_000_091, "customer-id is not an integer"),
    ]


def test_spark_builds_every_table_with_the_same_columns(story: Story) -> None:
    assert len(story.postgres) >= 20
    assert sorted(story.spark) == sorted(story.postgres)
    for name, (columns, _rows) in story.postgres.items():
        assert story.spark[name][0] == columns, name


def test_every_mart_fact_and_dimension_has_the_same_rows_on_both_engines(story: Story) -> None:
    assert sum(1 for _columns, rows in story.postgres.values() if rows) >= 20
    problems = {}
    for name, (columns, rows) in sorted(story.postgres.items()):
        found = differences(rows, story.spark.get(name, ([], []))[1])
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
