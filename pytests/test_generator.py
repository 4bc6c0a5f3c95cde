"""The raw-data generator against the contract (../shared/raw-sources.md): pure Python."""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import pickle
import subprocess
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from webshop import contract
from webshop.copytext import format_columns, format_row, format_rows
from webshop.generator import (
    KNOWN_EVENT_TYPES,
    Batch,
    Faults,
    GeneratorConfig,
    Simulation,
    _snapshot,
    generate,
)
from webshop.generator._output import iso_stamps
from webshop.generator._sim import Sim

UTC = timezone.utc
START = date(2026, 1, 5)
SHOP = "https://www.xccelerated-shop.com"
VERSIONED = ("customer", "product", "voucher", "orders", "order_line")
COL = {
    table: {name: i for i, name in enumerate(contract.columns(table))} for table in contract.TABLES
}
NULLABLE = {
    ("customer", "first_name"),
    ("customer", "last_name"),
    ("customer", "email"),
    ("customer", "phone"),
    ("customer", "street"),
    ("customer", "deleted_at"),
    ("voucher", "valid_until"),
    ("orders", "voucher_id"),
}
STATUS_RANK = {"placed": 0, "paid": 1, "shipped": 2, "delivered": 3, "returned": 4}
DOC_KEYS = {
    "PAGE_VIEW": {"page"},
    "ADD_PRODUCT_TO_CART": {"product", "quantity"},
    "REMOVE_PRODUCT_FROM_CART": {"product", "quantity"},
    "SEARCH": {"query"},
    "VISIT_RELATED_PRODUCT": {"product", "position"},
    "VISIT_RECENTLY_VISITED_PRODUCT": {"product", "position"},
    "VISIT_PERSONAL_RECOMMENDATION": {"product", "position"},
    "SIGN_UP_SUCCESS": set(),
}


def day_start(day: int) -> datetime:
    return datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(days=day)


def run(scale: float, days: int, faults: Faults, seed: int = 7) -> list[Batch]:
    return list(generate(GeneratorConfig(seed=seed, scale=scale, faults=faults), 0, days))


def serialize(batches: Iterable[Batch]) -> bytes:
    out: list[str] = []
    for batch in batches:
        for table in contract.TABLES:
            out.extend(format_row((*row, batch.extracted_at)) for row in batch.rows[table])
    return "".join(out).encode()


def only(**rates: float) -> Faults:
    return replace(Faults.none(), **rates)


def parse(doc: str) -> Any:
    try:
        return json.loads(doc)
    except ValueError:
        return None


def updated_at(table: str, row: tuple[Any, ...]) -> datetime:
    value = row[COL[table]["updated_at"]]
    assert isinstance(value, datetime)
    return value


@pytest.fixture(scope="module")
def clean() -> list[Batch]:
    """Three weeks without faults: every contract rule must hold exactly."""
    return run(0.02, 21, Faults.none())


# ---------------------------------------------------------------- determinism


def test_same_config_same_bytes_and_seed_matters() -> None:
    first = serialize(run(0.005, 6, Faults()))
    assert first == serialize(run(0.005, 6, Faults()))
    assert first != serialize(run(0.005, 6, Faults(), seed=8))


def test_later_start_continues_the_same_history() -> None:
    config = GeneratorConfig(seed=3, scale=0.005, faults=replace(Faults(), duplicate_batch=0.3))
    whole = list(generate(config, 0, 5))
    assert whole == [*generate(config, 0, 3), *generate(config, 3, 2)]
    assert [b.day for b in whole] == sorted(b.day for b in whole)
    assert {b.day for b in whole} == set(range(5))


def test_faults_never_change_the_simulated_shop() -> None:
    """Turning faults on layers them over the same shop: a clean order stays as it was."""
    clean_orders = {r[0]: r for b in run(0.005, 4, Faults.none()) for r in b.rows["orders"]}
    faulty = run(0.005, 4, Faults())
    faulty_orders = {r[0]: r for b in faulty for r in b.rows["orders"]}
    common = set(clean_orders) & set(faulty_orders)
    assert len(common) > 0.8 * len(clean_orders)
    assert sum(clean_orders[k] == faulty_orders[k] for k in common) > 0.9 * len(common)


# ---------------------------------------------------------------- snapshots

# Faults that leave work pending from one day to the next, often.
PENDING = GeneratorConfig(
    seed=3,
    scale=0.005,
    faults=replace(
        Faults(), out_of_order=0.2, late_event=0.2, duplicate_batch=0.5, tied_version=0.05
    ),
)


