"""End to end: incremental runs, nights at a time with faults on, give exactly the rows of
a `--full-refresh` build (EXCEPT ALL both ways, every model), including hand-made cases that
break naive designs; re-delivering a batch or running without new data changes nothing; the
night's tests find what the night wrote wrong, full_tests everything.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import Faults, GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from warehouse_helpers import (
    DBT,
    NO_ARTIFACTS,
    contents,
    customer_row,
    dbt,
    differing_rows,
    model_tables,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

# -- incremental == full refresh ---------------------------------------------------------

FAULTS = Faults(
    duplicate_batch=0.2,
    duplicate_row=0.02,
    tied_version=0.03,
    out_of_order=0.05,
    late_event=0.05,
    future_event=0.005,
    invalid_json=0.01,
    odd_event_type=0.01,
    string_customer_id=0.05,
    messy_email=0.05,
)
CONFIG = GeneratorConfig(seed=11, scale=0.003, start_date=date(2026, 1, 5), faults=FAULTS)
# Nights one at a time through the hand-made cases and two week ends, then a week per run,
# then one at a time again across the end of January (day 27 is February 1).
NIGHTS_PER_RUN = [1] * 12 + [7, 7] + [1] * 4  # 30 nights
CUSTOMER = 900_001  # hand-made rows use ids the generator never reaches
PRODUCT = 900_001
PRODUCT_2 = 900_002
ORDER = 900_001
ORDER_2 = 900_002
DAY1 = datetime(2026, 1, 6, tzinfo=timezone.utc)  # the activity day of batch 1
ADDED_AT = DAY1 + timedelta(hours=10, minutes=50)  # the test product's cart add on day 1
ONE_S = timedelta(seconds=1)


def at(hours: float, day: datetime = DAY1) -> datetime:
    return day + timedelta(hours=hours)


def event(event_id: int, kind: str, when: datetime, **data: Any) -> tuple[Any, ...]:
    document = {"user-agent": "pytest", "ip": "127.0.0.1", "customer-id": CUSTOMER, **data}
    return (event_id, kind, when, json.dumps(document))


def customer(email: str, updated_at: datetime) -> tuple[Any, ...]:
    return customer_row(CUSTOMER, email, at(9), updated_at)


def product(price: str, updated_at: datetime) -> tuple[Any, ...]:
    return (PRODUCT, "SKU-T", "Test kettle", "kitchen", Decimal(price), 5, True, at(8), updated_at)


def mug(price: str, created_at: datetime, updated_at: datetime) -> tuple[Any, ...]:
    return (
        PRODUCT_2,
        "SKU-M",
        "Test mug",
        "kitchen",
        Decimal(price),
        7,
        True,
        created_at,
        updated_at,
    )


def order(placed_at: datetime, order_id: int = ORDER) -> dict[str, list[tuple[Any, ...]]]:
    """An order of one line, one unit of the test product at 10.00."""
    return {
        "orders": [(order_id, CUSTOMER, None, "placed", placed_at, placed_at)],
        "order_line": [
            (
                order_id,
                order_id,
                PRODUCT,
                1,
                Decimal("10.00"),
                Decimal("0.00"),
                placed_at,
                placed_at,
            )
        ],
    }


# Hand-made rows, added to the batch of the day they are listed under (same batch moment).
INJECTED: dict[int, dict[str, list[tuple[Any, ...]]]] = {
    1: {
        "customer": [customer("a@example.com", at(9))],
        "product": [product("10.00", at(8))],
        # Two sessions 50 minutes apart; the second adds the product at 10.00.
        "event": [
            event(9_000_000_001, "PAGE_VIEW", at(10), page="https://www.xccelerated-shop.com/"),
            event(9_000_000_002, "ADD_PRODUCT_TO_CART", ADDED_AT, product=PRODUCT, quantity=1),
            # Unusable rows: quarantined with a reason, never a failed build.
            (9_000_000_090, "PAGE_VIEW", at(11), '{"customer-id": 9, "page": '),
            (9_000_000_091, "PAGE_VIEW", at(11), '{"customer-id": "abc"}'),
        ],
        # Placed at 10.40, between the two sessions: in neither until day 9 bridges them.
        "orders": [*order(at(10 + 40 / 60))["orders"], *order(ADDED_AT + ONE_S, ORDER_2)["orders"]],
        # ORDER_2, a second after the add, holds the product: the funnel's order step.
        "order_line": [
            *order(at(10 + 40 / 60))["order_line"],
            *order(ADDED_AT + ONE_S, ORDER_2)["order_line"],
        ],
    },
    3: {"product": [product("30.00", at(8, DAY1 + timedelta(days=2)))]},
    # A version of ORDER_2 created a second before the add: placed before it, the session
    # loses its order step and its funnel row, with no new row to take its place.
    4: {
        "orders": [
            (ORDER_2, CUSTOMER, None, "paid", ADDED_AT - ONE_S, at(8, DAY1 + timedelta(days=3)))
        ]
    },
    # Out of order: a version older than the one delivered on day 3; in force at the add.
    6: {"product": [product("20.00", at(10.5))]},
    # A tie: same updated_at as the first customer version, delivered later: it wins.
    7: {"customer": [customer("b@example.com", at(9))]},
    # A product first seen on day 10, in force from its created_at (Tuesday 01-06, week
    # 01-05) ...
    10: {"product": [mug("5.00", at(8), at(8, DAY1 + timedelta(days=9)))]},
    # ... until a version updated before it arrives, created later (01-13, week 01-12): that
    # one is the first version now, and the product is not in week 01-05 any more.
    11: {
        "product": [mug("6.00", at(8, DAY1 + timedelta(days=7)), at(8, DAY1 + timedelta(days=8)))]
    },
    # Eight days late, beyond any lookback window: bridges the two sessions of day 1.
    9: {"event": [event(9_000_000_003, "PAGE_VIEW", at(10 + 25 / 60), page="https://x/")]},
    # A tie with the 30.00 version of day 3, delivered later: it wins, and at the price
    # before it the change to 30.00 vanishes, with no new change to carry the product.
    27: {"product": [product("20.00", at(8, DAY1 + timedelta(days=2)))]},
}


def inject(conn: psycopg.Connection[Any], day: int) -> None:
    rows = INJECTED.get(day, {})
    if not rows:
        return
    batch = conn.execute(
        "select extracted_at from webshop_loader.batch where day = %s", (day,)
    ).fetchone()
    assert batch is not None
    with conn.transaction(), conn.cursor() as cur:
        for table, values in rows.items():
            columns = ", ".join(loader.contract.columns(table))
            with cur.copy(f"copy raw.{table} ({columns}) from stdin") as copy:
                for row in values:
                    copy.write_row((*row, batch[0]))


def funnel_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """The hand-made customer's funnel order steps: session, product, first order."""
    return conn.execute(
        "select session_id, product_id, first_order_at from inc_warehouse.fct_funnel_orders"
        " where customer_id = %s order by session_start, product_id",
        (CUSTOMER,),
    ).fetchall()


