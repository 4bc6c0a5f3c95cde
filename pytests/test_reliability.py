"""No raw row can stop the nightly build, and no batch is lost, whatever its moment.

On top of a normal history, hand-made hostile batches (at least three rows per class, each
row with the outcome the raw rules give it) are loaded one at a time, each followed by an
incremental `dbt build`:

- batch A holds only rows that the rules exclude from the marts (quarantined, not in force,
  orphans, flagged vouchers, statuses moving backwards): the build passes, every row has
  its expected reason or flag, and every mart equals the marts of the history without them;
- batch C holds events of customer ids that do not exist: the customer marts are unchanged;
- batch B holds rows the warehouse keeps, with flags or normalised (real-world e-mails,
  white-space in event types, collisions of the old version hash, removals beyond the cart);
- then a normal night lands, and a full refresh into other schemas equals the incremental
  warehouse (EXCEPT ALL both ways, every model), with the reconciliation test passing.

A second test delivers batches out of order: an older batch after a newer one, a batch
stamped far in the future, then two normal nights: nothing is lost and incremental equals
a full refresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import GeneratorConfig, generate

from conftest import conninfo, fresh_database, pg_env
from warehouse_helpers import (
    NO_ARTIFACTS,
    append_batch,
    contents,
    dbt,
    differing_rows,
    model_tables,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

CONFIG = GeneratorConfig(seed=5, scale=0.003, start_date=date(2026, 3, 2))
HISTORY_DAYS = 5
# Nothing reads the artifacts of these runs (NO_ARTIFACTS).
BUILD = ("build", "--exclude-resource-type", "unit_test", NO_ARTIFACTS)
CUSTOMER_MARTS = [
    "mart_customer_monthly_engagement",
    "mart_signup_cohorts",
    "mart_customer_engagement_ranking",
    "mart_last_session_cart",
]


@dataclass(frozen=True)
class Expect:
    """What the warehouse must make of one hand-made raw row."""

    table: str
    row_id: int
    outcome: str  # "quarantined", "staged", "not in force"
    detail: str = ""  # the reject reason, or a staging flag that must be true


@dataclass
class History:
    conn: psycopg.Connection[Any]
    env: dict[str, str]
    target: Path
    last_batch: datetime
    customer_id: int  # a customer with sessions
    product_id: int  # a product with a price
    events: list[tuple[int, int, datetime]]  # (event_id, customer_id, event_at) in force
    shipped_orders: list[int]
    day: datetime  # a day inside the history (00:00 UTC)


def doc(**keys: Any) -> str:
    return json.dumps({"user-agent": "pytest", "ip": "192.0.2.1", **keys})


@pytest.fixture(scope="module")
def history(
    embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database) | {"DBT_SCHEMA": "inc"}
    target = tmp_path_factory.mktemp("reliability")
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", HISTORY_DAYS, CONFIG, set())
        dbt(env, target, *BUILD)
        last = conn.execute("select max(_extracted_at) from raw.event").fetchone()
        customer = conn.execute(
            "select customer_id from inc_warehouse.fct_sessions s where exists ("
            " select 1 from inc_warehouse.dim_customer c where c.customer_id = s.customer_id)"
            " order by customer_id limit 1"
        ).fetchone()
        product = conn.execute(
            "select product_id from inc_warehouse.dim_product"
            " where is_current and product_id > 0 order by product_id limit 1"
        ).fetchone()
        events = conn.execute(
            "select event_id, customer_id, event_at from inc_staging.stg_webshop__events"
            " where is_in_force and customer_id is not null order by event_id limit 3"
        ).fetchall()
        shipped = conn.execute(
            "select order_id from inc_warehouse.fct_orders"
            " where shipped_at is not null order by order_id limit 3"
        ).fetchall()
        assert last and customer and product and len(events) == 3 and len(shipped) == 3
        yield History(
            conn=conn,
            env=env,
            target=target,
            last_batch=last[0],
            customer_id=customer[0],
            product_id=product[0],
            events=events,
            shipped_orders=[order_id for (order_id,) in shipped],
            day=datetime(2026, 3, 4, tzinfo=timezone.utc),
        )


def marts(conn: psycopg.Connection[Any], names: list[str] | None = None) -> dict[str, list[str]]:
    """The business marts' rows (mart_data_quality counts the hostile rows: not compared)."""
    tables = {
        name: relation
        for name, relation in model_tables(conn, "inc").items()
        if name.startswith("mart_")
        and name != "mart_data_quality"
        and (names is None or name in names)
    }
    return contents(conn, tables)