def test_a_resumed_simulation_continues_exactly_like_a_replay() -> None:
    days = 8
    replay = list(generate(PENDING, 0, days))
    twice = {day for day, n in Counter(b.day for b in replay).items() if n == 2}
    assert {1, 2, 6, 7} <= twice  # duplicates right before and right after the boundaries
    whole = Simulation(PENDING)
    whole.skip_to(days)
    for boundary in (0, 2, 5, 7):
        sim = Simulation(PENDING)
        before = list(sim.batches(boundary))
        if boundary:  # held-back versions and late events are due after the boundary
            assert min(sim._sim.held) >= boundary and min(sim._sim.late) >= boundary
        snapshot = sim.snapshot()
        resumed = Simulation.resume(PENDING, snapshot)
        assert resumed.day == boundary
        after = list(resumed.batches(days - boundary))
        # byte for byte: repr shows Decimal exponents and tzinfo too
        assert repr(before + after) == repr(replay), boundary
        # ... and it reaches the very same state: the same snapshot bytes
        assert resumed.snapshot() == whole.snapshot(), boundary
    assert list(generate(PENDING, 3, 2)) == [b for b in replay if 3 <= b.day < 5]


def test_the_simulation_makes_no_reference_cycles() -> None:
    """The loader's generator process runs without the cyclic garbage collector: a day
    (with every fault frequent) leaves nothing that only the collector could free."""
    faults = replace(PENDING.faults, future_event=0.05, invalid_json=0.05, odd_event_type=0.05)
    sim = Simulation(replace(PENDING, faults=faults))
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        for _ in range(8):
            sim.next_day_copy()
            sim.next_day()
            assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_a_snapshot_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "import hashlib, sys\n"
        "from webshop.generator import GeneratorConfig, Simulation\n"
        "sim = Simulation(GeneratorConfig(seed=3, scale=0.003))\n"
        "sim.skip_to(3)\n"
        "print(hashlib.sha256(sim.snapshot()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    sim = Simulation(GeneratorConfig(seed=3, scale=0.003))
    sim.skip_to(3)
    assert digests == {hashlib.sha256(sim.snapshot()).hexdigest()}


@pytest.mark.parametrize(
    ("setting", "value"),
    [("seed", 4), ("scale", 0.006), ("start_date", date(2026, 2, 2)), ("faults", Faults())],
)
def test_a_snapshot_refuses_another_config(setting: str, value: Any) -> None:
    sim = Simulation(PENDING)
    sim.skip_to(2)
    snapshot = sim.snapshot()
    with pytest.raises(ValueError, match=f"made with {setting}="):
        Simulation.resume(replace(PENDING, **{setting: value}), snapshot)
    assert Simulation.resume(PENDING, snapshot).day == 2


def test_only_snapshots_of_this_generator_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulation(PENDING)
    sim.skip_to(1)
    snapshot = sim.snapshot()
    for junk in (
        b"",
        b"junk",
        snapshot[:-10],
        zlib.compress(pickle.dumps(os.system)),  # unpickling only admits datetime and Decimal
        zlib.compress(pickle.dumps(("x", 1))),
    ):
        with pytest.raises(ValueError, match="not a generator snapshot"):
            Simulation.resume(PENDING, junk)
    monkeypatch.setattr(_snapshot, "_fingerprint", lambda: "changed code")
    with pytest.raises(ValueError, match="another version of the generator"):
        Simulation.resume(PENDING, snapshot)


def test_a_snapshot_knows_every_attribute_of_the_simulation() -> None:
    sim = Simulation(PENDING)
    sim.skip_to(1)
    sim._sim.surprise = 1  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="surprise"):
        sim.snapshot()


# ---------------------------------------------------------------- shape


def test_rows_follow_the_contract(clean: list[Batch]) -> None:
    faulty = run(0.005, 8, replace(Faults(), **{f: 0.05 for f in ("tied_version", "invalid_json")}))
    for batch in [*clean, *faulty]:
        assert set(batch.rows) == set(contract.TABLES)
        assert batch.extracted_at.utcoffset() == timedelta(0)
        # extracted shortly after midnight that ends the day
        assert timedelta(0) < batch.extracted_at - day_start(batch.day + 1) < timedelta(hours=1)
        for table, rows in batch.rows.items():
            columns = contract.TABLES[table][:-1]  # without _extracted_at
            for row in rows:
                assert len(row) == len(columns)
                for value, (name, pgtype) in zip(row, columns, strict=True):
                    if value is None:
                        assert (table, name) in NULLABLE, (table, name, row)
                    elif pgtype in ("bigint", "integer"):
                        assert type(value) is int, (table, name, row)
                    elif pgtype == "text":
                        assert type(value) is str, (table, name, row)
                    elif pgtype == contract.MONEY:
                        assert type(value) is Decimal and value.as_tuple().exponent == -2
                    elif pgtype == "boolean":
                        assert type(value) is bool
                    else:
                        assert pgtype == contract.TIMESTAMP
                        assert type(value) is datetime and value.utcoffset() == timedelta(0)