def mug_weeks(conn: psycopg.Connection[Any]) -> list[date]:
    """The weeks the inventory mart shows the hand-made mug in."""
    rows = conn.execute(
        "select week_start from inc_marts.mart_product_inventory_weekly"
        " where product_id = %s order by week_start",
        (PRODUCT_2,),
    ).fetchall()
    return [row[0] for row in rows]


def failures_found(env: dict[str, str], target_path: Path, test: str, *args: str) -> int:
    """How many failing rows one data test found (dbt exits 1 when it fails)."""
    subprocess.run(
        [DBT, "test", "--select", test, *args, "--target-path", str(target_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    [result] = [r for r in results if r["unique_id"].split(".")[2] == test]
    return int(result["failures"] or 0)


def test_incremental_equals_full_refresh(embedded_cluster: pg.Cluster, tmp_path: Path) -> None:
    database = fresh_database(embedded_cluster)
    incremental = pg_env(embedded_cluster, database) | {"DBT_SCHEMA": "inc"}
    full = pg_env(embedded_cluster, database) | {"DBT_SCHEMA": "full"}
    bridged_away = None
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        first = 0
        for nights in NIGHTS_PER_RUN:
            loader.load(conn, "raw", nights, CONFIG, set())
            for day in range(first, first + nights):
                inject(conn, day)
            first += nights
            dbt(incremental, tmp_path / "inc", "run", NO_ARTIFACTS)
            if first == 2:  # day 1 built
                second = conn.execute(
                    "select session_id from inc_warehouse.fct_sessions"
                    " where customer_id = %s and session_start = %s",
                    (CUSTOMER, at(10 + 50 / 60)),
                ).fetchone()
                assert second is not None, "day 1 should give customer 900001 two sessions"
                bridged_away = second[0]
                assert funnel_rows(conn) == [(bridged_away, PRODUCT, ADDED_AT + ONE_S)]
            if first == 5:  # day 4 built: ORDER_2 now placed before the add
                assert funnel_rows(conn) == []
            if first in (11, 12):  # days 10 and 11 built: the mug's first week moved
                assert mug_weeks(conn)[0] == (
                    date(2026, 1, 5) if first == 11 else date(2026, 1, 12)
                )

        tables = model_tables(conn, "inc")
        assert {"fct_sessions", "dim_product", "stg_webshop__events"} <= tables.keys()
        # The batch catalogue counts raw rows, so a re-delivery changes it (by design).
        warehouse = {
            name: relation for name, relation in tables.items() if not name.startswith("base_")
        }
        before = contents(conn, warehouse)

        # No new data: nothing changes.
        dbt(incremental, tmp_path / "inc", "run", NO_ARTIFACTS)
        assert contents(conn, warehouse) == before

        # The newest batch delivered once more (same rows, same batch moment): no change.
        for table in loader.contract.TABLES:
            conn.execute(
                f"insert into raw.{table} select * from raw.{table}"
                f" where _extracted_at = (select max(_extracted_at) from raw.{table})"
            )
        dbt(incremental, tmp_path / "inc", "run", NO_ARTIFACTS)
        assert contents(conn, warehouse) == before

        dbt(full, tmp_path / "full", "run", "--full-refresh", NO_ARTIFACTS)
        full_tables = model_tables(conn, "full")
        assert full_tables.keys() == tables.keys()
        differences = {
            name: differing_rows(conn, tables[name], full_tables[name]) for name in tables
        }
        assert differences == dict.fromkeys(tables, 0)

        # The hand-made cases happened, and came out right.
        sessions = conn.execute(
            "select session_id, session_start, session_end, cart_value_added"
            " from inc_warehouse.fct_sessions where customer_id = %s",
            (CUSTOMER,),
        ).fetchall()
        assert [(start, end) for _, start, end, _ in sessions] == [(at(10), at(10 + 50 / 60))]
        assert bridged_away not in {session_id for session_id, *_ in sessions}
        # priced with the out-of-order version (20.00), not the one seen first (10.00)
        assert sessions[0][3] == pytest.approx(20)
        prices = conn.execute(
            "select price, valid_from, valid_to from inc_warehouse.dim_product"
            " where product_id = %s order by valid_from",
            (PRODUCT,),
        ).fetchall()
        assert [str(price) for price, _, _ in prices] == ["10.00", "20.00", "20.00"]
        assert [valid_to for _, _, valid_to in prices[:2]] == [
            at(10.5),
            at(8, DAY1 + timedelta(days=2)),
        ]
        changes = conn.execute(
            "select changed_at, previous_price, new_price"
            " from inc_marts.mart_product_price_changes where product_id = %s",
            (PRODUCT,),
        ).fetchall()
        assert changes == [(at(10.5), Decimal("10.00"), Decimal("20.00"))]
        # The order placed between the sessions is in the bridged one, and its line is
        # priced with the out-of-order version in force at 10.40: both arrived days after it.
        placed_in = conn.execute(
            "select session_id from inc_warehouse.fct_orders where order_id = %s", (ORDER,)
        ).fetchall()
        assert placed_in == [(sessions[0][0],)]
        list_price = conn.execute(
            "select list_price_at_placement from inc_warehouse.fct_order_lines where order_id = %s",
            (ORDER,),
        ).fetchall()
        assert list_price == [(Decimal("20.00"),)]
        # Both orders came before the add in the bridged session: no order step is left.
        assert funnel_rows(conn) == []
        emails = conn.execute(
            "select email, is_current from inc_warehouse.dim_customer where customer_id = %s",
            (CUSTOMER,),
        ).fetchall()
        assert emails == [("b@example.com", True)]
        reasons = conn.execute(
            "select source_id, reject_reason from inc_staging.stg_webshop__quarantine"
            " where source_id in (9000000090, 9000000091) order by source_id"
        ).fetchall()
        assert reasons == [
            (9_000_000_090, "event_data is not valid JSON"),
            (9_000_000_091, "customer-id is not an integer"),
        ]

        # Tests that cost the night keep their power on what the night wrote: one more
        # night, then a session counted twice among the customers it rewrote and one among
        # those it did not touch. The night's unique test finds the first; with full_tests
        # it reads every row and finds both.
        loader.load(conn, "raw", 1, CONFIG, set())
        dbt(incremental, tmp_path / "inc", "run", NO_ARTIFACTS)
        fct, written = "inc_warehouse.fct_sessions", "inc.fct_sessions__written"
        inserted = conn.execute(
            f"insert into {fct} select * from {fct} where session_id = ("
            f" select min(s.session_id) from {fct} as s join {written} as w"
            " on s.customer_id = w.written_unit and s.session_start >= w.written_from)"
        ).rowcount
        inserted += conn.execute(
            f"insert into {fct} select * from {fct} where session_id = ("
            f" select min(session_id) from {fct}"
            f" where customer_id not in (select written_unit from {written}))"
        ).rowcount
        assert inserted == 2
        unique = "unique_fct_sessions_session_id"
        assert failures_found(incremental, tmp_path / "inc", unique) == 1
        assert (
            failures_found(incremental, tmp_path / "inc", unique, "--vars", "full_tests: true") == 2
        )

        # The night's relationships test looks each product row the night wrote up in the
        # sessions: without the two copies above, take away the session of one such row and
        # of one row the night did not write.
        conn.execute(
            f"delete from {fct} as copy using {fct} as kept"
            " where copy.session_id = kept.session_id and copy.ctid > kept.ctid"
        )
        child, child_written = (
            "inc_intermediate.int_session_products",
            "inc.int_session_products__written",
        )
        [(tonight,)] = conn.execute(
            f"select min(p.session_id) from {child} as p join {child_written} as w"
            " on p.customer_id = w.written_unit and p.session_start >= w.written_from"
        ).fetchall()
        [(earlier,)] = conn.execute(
            f"select min(session_id) from {child}"
            f" where customer_id not in (select written_unit from {child_written})"
        ).fetchall()
        [(tonight_rows, earlier_rows)] = conn.execute(
            f"select count(*) filter (where session_id = %s),"
            f" count(*) filter (where session_id = %s) from {child}",
            (tonight, earlier),
        ).fetchall()
        deleted = conn.execute(
            f"delete from {fct} where session_id in (%s, %s)", (tonight, earlier)
        ).rowcount
        assert deleted == 2 and tonight_rows > 0 and earlier_rows > 0
        related = "relationships_int_session_products_session_id__session_id__ref_fct_sessions_"
        assert failures_found(incremental, tmp_path / "inc", related) == tonight_rows
        assert (
            failures_found(incremental, tmp_path / "inc", related, "--vars", "full_tests: true")
            == tonight_rows + earlier_rows
        )