def check_outcomes(conn: psycopg.Connection[Any], expected: list[Expect]) -> None:
    """Every hand-made row ended as the rules say (reason, flag, or not in force)."""
    found = {}
    for item in expected:
        if item.outcome == "quarantined":
            row = conn.execute(
                "select string_agg(reject_reason, ' | ') from inc_staging.stg_webshop__quarantine"
                " where source_table = %s and source_id = %s",
                (item.table, item.row_id),
            ).fetchone()
            found[item] = row[0] if row else None
        elif item.outcome == "not in force":
            row = conn.execute(
                "select bool_or(not is_in_force) and bool_or(is_in_force)"
                " from inc_staging.stg_webshop__events where event_id = %s",
                (item.row_id,),
            ).fetchone()
            found[item] = "not in force" if row and row[0] else row
        else:
            model, key = STAGED[item.table]
            flag = item.detail or "true"
            row = conn.execute(
                f"select bool_and({flag}) from inc_staging.{model} where {key} = %s",
                (item.row_id,),
            ).fetchone()
            found[item] = "staged" if row and row[0] else row
    wanted = {
        item: item.detail if item.outcome == "quarantined" else item.outcome for item in expected
    }
    assert found == wanted


STAGED = {
    "customer": ("stg_webshop__customers", "customer_id"),
    "product": ("stg_webshop__products", "product_id"),
    "voucher": ("stg_webshop__vouchers", "voucher_id"),
    "orders": ("stg_webshop__orders", "order_id"),
    "order_line": ("stg_webshop__order_lines", "order_line_id"),
    "event": ("stg_webshop__events", "event_id"),
}


def reconciles(history: History) -> None:
    dbt(history.env, history.target, "test", "--select", "reconcile_raw_rows", NO_ARTIFACTS)


# -- the hostile rows ---------------------------------------------------------------------


def customer_row(cid: Any, email: str, country: str, at: Any, **changes: Any) -> tuple[Any, ...]:
    values = {
        "first_name": "Test",
        "last_name": "Person",
        "phone": None,
        "street": "Dam 1",
        "postal_code": "1012 JS",
        "city": "Amsterdam",
        "created_at": at,
        "updated_at": at,
        "deleted_at": None,
        **changes,
    }
    return (
        cid,
        values["first_name"],
        values["last_name"],
        email,
        values["phone"],
        values["street"],
        values["postal_code"],
        values["city"],
        country,
        values["created_at"],
        values["updated_at"],
        values["deleted_at"],
    )