def test_scale_sets_the_size_of_the_shop() -> None:
    scale = 0.005
    customers: set[int] = set()
    products: set[int] = set()
    vouchers: set[int] = set()
    events = 0
    for batch in generate(GeneratorConfig(scale=scale, faults=Faults.none()), 0, 120):
        customers.update(r[0] for r in batch.rows["customer"])
        products.update(r[0] for r in batch.rows["product"])
        vouchers.update(r[0] for r in batch.rows["voucher"])
        events += len(batch.rows["event"])
    assert 0.75 * 20_000 * scale < len(customers) < 1.3 * 20_000 * scale
    assert 27 <= len(products) < 40  # about 30 products at least, at any scale
    assert 5 <= len(vouchers) < 10
    assert 0.8 * 5_000_000 * scale < events < 1.25 * 5_000_000 * scale


def test_day_zero_carries_the_initial_load(clean: list[Batch]) -> None:
    first = clean[0].rows
    for table, expected in (("customer", 0.6 * 20_000 * 0.02), ("product", 28), ("voucher", 3)):
        old = [r for r in first[table] if r[COL[table]["created_at"]] < day_start(0)]
        assert len(old) >= 0.9 * expected
    for batch in clean[1:]:
        for table in ("customer", "product", "voucher"):
            # after day 0 only rows that changed: an entity created before day 0 shows up
            # again only with an updated_at inside the batch's day
            for row in batch.rows[table]:
                assert updated_at(table, row) >= day_start(batch.day)


# ---------------------------------------------------------------- EL semantics, no faults


def test_one_version_per_key_per_batch_and_versions_move_forward(clean: list[Batch]) -> None:
    last: dict[tuple[str, int], datetime] = {}
    for batch in clean:
        for table in VERSIONED:
            keys = [row[0] for row in batch.rows[table]]
            assert len(keys) == len(set(keys)), table
            for row in batch.rows[table]:
                when = updated_at(table, row)
                if (table, row[0]) in last:
                    assert when > last[table, row[0]], (table, row)
                last[table, row[0]] = when
                if batch.day == 0 and when < day_start(0):  # initial load
                    assert table in ("customer", "product", "voucher")
                    assert row[COL[table]["created_at"]] <= when
                else:
                    assert day_start(batch.day) <= when < day_start(batch.day + 1), (table, row)


def test_ids_come_from_sequences(clean: list[Batch]) -> None:
    for table in (*VERSIONED, "event"):
        first_seen: dict[int, int] = {}
        for batch in clean:
            for row in batch.rows[table]:
                first_seen.setdefault(row[0], batch.day)
        ids = sorted(first_seen)
        assert ids[0] >= 1
        # a key that first appears on a later day has a higher id than all earlier ones
        by_day = defaultdict(list)
        for key, day in first_seen.items():
            by_day[day].append(key)
        days = sorted(by_day)
        for earlier, later in itertools.pairwise(days):
            assert max(by_day[earlier]) < min(by_day[later]), table
    event_ids = [row[0] for batch in clean for row in batch.rows["event"]]
    assert len(event_ids) == len(set(event_ids))


def test_order_lifecycle(clean: list[Batch]) -> None:
    history: dict[int, list[tuple[int, str, datetime, datetime]]] = defaultdict(list)
    for batch in clean:
        for o in batch.rows["orders"]:
            history[o[0]].append((batch.day, o[3], o[4], o[5]))
    statuses = Counter(status for versions in history.values() for _, status, _, _ in versions)
    assert {"placed", "paid", "shipped", "delivered"} <= set(statuses)
    assert statuses["cancelled"] + statuses["returned"] > 0
    for versions in history.values():
        placed_day = (versions[0][2] - day_start(0)).days
        assert versions[0][0] == placed_day  # first seen in the batch of its creation
        shipped_day = delivered_day = None
        for day, status, created, _ in versions:
            assert created == versions[0][2]
            if status == "shipped" and shipped_day is None:
                shipped_day = day
            if status == "delivered" and delivered_day is None:
                delivered_day = day
        for (_, before, _, _), (_, after, _, _) in itertools.pairwise(versions):
            if after == "cancelled":
                assert before in ("placed", "paid")
            elif after == "returned":
                assert before in ("delivered", "returned")
            else:
                assert before != "cancelled"
                assert STATUS_RANK[after] >= STATUS_RANK[before]
        assert shipped_day is None or shipped_day > placed_day
        assert delivered_day is None or (shipped_day is not None and delivered_day > shipped_day)