def excluded_batch(h: History) -> tuple[dict[str, list[tuple[Any, ...]]], list[Expect]]:
    """Rows the rules keep out of every mart (batch A)."""
    t = h.day + timedelta(hours=10)
    c = h.customer_id
    p = h.product_id
    events: list[tuple[Any, ...]] = []
    expect: list[Expect] = []

    def event(eid: int, kind: Any, when: Any, data: Any, outcome: str, detail: str = "") -> None:
        events.append((eid, kind, when, data))
        expect.append(Expect("event", eid, outcome, detail))

    q = "quarantined"
    # JSON that breaks parsers: a key named like a parser column, undocumented keys, a NUL
    # escape, nesting deep enough to exhaust the server's stack, a number out of range.
    keys = "event_data has keys the contract does not define"
    event(9_100_001, "PAGE_VIEW", t, doc(**{"customer-id": c, "is_not_an_object": "yes"}), q, keys)
    event(
        9_100_002,
        "SEARCH",
        t,
        doc(**{"customer-id": c, "query": "x", "is_not_an_object": True}),
        q,
        keys,
    )
    event(
        9_100_003, "PAGE_VIEW", t, doc(**{"customer-id": None, "page": "/", "page_url": 1}), q, keys
    )
    invalid = "event_data is not valid JSON"
    event(9_100_004, "PAGE_VIEW", t, '{"customer-id": 1, "page": "\\u0000"}', q, invalid)
    event(9_100_005, "PAGE_VIEW", t, '{"customer-id": 1e1000000}', q, invalid)
    event(9_100_006, "PAGE_VIEW", t, "{'customer-id': 1}", q, invalid)
    event(
        9_100_007,
        "PAGE_VIEW",
        t,
        "[" * 20_000 + "]" * 20_000,
        q,
        "event_data longer than 8192 characters",
    )
    event(9_100_008, "PAGE_VIEW", t, "{" * 9_000, q, "event_data longer than 8192 characters")
    event(
        9_100_009, "PAGE_VIEW", t, "[" * 4_000 + "]" * 4_000, q, "event_data is not a JSON object"
    )
    # timestamps at the limits of the type, before the calendar, after the batch
    before = "event_timestamp before the calendar start"
    event(9_100_010, "PAGE_VIEW", "4713-01-01 00:00:00+00 BC", doc(**{"customer-id": c}), q, before)
    event(9_100_011, "PAGE_VIEW", "-infinity", doc(**{"customer-id": c}), q, before)
    event(9_100_012, "PAGE_VIEW", "1970-01-01 00:00:00+00", doc(**{"customer-id": c}), q, before)
    after = "event_timestamp after its batch was extracted"
    event(9_100_013, "PAGE_VIEW", "infinity", doc(**{"customer-id": c}), q, after)
    event(9_100_014, "PAGE_VIEW", "294276-12-31 23:59:59+00", doc(**{"customer-id": c}), q, after)
    event(9_100_015, "SEARCH", "2100-01-01 00:00:00+00", doc(**{"customer-id": c}), q, after)
    # quantities: huge, fractional, text, zero, missing on a cart event; a huge position
    add = "ADD_PRODUCT_TO_CART"
    above = "quantity above the maximum"
    event(
        9_100_016,
        add,
        t,
        doc(**{"customer-id": c, "product": p, "quantity": 2_000_000_000}),
        q,
        above,
    )
    event(9_100_017, add, t, doc(**{"customer-id": c, "product": p, "quantity": 10_001}), q, above)
    event(
        9_100_018,
        add,
        t,
        doc(**{"customer-id": c, "product": p, "quantity": 10**30}),
        q,
        "quantity is not a whole number",
    )
    event(
        9_100_019,
        add,
        t,
        doc(**{"customer-id": c, "product": p, "quantity": 1.5}),
        q,
        "quantity is not a whole number",
    )
    event(
        9_100_020,
        add,
        t,
        doc(**{"customer-id": c, "product": p, "quantity": "two"}),
        q,
        "quantity is not a whole number",
    )
    event(
        9_100_021,
        "REMOVE_PRODUCT_FROM_CART",
        t,
        doc(**{"customer-id": c, "product": p, "quantity": 0}),
        q,
        "quantity is not positive",
    )
    event(
        9_100_022, add, t, doc(**{"customer-id": c, "product": p}), q, "cart event without quantity"
    )
    event(
        9_100_023, add, t, doc(**{"customer-id": c, "quantity": 1}), q, "cart event without product"
    )
    event(
        9_100_024,
        add,
        t,
        doc(**{"customer-id": c, "product": "p-1", "quantity": 1}),
        q,
        "product is not a positive integer",
    )
    event(
        9_100_025,
        add,
        t,
        doc(**{"customer-id": c, "product": -1, "quantity": 1}),
        q,
        "product is not a positive integer",
    )
    event(
        9_100_026,
        "VISIT_RELATED_PRODUCT",
        t,
        doc(**{"customer-id": c, "product": p, "position": 2**40}),
        q,
        "position above 2147483647",
    )
    # event types and ids
    event(9_100_027, None, t, doc(**{"customer-id": c}), q, "missing event_type")
    event(9_100_028, " \t\u00a0", t, doc(**{"customer-id": c}), q, "missing event_type")
    event(9_100_029, "", t, doc(**{"customer-id": c}), q, "missing event_type")
    event(-1, "PAGE_VIEW", t, doc(**{"customer-id": c}), q, "id is not positive")
    event(0, "PAGE_VIEW", t, doc(**{"customer-id": c}), q, "id is not positive")
    event(9_100_030, "PAGE_VIEW", t, doc(**{"customer-id": -1}), q, "customer-id is not positive")
    event(
        9_100_031, "PAGE_VIEW", t, doc(**{"customer-id": "abc"}), q, "customer-id is not an integer"
    )
    event(9_100_032, "PAGE_VIEW", t, None, q, "missing event_data")
    # the same event id delivered again with other content: the first delivery stays
    for eid, cid, at in h.events:
        event(eid, "SEARCH", at, doc(**{"customer-id": cid, "query": "conflict"}), "not in force")

    placed = h.day + timedelta(hours=9)
    later = h.day + timedelta(hours=12)
    customers = [
        customer_row(-1, "minus@example.com", "NL", placed),
        customer_row(900_001, "a@example.com", "NL", None),
        customer_row(900_002, "b@example.com", "NL", "1999-12-31 23:00:00+00"),
        customer_row(900_003, "c@example.com", "NL", placed, updated_at=placed - timedelta(days=1)),
    ]
    expect += [
        Expect("customer", -1, q, "id is not positive"),
        Expect("customer", 900_001, q, "missing created_at"),
        Expect("customer", 900_002, q, "created_at before the calendar start"),
        Expect("customer", 900_003, q, "updated_at before created_at"),
    ]

    def product(pid: int, price: Any, at: Any = placed) -> tuple[Any, ...]:
        return (pid, "SKU", "Hostile", "test", price, 1, True, at, at)

    products = [
        product(-1, Decimal("1.00")),
        product(900_011, Decimal("9999999999.99")),
        product(900_012, Decimal("1000000.01")),
        product(900_013, None),
        product(900_014, Decimal("-0.01")),
        product(900_015, Decimal("5.00"), "2100-01-01 00:00:00+00"),
    ]
    expect += [
        Expect("product", -1, q, "id is not positive"),
        Expect("product", 900_011, q, "price above the maximum"),
        Expect("product", 900_012, q, "price above the maximum"),
        Expect("product", 900_013, q, "missing price"),
        Expect("product", 900_014, q, "price is negative"),
        Expect("product", 900_015, q, "created_at after its batch was extracted"),
    ]

    def voucher(vid: int, kind: Any, value: Any) -> tuple[Any, ...]:
        return (vid, f"V{vid}", kind, value, placed, None, placed, placed)

    vouchers = [
        voucher(900_021, "bogo", Decimal("10.00")),
        voucher(900_022, " Percentage\u00a0", Decimal("-5.00")),
        voucher(900_023, "percentage", Decimal("150.00")),
        voucher(900_024, None, Decimal("1.00")),
    ]
    expect += [
        Expect("voucher", 900_021, "staged", "has_unknown_discount_type"),
        Expect(
            "voucher",
            900_022,
            "staged",
            "has_invalid_discount_value and not has_unknown_discount_type",
        ),
        Expect("voucher", 900_023, "staged", "has_invalid_discount_value"),
        Expect("voucher", 900_024, "staged", "has_unknown_discount_type"),
    ]

    def order(oid: int, cid: Any, status: Any, created: Any, updated: Any) -> tuple[Any, ...]:
        return (oid, cid, None, status, created, updated)

    orders = [
        order(900_031, c, "placed", "1970-01-01 00:00:00+00", "1970-01-01 00:00:00+00"),
        order(900_032, c, "placed", "2100-01-01 00:00:00+00", "2100-01-01 00:00:00+00"),
        order(900_033, c, "shipped", placed, placed - timedelta(hours=1)),
        order(900_034, c, None, placed, placed),
        order(900_035, c, " \t", placed, placed),
        order(900_036, c, "teleported", placed, placed),
        order(900_037, -1, "placed", placed, placed),
        order(900_038, None, "placed", placed, placed),
    ]
    expect += [
        Expect("orders", 900_031, q, "created_at before the calendar start"),
        Expect("orders", 900_032, q, "created_at after its batch was extracted"),
        Expect("orders", 900_033, q, "updated_at before created_at"),
        Expect("orders", 900_034, q, "missing status"),
        Expect("orders", 900_035, q, "missing status"),
        Expect("orders", 900_036, q, "unknown status"),
        Expect("orders", 900_037, q, "customer_id is not positive"),
        Expect("orders", 900_038, q, "missing customer_id"),
    ]
    # statuses moving backwards: a shipped order placed again a day later
    for order_id in h.shipped_orders:
        row = h.conn.execute(
            "select customer_id, created_at, updated_at from raw.orders"
            " where id = %s order by updated_at desc limit 1",
            (order_id,),
        ).fetchone()
        assert row is not None
        orders.append(
            order(order_id, row[0], "placed", row[1], h.last_batch - timedelta(minutes=1))
        )

    def line(lid: int, oid: int, qty: Any, price: Any, discount: Any) -> tuple[Any, ...]:
        return (lid, oid, p, qty, price, discount, placed, later)

    some_order = h.shipped_orders[0]
    lines = [
        line(900_041, some_order, 2_000_000_000, Decimal("68.00"), Decimal("0.00")),
        line(900_042, some_order, 0, Decimal("1.00"), Decimal("0.00")),
        line(900_043, some_order, -2, Decimal("1.00"), Decimal("0.00")),
        line(900_044, some_order, None, Decimal("1.00"), Decimal("0.00")),
        line(900_045, some_order, 1, Decimal("-1.00"), Decimal("0.00")),
        line(900_046, some_order, 1, None, Decimal("0.00")),
        line(900_047, some_order, 1, Decimal("9999999999.99"), Decimal("0.00")),
        line(900_048, some_order, 1, Decimal("10.00"), Decimal("-0.01")),
        line(900_049, some_order, 2, Decimal("10.00"), Decimal("20.01")),
        line(900_050, some_order, 1, Decimal("10.00"), None),
        # orphans: well-formed lines of orders nobody delivered
        line(900_051, 999_999_001, 1, Decimal("10.00"), Decimal("0.00")),
        line(900_052, 999_999_002, 2, Decimal("10.00"), Decimal("1.00")),
        line(900_053, 999_999_003, 3, Decimal("10.00"), Decimal("0.00")),
    ]
    expect += [
        Expect("order_line", 900_041, q, "quantity above the maximum"),
        Expect("order_line", 900_042, q, "quantity is not positive"),
        Expect("order_line", 900_043, q, "quantity is not positive"),
        Expect("order_line", 900_044, q, "missing quantity"),
        Expect("order_line", 900_045, q, "unit_price is negative"),
        Expect("order_line", 900_046, q, "missing unit_price"),
        Expect("order_line", 900_047, q, "unit_price above the maximum"),
        Expect("order_line", 900_048, q, "discount_amount is negative"),
        Expect("order_line", 900_049, q, "discount_amount above the line's gross amount"),
        Expect("order_line", 900_050, q, "missing discount_amount"),
        Expect("order_line", 900_051, "staged"),
        Expect("order_line", 900_052, "staged"),
        Expect("order_line", 900_053, "staged"),
    ]
    rows = {
        "customer": customers,
        "product": products,
        "voucher": vouchers,
        "orders": orders,
        "order_line": lines,
        "event": events,
    }
    return rows, expect