def test_order_lines_prices_and_discounts(clean: list[Batch]) -> None:
    vouchers: dict[int, tuple[Any, ...]] = {}
    price_eod: dict[int, dict[int, Decimal]] = defaultdict(dict)  # product -> day -> price
    orders: dict[int, tuple[int, tuple[Any, ...]]] = {}
    lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for batch in clean:
        for v in batch.rows["voucher"]:
            vouchers[v[0]] = v
        for p in batch.rows["product"]:
            price_eod[p[0]][batch.day] = p[4]
        for o in batch.rows["orders"]:
            orders.setdefault(o[0], (batch.day, o))
        for line in batch.rows["order_line"]:
            lines[line[1]].append(line)
            assert orders[line[1]][0] == batch.day  # with the order's creation batch
    assert set(lines) == set(orders)
    with_voucher = 0
    for oid, (day, order) in orders.items():
        totals = [line[4] * line[3] for line in lines[oid]]
        discounts = [line[5] for line in lines[oid]]
        for line, total in zip(lines[oid], totals, strict=True):
            assert 1 <= line[3] <= 3
            assert line[6] == line[7] == order[4]
            assert Decimal(0) <= line[5] <= total
            # the list price at that moment: yesterday's or today's end-of-day price
            history = price_eod[line[2]]
            before = [history[d] for d in sorted(history) if d < day]
            assert line[4] in {*before[-1:], history.get(day)}
        if order[2] is None:
            assert set(discounts) == {Decimal("0.00")}
            continue
        with_voucher += 1
        voucher = vouchers[order[2]]
        assert voucher[4] <= order[4] and (voucher[5] is None or order[4] < voucher[5])
        if voucher[2] == "percentage":
            for total, discount in zip(totals, discounts, strict=True):
                exact = total * voucher[3] / 100
                assert discount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        else:
            assert voucher[2] == "fixed_amount"
            assert sum(discounts) == min(voucher[3], sum(totals))
    assert 0.05 * len(orders) < with_voucher < 0.3 * len(orders)


def test_every_tracked_order_has_its_confirmation_page_view(clean: list[Batch]) -> None:
    confirmations: dict[int, list[datetime]] = defaultdict(list)
    tracked: set[int] = set()
    for batch in clean:
        for event in batch.rows["event"]:
            doc = json.loads(event[3])
            if doc["customer-id"] is not None:
                tracked.add(doc["customer-id"])
                if doc.get("page") == f"{SHOP}/checkout/confirmation":
                    confirmations[doc["customer-id"]].append(event[2])
    orders = [o for batch in clean for o in batch.rows["orders"] if o[3] in ("placed", "paid")]
    orders = list({o[0]: o for o in orders}.values())
    untracked = 0
    for order in orders:
        if order[1] not in tracked:
            untracked += 1
            continue
        assert any(abs(ts - order[4]) <= timedelta(seconds=2) for ts in confirmations[order[1]])
    assert 0 < untracked < 0.25 * len(orders)  # some customers block the tracker


Visit = tuple[int, datetime, datetime, int]  # customer id, first/last event, guest adds


@pytest.fixture(scope="module", params=[1, 2, 5])
def traced(request: pytest.FixtureRequest) -> tuple[list[Batch], list[Visit]]:
    """Two clean weeks at scale 0.01, with the span of every visit that ends logged in.

    A visit's boundaries are not in the data: a customer's earlier visit that ended with
    an abandoned cart can lie minutes before the visit that buys, and a pause inside a
    visit can be longer than one between visits. So they are taken from the simulation:
    each call of `Sim._visit` appends one visit's events, in time order. The seeds are
    ones whose two weeks hold an order placed right after signing up with a guest cart.
    """
    spans: list[tuple[int, int, list[str], int]] = []
    visit = Sim._visit

    def spy(sim: Sim, *args: Any, **kwargs: Any) -> int:
        first = len(sim.events)
        anonymous = visit(sim, *args, **kwargs)
        own = sim.events[first:]
        guest_adds = sum(
            kind == "ADD_PRODUCT_TO_CART" and cell[0].endswith("null") for _, kind, cell, _ in own
        )
        # the last event's prefix cell names the customer once sign-ups have their ids
        spans.append((own[0][0], own[-1][0], own[-1][2], guest_adds))
        return anonymous

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Sim, "_visit", spy)
        batches = run(0.01, 14, Faults.none(), seed=request.param)
    start = day_start(0)
    visits = []
    for first, last, cell, guest_adds in spans:
        customer = json.loads(cell[0] + "}")["customer-id"]
        if customer is not None:
            span = start + timedelta(0, 0, first), start + timedelta(0, 0, last)
            visits.append((customer, *span, guest_adds))
    return batches, visits