def test_hostile_batches_never_stop_the_build(history: History) -> None:
    h = history
    conn = h.conn
    baseline = marts(conn)

    # A: rows every rule keeps out of the marts
    rows, expect = excluded_batch(h)
    append_batch(conn, rows, h.last_batch + timedelta(hours=1))
    output = dbt(h.env, h.target, *BUILD)
    assert "ERROR=0" in output and "SKIP=0" in output
    check_outcomes(conn, expect)
    assert marts(conn) == baseline
    orphans = conn.execute(
        "select count(*) from inc_warehouse.fct_order_lines"
        " where not is_order_known and order_id between 999999001 and 999999003"
    ).fetchone()
    assert orphans == (3,)
    regressed = conn.execute(
        "select count(*) from inc_warehouse.fct_orders"
        " where has_status_regression and order_status = 'placed' and order_id = any(%s)",
        (h.shipped_orders,),
    ).fetchone()
    assert regressed == (3,)
    counted = dict(
        conn.execute(
            "select rule_name, sum(affected_rows) from inc_marts.mart_data_quality"
            " where rule_name in ('order unknown', 'status moved backwards',"
            " 'event id delivered again with other content', 'quantity is not a whole number')"
            " group by rule_name"
        ).fetchall()
    )
    assert counted == {
        "order unknown": 3,
        "status moved backwards": 3,
        "event id delivered again with other content": 3,
        "quantity is not a whole number": 3,
    }
    reconciles(h)

    # C: events of customer ids the warehouse does not know; customer marts ignore them
    customer_marts = marts(conn, CUSTOMER_MARTS)
    t = h.day + timedelta(hours=15)
    strangers = [
        (
            9_200_000 + i,
            "PAGE_VIEW",
            t + timedelta(minutes=i),
            doc(**{"customer-id": cid, "page": "/"}),
        )
        for i, cid in enumerate([990_001, 990_002, 990_003])
    ]
    append_batch(conn, {"event": strangers}, h.last_batch + timedelta(hours=2))
    dbt(h.env, h.target, *BUILD)
    sessions = conn.execute(
        "select count(*) from inc_warehouse.fct_sessions"
        " where customer_id between 990001 and 990003"
    ).fetchone()
    assert sessions == (3,)
    assert marts(conn, CUSTOMER_MARTS) == customer_marts
    unknown = conn.execute(
        "select sum(affected_rows) from inc_marts.mart_data_quality"
        " where rule_name = 'customer unknown'"
    ).fetchone()
    assert unknown is not None and unknown[0] >= 3

    # B: rows the warehouse keeps, normalised or flagged
    at = h.day + timedelta(hours=8)
    kept_customers = [
        customer_row(900_101, "sean.o'brien@example.ie", "IE", at),
        customer_row(900_102, "jürgen@müller.de", "DE", at),
        customer_row(900_103, "\u00a0Ümit.Öz@Example.COM\t", "NL", at),
        customer_row(900_104, "not-an-address", "NLD", at),
        customer_row(900_105, "x@example.com", "Deutschland", at),
        customer_row(900_106, "y@example.com", "n", at),
        # the old version hash joined values with '-': these two versions collided
        customer_row(900_107, "d@example.com", "NL", at, first_name="a-b", last_name="c"),
        customer_row(
            900_107,
            "d@example.com",
            "NL",
            at,
            first_name="a",
            last_name="b-c",
            updated_at=at + timedelta(hours=1),
        ),
    ]
    spaced = [
        (9_300_001, "PAGE_VIEW\t", at, doc(**{"customer-id": h.customer_id, "page": "/a"})),
        (9_300_002, "\nSEARCH\r\n", at, doc(**{"customer-id": h.customer_id, "query": "q"})),
        (
            9_300_003,
            "\u00a0page_view\u3000",
            at,
            doc(**{"customer-id": h.customer_id, "page": "/b"}),
        ),
    ]
    removals = [
        (
            9_300_010 + i,
            "REMOVE_PRODUCT_FROM_CART",
            at + timedelta(hours=2 * i),
            doc(**{"customer-id": h.customer_id, "product": h.product_id, "quantity": 3}),
        )
        for i in range(3)
    ]
    stock = [
        (900_111, "S1", "Oversold", "test", Decimal("3.00"), -5, True, at, at),
        (900_112, "S2", "Unknown stock", "test", Decimal("3.00"), None, True, at, at),
        (900_113, "S3", "Unknown status", "test", Decimal("3.00"), 4, None, at, at),
    ]
    append_batch(
        conn,
        {"customer": kept_customers, "event": spaced + removals, "product": stock},
        h.last_batch + timedelta(hours=3),
    )
    dbt(h.env, h.target, *BUILD)
    check_outcomes(
        conn,
        [
            Expect("customer", 900_101, "staged", "not has_invalid_email"),
            Expect("customer", 900_102, "staged", "not has_invalid_email"),
            # trimmed of a no-break space and a tab, lower case (as the database folds case)
            Expect("customer", 900_103, "staged", "email = lower('Ümit.Öz@Example.COM')"),
            Expect("customer", 900_104, "staged", "has_invalid_email and has_invalid_country_code"),
            Expect("customer", 900_105, "staged", "has_invalid_country_code"),
            Expect("customer", 900_106, "staged", "has_invalid_country_code"),
            Expect("product", 900_111, "staged", "has_negative_stock"),
            Expect("product", 900_112, "staged", "has_unknown_stock"),
            Expect("product", 900_113, "staged", "has_unknown_active_status"),
            Expect(
                "event", 9_300_001, "staged", "event_type = 'PAGE_VIEW' and is_known_event_type"
            ),
            Expect("event", 9_300_002, "staged", "event_type = 'SEARCH' and is_known_event_type"),
            Expect(
                "event", 9_300_003, "staged", "event_type = 'PAGE_VIEW' and is_known_event_type"
            ),
        ],
    )
    versions = conn.execute(
        "select count(*) from inc_staging.stg_webshop__customers where customer_id = 900107"
    ).fetchone()
    assert versions == (2,)
    carts = conn.execute(
        "select min(cart_value_net), sum(units_removed_not_in_cart) from inc_warehouse.fct_sessions"
        " where customer_id = %s and session_start <= %s and session_end >= %s",
        (h.customer_id, at + timedelta(hours=4), at),
    ).fetchone()
    assert carts is not None and carts[0] >= 0 and carts[1] >= 9
    reconciles(h)

    # a normal night still lands, and everything equals a full refresh
    loader.load(conn, "raw", 1, CONFIG, set())
    dbt(h.env, h.target, *BUILD)
    newest = conn.execute(
        "select max(_extracted_at) = (select max(_extracted_at) from raw.event)"
        " from inc_staging.stg_webshop__events"
    ).fetchone()
    assert newest == (True,)
    assert_equals_full_refresh(h)
    reconciles(h)


def assert_equals_full_refresh(h: History) -> None:
    full = h.env | {"DBT_SCHEMA": "full"}
    dbt(full, h.target / "full", "run", "--full-refresh", NO_ARTIFACTS)
    # snapshots keep what the marts said at each build: no full refresh rebuilds them
    incremental = {
        name: relation
        for name, relation in model_tables(h.conn, "inc").items()
        if not name.startswith("snap_")
    }
    rebuilt = model_tables(h.conn, "full")
    assert rebuilt.keys() == incremental.keys()
    differences = {
        name: differing_rows(h.conn, incremental[name], rebuilt[name]) for name in incremental
    }
    assert differences == dict.fromkeys(incremental, 0)
    ledgers = (
        '(select model_name, source_table, extracted_at, raw_rows from "{}".batch_ledger) as l'
    )
    assert differing_rows(h.conn, ledgers.format("inc"), ledgers.format("full")) == 0


def test_batches_in_any_order_all_land(embedded_cluster: pg.Cluster, tmp_path: Path) -> None:
    """An older batch after a newer one (an EL re-run of a missed night), a batch stamped
    decades ahead (a misconfigured clock), a re-run with corrected rows, then two normal
    nights: every raw row is read, and the incremental warehouse equals a full refresh."""
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database) | {"DBT_SCHEMA": "inc"}
    config = GeneratorConfig(seed=9, scale=0.002, start_date=date(2026, 5, 4))
    batches = {batch.day: batch for batch in generate(config, 0, 8)}  # a repeat keeps one
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", 1, config, set())  # creates the raw tables: day 0
        h = History(
            conn, env, tmp_path, batches[0].extracted_at, 0, 0, [], [], batches[0].extracted_at
        )

        def deliver(day: int, extracted_at: datetime | None = None) -> None:
            batch = batches[day]
            append_batch(conn, batch.rows, extracted_at or batch.extracted_at)
            dbt(env, tmp_path, "run", NO_ARTIFACTS)

        deliver(1)
        deliver(3)  # night 2 was missed ...
        deliver(2)  # ... and re-run the day after: stamped before night 3
        deliver(4, datetime(2090, 1, 1, tzinfo=timezone.utc))  # a clock decades ahead
        # a re-run of night 1 with corrected rows: every customer row of it edited
        corrected = {
            "customer": [
                (*row[:3], f"corrected.{row[0]}@example.com", *row[4:])
                for row in batches[1].rows["customer"]
            ]
        }
        append_batch(conn, corrected, batches[1].extracted_at + timedelta(hours=30))
        dbt(env, tmp_path, "run", NO_ARTIFACTS)
        deliver(5)
        deliver(6)

        # every batch was read: each moment's rows are staged or quarantined
        unread = conn.execute(
            "select b.source_table, b.extracted_at from inc_staging.base_webshop__batches b"
            " where not exists (select 1 from inc.batch_ledger l"
            "  where l.model_name = 'stg_webshop__events' and l.source_table = 'event'"
            "  and l.extracted_at = b.extracted_at and l.raw_rows = b.raw_rows)"
            " and b.source_table = 'event'"
        ).fetchall()
        assert unread == []
        emails = conn.execute(
            "select count(*) from inc_staging.stg_webshop__customers"
            " where email like 'corrected.%%@example.com'"
        ).fetchone()
        assert emails is not None and emails[0] == len(corrected["customer"]) > 0
        dbt(env, tmp_path, "test", "--select", "reconcile_raw_rows", NO_ARTIFACTS)
        assert_equals_full_refresh(h)