def test_order_lines_are_the_cart_of_the_visit_that_placed_the_order(
    traced: tuple[list[Batch], list[Visit]],
) -> None:
    """A tracked order holds exactly what its customer put in the cart (adds minus
    removes, per product) during the visit that ends in its confirmation page view: not
    what was added in earlier visits, nor as a guest before signing up in that visit."""
    batches, visits = traced
    events: dict[int, list[tuple[datetime, str, Any]]] = defaultdict(list)
    for batch in batches:
        for _, kind, ts, doc in batch.rows["event"]:
            data = json.loads(doc)
            if data["customer-id"] is not None:
                events[data["customer-id"]].append((ts, kind.strip().upper(), data))
    orders = {o[0]: o for batch in batches for o in batch.rows["orders"]}
    lines: dict[int, dict[int, int]] = defaultdict(dict)
    for batch in batches:
        for line in batch.rows["order_line"]:
            assert line[2] not in lines[line[1]]  # one line per product
            lines[line[1]][line[2]] = line[3]
    checked = after_guest_cart = 0
    for oid, order in orders.items():
        customer, created = order[1], order[4]
        confirmations = [
            ts
            for ts, kind, data in events[customer]
            if kind == "PAGE_VIEW"
            and data["page"] == f"{SHOP}/checkout/confirmation"
            and abs(ts - created) <= timedelta(seconds=2)
        ]
        if not confirmations:
            continue  # the customer blocks the tracker
        (confirmed,) = confirmations
        # the visit that placed the order; no other visit of the customer overlaps it
        ((start, guest_adds),) = [
            (a, g) for c, a, b, g in visits if c == customer and a <= confirmed <= b
        ]
        overlapping = [
            a for c, a, b, _ in visits if c == customer and a <= confirmed and b >= start
        ]
        assert overlapping == [start]
        after_guest_cart += guest_adds > 0
        cart: Counter[int] = Counter()
        for ts, kind, data in events[customer]:
            if start <= ts <= confirmed:
                if kind == "ADD_PRODUCT_TO_CART":
                    cart[data["product"]] += data["quantity"]
                elif kind == "REMOVE_PRODUCT_FROM_CART":
                    cart[data["product"]] -= data["quantity"]
                    assert cart[data["product"]] >= 0  # only what is in the cart
        assert {pid: qty for pid, qty in cart.items() if qty} == lines[oid], oid
        checked += 1
    assert checked >= 0.8 * len(orders)
    assert after_guest_cart > 0  # the case of a guest's cart before signing up is covered


def test_orders_often_have_several_lines(traced: tuple[list[Batch], list[Visit]]) -> None:
    batches, _ = traced
    lines = Counter(line[1] for batch in batches for line in batch.rows["order_line"])
    assert len(lines) >= 20
    assert sum(n >= 2 for n in lines.values()) >= 0.2 * len(lines)
    assert 1.4 <= sum(lines.values()) / len(lines) <= 2.5


def test_customers(clean: list[Batch]) -> None:
    rows = [r for batch in clean for r in batch.rows["customer"]]
    countries = Counter(r[8] for r in rows)
    assert countries.most_common(1)[0][0] == "NL"
    assert all(len(code) == 2 and code.isupper() for code in countries)
    assert (countries["NL"] + countries["BE"] + countries["DE"]) > 0.85 * len(rows)
    deleted = [r for r in rows if r[11] is not None]
    assert deleted
    for r in rows:
        pii = (r[1], r[2], r[3], r[4], r[5])
        if r[11] is None:
            assert None not in (r[1], r[2], r[3], r[5])
            assert r[3] == r[3].strip().lower()  # no messy e-mails without the fault
        else:
            assert pii == (None,) * 5
    seen: dict[int, tuple[Any, ...]] = {}
    changed: Counter[str] = Counter()
    for r in rows:
        if r[0] in seen and r[11] is None:
            old = seen[r[0]]
            changed.update(
                name for name, i in (("email", 3), ("phone", 4), ("street", 5)) if old[i] != r[i]
            )
        seen[r[0]] = r
    assert changed["street"] > 0 and changed["email"] > 0


def test_products_stock_and_prices(clean: list[Batch]) -> None:
    history: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for batch in clean:
        for p in batch.rows["product"]:
            history[p[0]].append(p)
    categories = {p[3] for versions in history.values() for p in versions}
    assert 5 <= len(categories) <= 12
    price_changes = restocks = sold_out = 0
    for versions in history.values():
        for p in versions:
            assert p[5] >= 0 and p[4] > 0
        for old, new in itertools.pairwise(versions):
            price_changes += old[4] != new[4]
            restocks += new[5] > old[5] + 5
            sold_out += new[5] == 0
    assert price_changes > 0 and restocks > 0 and sold_out > 0
    # stock changes daily for active products: most of them get a version most days
    days_seen = Counter(len(versions) for versions in history.values())
    assert sum(n for n, count in days_seen.items() for _ in range(count)) > 0.5 * 21 * len(history)


# ---------------------------------------------------------------- events, no faults


def test_events_are_clean_and_well_formed(clean: list[Batch]) -> None:
    kinds: Counter[str] = Counter()
    odd_casing = anonymous = total = referrers = 0
    for batch in clean:
        for _eid, kind, ts, doc in batch.rows["event"]:
            total += 1
            assert day_start(batch.day) <= ts < day_start(batch.day + 1)
            known = kind.strip().upper()
            assert known in KNOWN_EVENT_TYPES
            odd_casing += known != kind
            kinds[known] += 1
            data = json.loads(doc)
            assert {"user-agent", "ip", "customer-id"} <= set(data)
            extra = set(data) - {"user-agent", "ip", "customer-id"}
            if known == "PAGE_VIEW" and "referrer" in data:
                referrers += 1
                assert not data["referrer"].startswith(SHOP)
                extra.discard("referrer")
            assert extra == DOC_KEYS[known], (known, data)
            assert data["customer-id"] is None or type(data["customer-id"]) is int
            anonymous += data["customer-id"] is None
            if known == "PAGE_VIEW":
                assert data["page"].startswith(SHOP + "/")
    visits = kinds["VISIT_RELATED_PRODUCT"] + kinds["VISIT_RECENTLY_VISITED_PRODUCT"]
    visits += kinds["VISIT_PERSONAL_RECOMMENDATION"]
    assert kinds["PAGE_VIEW"] > visits > kinds["SEARCH"]
    assert kinds["ADD_PRODUCT_TO_CART"] > kinds["REMOVE_PRODUCT_FROM_CART"] > 0
    assert kinds["SIGN_UP_SUCCESS"] > 0
    assert 0.2 < anonymous / total < 0.4
    assert 0.003 < odd_casing / total < 0.03  # the tracker's casing is not guaranteed
    assert referrers > 0


def test_sign_up_creates_the_customer_within_seconds(clean: list[Batch]) -> None:
    created = {r[0]: r[9] for batch in clean for r in batch.rows["customer"]}
    signups = 0
    for batch in clean:
        for _, kind, ts, doc in batch.rows["event"]:
            if kind.strip().upper() == "SIGN_UP_SUCCESS":
                signups += 1
                cid = json.loads(doc)["customer-id"]
                assert abs(created[cid] - ts) < timedelta(seconds=5)
    assert signups > 0


def test_sessions_and_daily_rhythm(clean: list[Batch]) -> None:
    by_customer: dict[int, list[datetime]] = defaultdict(list)
    hours: Counter[int] = Counter()
    per_day: Counter[int] = Counter()
    for batch in clean:
        per_day[batch.day] += len(batch.rows["event"])
        for _, _, ts, doc in batch.rows["event"]:
            hours[ts.hour] += 1
            cid = json.loads(doc)["customer-id"]
            if cid is not None:
                by_customer[cid].append(ts)
    sizes = []
    long_pauses = 0
    for stamps in by_customer.values():
        stamps.sort()
        size = 1
        for a, b in itertools.pairwise(stamps):
            if b - a > timedelta(minutes=30):
                long_pauses += b.date() == a.date() and b - a < timedelta(hours=3)
                sizes.append(size)
                size = 1
            else:
                size += 1
        sizes.append(size)
    sizes.sort()
    assert 3 <= sizes[len(sizes) // 2] <= 20
    assert sum(3 <= s <= 40 for s in sizes) > 0.7 * len(sizes)
    assert long_pauses > 0
    assert hours[19] + hours[20] > 3 * (hours[3] + hours[4])
    weekend = [per_day[d] for d in per_day if (START + timedelta(d)).weekday() >= 5]
    weekdays = [per_day[d] for d in per_day if (START + timedelta(d)).weekday() < 5]
    assert sum(weekend) / len(weekend) > sum(weekdays) / len(weekdays)


def test_tiny_scale_shows_every_feature_within_ten_days() -> None:
    batches = run(0.002, 10, Faults())
    statuses = Counter(o[3] for b in batches for o in b.rows["orders"])
    assert statuses["shipped"] >= 2 and statuses["delivered"] >= 1
    assert any(o[2] is not None for b in batches for o in b.rows["orders"])
    kinds = Counter(e[1].strip().upper() for b in batches for e in b.rows["event"])
    assert kinds["SIGN_UP_SUCCESS"] >= 1
    assert any('"customer-id": null' in e[3] for b in batches for e in b.rows["event"])


# ---------------------------------------------------------------- faults

Measure = Callable[[list[Batch]], tuple[int, int]]  # (hits, population)


def _distinct_events(batches: list[Batch]) -> list[tuple[int, tuple[Any, ...], datetime]]:
    seen: dict[int, tuple[int, tuple[Any, ...], datetime]] = {}
    for b in batches:
        for e in b.rows["event"]:
            seen.setdefault(e[0], (b.day, e, b.extracted_at))
    return list(seen.values())


def m_duplicate_batch(batches: list[Batch]) -> tuple[int, int]:
    twice = sum(a == b for a, b in itertools.pairwise(batches))
    return twice, len({b.day for b in batches})


def m_duplicate_row(batches: list[Batch]) -> tuple[int, int]:
    hits = population = 0
    for b in batches:
        for rows in b.rows.values():
            hits += len(rows) - len(set(rows))
            population += len(set(rows))
    return hits, population


def m_tied_version(batches: list[Batch]) -> tuple[int, int]:
    groups: dict[tuple[str, int, datetime], set[tuple[Any, ...]]] = defaultdict(set)
    for b in batches:
        for table in VERSIONED:
            for row in b.rows[table]:
                groups[table, row[0], updated_at(table, row)].add(row)
    return sum(len(g) > 1 for g in groups.values()), len(groups)


def m_out_of_order(batches: list[Batch]) -> tuple[int, int]:
    hits = 0
    versions = set()
    for b in batches:
        for table in VERSIONED:
            for row in b.rows[table]:
                versions.add((table, row))
                hits += b.day > 0 and updated_at(table, row) < day_start(b.day)
    return hits, len(versions)


def m_late_event(batches: list[Batch]) -> tuple[int, int]:
    events = _distinct_events(batches)
    return sum(e[2] < day_start(day) for day, e, _ in events), len(events)


def m_future_event(batches: list[Batch]) -> tuple[int, int]:
    events = _distinct_events(batches)
    return sum(e[2] > extracted for _, e, extracted in events), len(events)


def m_invalid_json(batches: list[Batch]) -> tuple[int, int]:
    events = _distinct_events(batches)
    return sum(parse(e[3]) is None for _, e, _ in events), len(events)


def m_odd_event_type(batches: list[Batch]) -> tuple[int, int]:
    events = _distinct_events(batches)
    return sum(e[1].strip().upper() not in KNOWN_EVENT_TYPES for _, e, _ in events), len(events)


def m_string_customer_id(batches: list[Batch]) -> tuple[int, int]:
    ids = [doc["customer-id"] for _, e, _ in _distinct_events(batches) if (doc := parse(e[3]))]
    logged_in = [cid for cid in ids if cid is not None]
    return sum(isinstance(cid, str) for cid in logged_in), len(logged_in)


def m_messy_email(batches: list[Batch]) -> tuple[int, int]:
    emails = [r[3] for r in {r for b in batches for r in b.rows["customer"]} if r[3] is not None]
    return sum(e != e.strip().lower() for e in emails), len(emails)


MEASURES: dict[str, Measure] = {
    "duplicate_batch": m_duplicate_batch,
    "duplicate_row": m_duplicate_row,
    "tied_version": m_tied_version,
    "out_of_order": m_out_of_order,
    "late_event": m_late_event,
    "future_event": m_future_event,
    "invalid_json": m_invalid_json,
    "odd_event_type": m_odd_event_type,
    "string_customer_id": m_string_customer_id,
    "messy_email": m_messy_email,
}
# fault -> (rate, scale, days), chosen so that about 50 or more hits are expected
FAULT_RUNS = {
    "duplicate_batch": (0.3, 0.002, 120),
    "duplicate_row": (0.05, 0.01, 14),
    "tied_version": (0.05, 0.02, 21),
    "out_of_order": (0.05, 0.02, 21),
    "late_event": (0.05, 0.01, 30),
    "future_event": (0.05, 0.01, 14),
    "invalid_json": (0.05, 0.01, 14),
    "odd_event_type": (0.05, 0.01, 14),
    "string_customer_id": (0.05, 0.01, 14),
    "messy_email": (0.2, 0.02, 7),
}


def test_every_fault_is_measured() -> None:
    assert set(MEASURES) == set(FAULT_RUNS) == set(vars(Faults()))
    assert all(rate > 0 for rate in vars(Faults()).values())
    assert all(rate == 0 for rate in vars(Faults.none()).values())


def test_no_fault_shows_without_its_rate(clean: list[Batch]) -> None:
    for name, measure in MEASURES.items():
        assert measure(clean)[0] == 0, name


@pytest.mark.parametrize("fault", sorted(FAULT_RUNS))
def test_fault_rate(fault: str) -> None:
    rate, scale, days = FAULT_RUNS[fault]
    batches = run(scale, days, only(**{fault: rate}))
    hits, population = MEASURES[fault](batches)
    assert population * rate >= 30, "test too small to measure the rate"
    # late events and held-back versions due after the last day are never delivered
    low = 0.6 if fault in ("late_event", "out_of_order") else 0.7
    assert low * rate < hits / population < 1.35 * rate, (hits, population)
    for other, measure in MEASURES.items():
        if other != fault:
            assert measure(batches)[0] == 0, other


def test_out_of_order_versions_arrive_after_a_newer_one() -> None:
    batches = run(0.02, 21, only(out_of_order=0.05))
    newest: dict[tuple[str, int], datetime] = {}
    overtaken = 0
    for b in batches:
        for table in VERSIONED:
            for row in b.rows[table]:
                key, when = (table, row[0]), updated_at(table, row)
                overtaken += key in newest and when < newest[key]
                newest[key] = max(when, newest.get(key, when))
    assert overtaken > 0


def test_late_events_have_a_long_tail() -> None:
    delays = Counter(
        day - (e[2] - day_start(0)).days
        for day, e, _ in _distinct_events(run(0.01, 40, only(late_event=0.05)))
    )
    assert delays[0] > 0 and delays[1] > 0
    assert max(delays) >= 10


# ---------------------------------------------------------------- COPY text


def test_format_row_escapes_and_formats() -> None:
    when = datetime(2026, 1, 5, 13, 4, 5, 120000, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    row = (
        42,
        None,
        "tab\there",
        "new\nline\r\n",
        "back\\slash \\N",
        Decimal("12.30"),
        True,
        False,
        when,
        datetime(2026, 1, 5, 14, 4, 5, tzinfo=cet),
        "",
        "plain, 'quoted' \"text\" é",
    )
    assert format_row(row) == (
        "42\t\\N\ttab\\there\tnew\\nline\\r\\n\tback\\\\slash \\\\N\t12.30\tt\tf\t"
        "2026-01-05T13:04:05.120000+00:00\t2026-01-05T13:04:05+00:00\t\t"
        "plain, 'quoted' \"text\" é\n"
    )
    assert format_row([]) == "\n"
    assert format_row([Decimal("0.00"), Decimal("1E+1"), -7]) == "0.00\t10\t-7\n"
    with pytest.raises(ValueError):
        format_row([datetime(2026, 1, 5)])


def test_format_rows_is_format_row_of_each_row() -> None:
    """Column by column, every kind of column (one type, several, NULLs, characters to
    escape) gives the text that format_row gives row by row."""
    when = datetime(2026, 1, 5, 13, 4, 5, 120000, tzinfo=UTC)
    cet = timezone(timedelta(hours=1))
    rows = [
        (1, "plain", when, Decimal("1.50"), True, None, "a\tb", 1.5),
        (22, "é", when + timedelta(seconds=1), Decimal("1E+1"), False, 3, "c", float("nan")),
        (-3, "", datetime(2026, 1, 5, 14, tzinfo=cet), Decimal("NaN"), True, None, "x\\y", 2.0),
    ]
    stamp = datetime(2026, 1, 6, 0, 5, tzinfo=UTC)
    expected = "".join(format_row((*row, stamp)) for row in rows)
    assert format_rows(rows, stamp) == expected
    assert format_rows(iter(rows), stamp) == expected
    assert format_rows([(1, "a\tb"), (2, "c\n")]) == "1\ta\\tb\n2\tc\\n\n"
    assert format_rows([(when, None), (when, 7)], "t") == (
        "2026-01-05T13:04:05.120000+00:00\t\\N\tt\n2026-01-05T13:04:05.120000+00:00\t7\tt\n"
    )
    assert format_rows([(Decimal("2.50"),), (Decimal("0.00"),)]) == "2.50\n0.00\n"
    assert format_rows([]) == ""
    assert format_rows([(), ()], 1) == "1\n1\n"
    assert format_rows([(1,), (2, "b")]) == "1\n2\tb\n"  # rows of different widths


def test_copy_text_of_columns_one_value_in_two_parts() -> None:
    """split_last: the last two columns are one value (a document's visitor part and its
    rest), each part escaped, no tab between them."""
    columns = [[1, 2], ["a", "b"], ['{"ip": "x", ', ""], ['"p": 1}', 'tab\there"}']]
    assert format_columns(columns, "t", split_last=True) == (
        '1\ta\t{"ip": "x", "p": 1}\tt\n2\tb\ttab\\there"}\tt\n'
    )
    assert format_columns(columns, "t") == (
        '1\ta\t{"ip": "x", \t"p": 1}\tt\n2\tb\t\ttab\\there"}\tt\n'
    )


def test_copy_text_timestamps_are_isoformat() -> None:
    base = datetime(2026, 1, 5, tzinfo=UTC)
    stamps = [0, 1_000, 59_999_000, 60_000_000, 61_000_123, 86_400_000_000 + 5_000_000, -1]
    assert iso_stamps(stamps, base) == [
        "2026-01-05T00:00:00+00:00",
        "2026-01-05T00:00:00.001000+00:00",
        "2026-01-05T00:00:59.999000+00:00",
        "2026-01-05T00:01:00+00:00",
        "2026-01-05T00:01:01.000123+00:00",
        "2026-01-06T00:00:05+00:00",
        "2026-01-04T23:59:59.999999+00:00",
    ]


def test_copy_text_is_the_batches_rows_formatted() -> None:
    """next_day_copy gives, byte for byte, format_rows of next_day's batches: with faults
    frequent (future events stamped to the microsecond, late events from other days,
    broken documents, duplicated batches, held-back and tied versions)."""
    faults = replace(PENDING.faults, future_event=0.05, invalid_json=0.05, odd_event_type=0.05)
    config = replace(PENDING, faults=faults)
    rows, text = Simulation(config), Simulation(config)
    micro = 0
    for _ in range(6):
        batches, copies = rows.next_day(), text.next_day_copy()
        assert [(c.day, c.extracted_at) for c in copies] == [
            (b.day, b.extracted_at) for b in batches
        ]
        for batch, copy in zip(batches, copies, strict=True):
            for table in contract.TABLES:
                expected = format_rows(batch.rows[table], batch.extracted_at).encode()
                assert copy.text(table) == expected, (batch.day, table)
                assert b"".join(copy.chunks(table, rows=7)) == expected
                assert copy.counts[table] == len(batch.rows[table])
            micro += sum(row[2].microsecond % 1000 > 0 for row in batch.rows["event"])
    assert micro > 0
    assert rows.snapshot() == text.snapshot()
