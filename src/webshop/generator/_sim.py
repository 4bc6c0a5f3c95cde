"""The day-by-day simulation of the webshop's operational database and tracker.

The simulation produces clean data; `_faults` layers the EL job's faults on top. Internal
times are integer microseconds since midnight UTC of day 0 (negative before it).
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from operator import itemgetter
from typing import Generic, TypeVar

from . import _data as data
from . import _faults as faults
from ._config import GeneratorConfig
from ._output import Day, EventColumns
from ._util import DAY, HOUR, MINUTE, MS, SECOND, Quota, Row, money
from ._world import (
    Customer,
    Order,
    People,
    Product,
    Voucher,
    list_price,
    make_product,
    make_voucher,
    random_ip,
    random_ua,
)

PAGE_VIEW = "PAGE_VIEW"
ADD = "ADD_PRODUCT_TO_CART"
REMOVE = "REMOVE_PRODUCT_FROM_CART"
SIGN_UP = "SIGN_UP_SUCCESS"
RELATED = "VISIT_RELATED_PRODUCT"
RECENT = "VISIT_RECENTLY_VISITED_PRODUCT"
PERSONAL = "VISIT_PERSONAL_RECOMMENDATION"
SEARCH = "SEARCH"
KNOWN_EVENT_TYPES = (PAGE_VIEW, ADD, REMOVE, SIGN_UP, RELATED, RECENT, PERSONAL, SEARCH)

SIM_DAYS = 120  # the horizon the scale's totals refer to
# Day d's batch is extracted between 00:03 and 00:20 UTC of day d + 1.
EXTRACTION_DELAY = 3 * MINUTE
EXTRACTION_SPREAD = 17 * MINUTE
# The shop before day 0 holds rows created up to this many days earlier (the catalogue).
HISTORY_DAYS = 1095

# An event before id assignment: (timestamp, type, prefix cell, rest of the JSON text).
# The cell holds the visitor part ('{"user-agent": "...", "ip": "...", "customer-id": 7');
# it is a cell so that a visitor who signs up gets the new id once ids are handed out.
Event = tuple[int, str, list[str], str]

_SHOP = data.SHOP
_CHECKOUT = (
    f', "page": "{_SHOP}/cart"}}',
    f', "page": "{_SHOP}/checkout"}}',
    f', "page": "{_SHOP}/checkout/confirmation"}}',
)
_REGISTER = f', "page": "{_SHOP}/account/register"}}'
_CATEGORY_PAGES = tuple(f"/category/{slug}" for slug, _, _, _ in data.CATEGORIES)
_QUERIES = data.SEARCH_QUERIES
_QUERY_CUM = tuple(accumulate(1.0 / (i + 2) for i in range(len(_QUERIES))))
_QUERY_SUFFIX = {q: f', "query": "{q}"}}' for q in _QUERIES}
_QUERY_PAGE = {q: f', "page": "{_SHOP}/search?q={q.replace(" ", "+")}"}}' for q in _QUERIES}
_REFERRERS = tuple(url for url, _ in data.REFERRERS)
_REFERRER_CUM = tuple(accumulate(weight for _, weight in data.REFERRERS))
_ORDER_STATUS_EDITABLE = ("placed", "paid", "shipped")
# the parts of an Event, and the visitor part in its cell
_TIMESTAMP = itemgetter(0)
_KIND = itemgetter(1)
_CELL = itemgetter(2)
_REST = itemgetter(3)
_IN_CELL = itemgetter(0)

T = TypeVar("T")


class Pool(Generic[T]):
    """Weighted choice from a fixed list by bisecting cumulative weights."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self._items = list(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1] if self._cum else 0.0

    def __len__(self) -> int:
        return len(self._items)

    def pick(self, draw: float) -> T:
        """The item at `draw` in [0, 1)."""
        return self._items[bisect(self._cum, draw * self._total)]


def _prefix(ua: str, ip: str, customer_id: int | None) -> str:
    cid = "null" if customer_id is None else str(customer_id)
    return f'{{"user-agent": "{ua}", "ip": "{ip}", "customer-id": {cid}'


def line_discounts(voucher: Voucher | None, totals: list[int]) -> list[int]:
    """Each line's total discount in cents (line totals in cents)."""
    if voucher is None:
        return [0] * len(totals)
    if voucher.kind == "percentage":
        pct = voucher.value  # 1000 = 10 %
        return [(total * pct + 5_000) // 10_000 for total in totals]
    amount, gross = voucher.value, sum(totals)
    if amount >= gross:
        return list(totals)
    out = [total * amount // gross for total in totals]
    rest = amount - sum(out)
    order = sorted(range(len(totals)), key=lambda i: (-(totals[i] * amount % gross), i))
    while rest > 0:
        for i in order:
            if rest and out[i] < totals[i]:
                out[i] += 1
                rest -= 1
    return out


class Sim:
    """State of the shop plus the machinery to advance it one day at a time."""

    def __init__(self, config: GeneratorConfig, *, world: bool = True) -> None:
        """The shop before day 0; with world=False without its customers, products and
        vouchers (for `_snapshot`, which then restores a later state)."""
        self.config = config
        self.faults = config.faults
        seed = config.seed
        # independent streams: switching faults never changes the simulated shop
        self.rng = random.Random(f"webshop:{seed}:shop")
        self.frng = random.Random(f"webshop:{seed}:faults")
        self.trng = random.Random(f"webshop:{seed}:tracker")
        self.xrng = random.Random(f"webshop:{seed}:extract")
        start = config.start_date
        self.base = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
        self.weekday0 = start.weekday()

        scale = config.scale
        n_customers = max(15, round(20_000 * scale))
        n_products = max(30, round(1_000 * scale))
        n_vouchers = max(5, round(40 * scale))
        self.events_per_day = 41_667.0 * scale
        self.orders_per_day = max(1.0, 230.0 * scale)
        self.signups_per_day = max(0.2, 0.4 * n_customers / SIM_DAYS)
        self.new_products_per_day = max(0.02, 0.08 * n_products / SIM_DAYS)
        n_vouchers0 = max(3, round(0.6 * n_vouchers))
        self.new_vouchers_per_day = max(0.03, (n_vouchers - n_vouchers0) / SIM_DAYS)

        rng = self.rng
        self.q_orders = Quota(rng)
        self.q_signups = Quota(rng)
        self.q_voucher_use = Quota(rng)
        self.q_price = Quota(rng)
        self.q_new_product = Quota(rng)
        self.q_deactivate = Quota(rng)
        self.q_reactivate = Quota(rng)
        self.q_new_voucher = Quota(rng)
        self.q_voucher_edit = Quota(rng)
        self.q_customer_edit = Quota(rng)
        self.q_delete = Quota(rng)

        self.people = People(rng)
        self.customers: list[Customer] = []  # index = id - 1
        self.products: list[Product] = []  # index = id - 1
        self.vouchers: list[Voucher] = []
        self.voucher_codes: set[str] = set()
        self.page_suffix: list[str] = [""]  # product id -> PAGE_VIEW rest of document
        self.orders: dict[int, Order] = {}  # open orders only
        self.schedule: dict[int, list[tuple[int, int, str]]] = {}  # day -> order changes
        self.next_order_id = 1
        self.next_line_id = 1
        self.next_event_id = 1
        # fault layer state: versions held back, events delivered late
        self.held: dict[int, list[tuple[str, Row]]] = {}
        self.late: dict[int, list[Row]] = {}

        # today's work
        self.day = 0
        self.day0 = 0
        self.dirty_customers: dict[int, Customer] = {}
        self.dirty_products: dict[int, Product] = {}
        self.dirty_vouchers: dict[int, Voucher] = {}
        self.dirty_orders: dict[int, Order] = {}
        self.lines: list[Row] = []
        self.events: list[Event] = []
        self.new_customers: list[tuple[Customer, list[str]]] = []
        self.pending_orders: list[tuple[int, Customer, list[tuple[int, int]]]] = []
        self.busy: dict[int, list[tuple[int, int]]] = {}
        self.hour_cum: list[float] = []
        self.visit_pool: Pool[Customer] = Pool([], [])
        self.order_pool: Pool[Customer] = Pool([], [])
        self.product_pool: Pool[int] = Pool([], [])
        self.category_pool: dict[str, Pool[int]] = {}

        if world:
            self._initial_world(n_customers, n_products, n_vouchers0)

    # ------------------------------------------------------------------ helpers

    def dt(self, t: int) -> datetime:
        return self.base + timedelta(0, 0, t)

    def _touch_customer(self, c: Customer, t: int) -> None:
        if t > c.updated:
            c.updated = t
        self.dirty_customers[c.id] = c

    def _touch_product(self, p: Product, t: int) -> None:
        if t > p.updated:
            p.updated = t
        self.dirty_products[p.id] = p

    def _messy(self, email: str) -> str:
        """The messy_email fault: the login as the customer typed it."""
        rate = self.faults.messy_email
        if rate <= 0.0 or self.frng.random() >= rate:
            return email
        x = self.frng.random()
        if x < 0.3:
            local, _, domain = email.partition("@")
            return f"{local[:1].upper()}{local[1:]}@{domain[:1].upper()}{domain[1:]}"
        if x < 0.45:
            return email.upper()
        if x < 0.7:
            return f" {email}"
        if x < 0.9:
            return f"{email} "
        return f"  {email[:1].upper()}{email[1:]} "

    def _make_customer(self, created: int) -> Customer:
        c = Customer()
        self.people.fill(c)
        assert c.email is not None
        c.email = self._messy(c.email)
        c.created = c.updated = created
        return c

    def _register(self, c: Customer) -> None:
        c.id = len(self.customers) + 1
        self.customers.append(c)
        self.dirty_customers[c.id] = c

    def _add_product(self, created: int) -> Product:
        p = make_product(self.rng, len(self.products) + 1, created)
        self.products.append(p)
        self.page_suffix.append(f', "page": "{_SHOP}/product/{p.id}"}}')
        self.dirty_products[p.id] = p
        return p

    def _add_voucher(self, created: int, evergreen: bool = False) -> Voucher:
        v = make_voucher(
            self.rng, len(self.vouchers) + 1, created, self.voucher_codes, evergreen=evergreen
        )
        self.vouchers.append(v)
        self.dirty_vouchers[v.id] = v
        return v

    @staticmethod
    def _delete(c: Customer, t: int) -> None:
        c.deleted = c.updated = t
        c.first = c.last = c.email = c.phone = c.street = None

    # ------------------------------------------------------------------ day 0 state

    def _initial_world(self, n_customers: int, n_products: int, n_vouchers0: int) -> None:
        rng = self.rng
        r = rng.random
        # customers: 60 % exist, signed up over the two years before day 0, more recently more
        n0 = max(10, round(0.6 * n_customers))
        for created in sorted(-SECOND - int(730 * DAY * r() ** 1.35) for _ in range(n0)):
            c = self._make_customer(created)
            if r() < 0.45:
                c.updated = rng.randint(created, -SECOND)
            self._register(c)
            if r() < 0.012:
                self._delete(c, c.updated)
        # products: most of the catalogue, built up over three years
        n_p0 = max(28, round(0.92 * n_products))
        for created in sorted(-SECOND - int(HISTORY_DAYS * DAY * r()) for _ in range(n_p0)):
            p = self._add_product(created)
            if r() < 0.85:
                p.updated = rng.randint(created, -SECOND)
            if r() < 0.03:
                p.active = False
            elif r() < 0.03:
                p.stock = 0
                p.restock_day = rng.randint(0, 4)
                p.restock_qty = p.target
        # vouchers: an evergreen welcome code plus recent campaigns
        welcome = self._add_voucher(-700 * DAY + rng.randint(0, DAY), evergreen=True)
        welcome.kind, welcome.value = "percentage", 1_000
        self.voucher_codes.discard(welcome.code)
        welcome.code = "WELCOME10"
        self.voucher_codes.add(welcome.code)
        for created in sorted(-SECOND - int(90 * DAY * r()) for _ in range(n_vouchers0 - 1)):
            self._add_voucher(created)

    # ------------------------------------------------------------------ one day

    def step(self, day: int) -> Day:
        """Advance the shop through `day`; the delivery extracted after it."""
        self.day = day
        self.day0 = day0 = day * DAY
        extracted = day0 + DAY + EXTRACTION_DELAY + self.xrng.randrange(EXTRACTION_SPREAD)
        weekday = (self.weekday0 + day) % 7
        hours = data.HOURS_WEEKEND if weekday >= 5 else data.HOURS_WEEKDAY
        self.hour_cum = list(accumulate(hours))
        self.lines = []
        self.events = []
        self.new_customers = []
        self.pending_orders = []
        self.busy = {}

        self._day_products()
        self._day_vouchers()
        self._day_customers()
        self._day_pools()
        self._day_visits(data.WEEKDAY_FACTOR[weekday])
        self._day_orders()
        self._day_reorders()

        dt = self.dt
        rows: dict[str, list[Row]] = {
            "customer": [self.dirty_customers[k].row(dt) for k in sorted(self.dirty_customers)],
            "product": [self.dirty_products[k].row(dt) for k in sorted(self.dirty_products)],
            "voucher": [self.dirty_vouchers[k].row(dt) for k in sorted(self.dirty_vouchers)],
            "orders": [self.dirty_orders[k].row(dt) for k in sorted(self.dirty_orders)],
            "order_line": self.lines,
        }
        self.dirty_customers = {}
        self.dirty_products = {}
        self.dirty_vouchers = {}
        self.dirty_orders = {}
        events, duplicate = faults.apply(self, rows, extracted)
        self.events = []
        return Day(day=day, extracted=extracted, rows=rows, events=events, duplicate=duplicate)

    def event_columns(self) -> EventColumns:
        """Today's events in time order with their ids (their timestamps still integers,
        their documents in two parts: see `EventColumns`)."""
        events = self.events
        events.sort(key=_TIMESTAMP)
        first = self.next_event_id
        self.next_event_id += len(events)
        # C-level maps: this runs for every event
        return EventColumns(
            list(range(first, self.next_event_id)),
            list(map(_KIND, events)),
            list(map(_TIMESTAMP, events)),
            list(map(_IN_CELL, map(_CELL, events))),
            list(map(_REST, events)),
        )

    def _day_products(self) -> None:
        rng, day, day0 = self.rng, self.day, self.day0
        r = rng.random
        for p in self.products:
            if p.restock_day == day:
                p.stock += p.restock_qty
                p.restock_day = -1
                self._touch_product(p, day0 + rng.randint(6 * HOUR, 16 * HOUR))
            if p.active and p.stock > 0:
                # sales through other channels (stores, marketplaces): Poisson(demand)
                limit, k, prod = math.exp(-p.demand), 0, r()
                while prod > limit:
                    k += 1
                    prod *= r()
                if k:
                    p.stock = max(0, p.stock - k)
                    self._touch_product(p, day0 + int(r() * DAY))
        active = [p for p in self.products if p.active]
        for _ in range(self.q_price.take(0.01 * len(active))):
            p = active[int(r() * len(active))]
            if p.price_changed >= day0:
                continue
            if p.price < p.base_price and r() < 0.7:
                new = p.base_price  # the sale ends
            elif r() < 0.6:
                new = list_price(rng, int(p.price * rng.uniform(0.7, 0.9)))
            else:
                new = list_price(rng, int(p.price * rng.uniform(1.03, 1.12)))
            if new == p.price:
                continue
            t = day0 + int(r() * DAY)
            p.price_prev, p.price, p.price_changed = p.price, new, t
            self._touch_product(p, t)
        if len(active) > 10:
            for _ in range(self.q_deactivate.take(max(0.0015 * len(active), 0.02))):
                p = active[int(r() * len(active))]
                if p.active:
                    p.active = False
                    self._touch_product(p, day0 + int(r() * DAY))
        inactive = [p for p in self.products if not p.active]
        for _ in range(self.q_reactivate.take(0.05 * len(inactive))):
            p = inactive[int(r() * len(inactive))]
            if not p.active and p.updated < day0:
                p.active = True
                self._touch_product(p, day0 + int(r() * DAY))
        for _ in range(self.q_new_product.take(self.new_products_per_day)):
            self._add_product(day0 + int(r() * DAY))

    def _day_reorders(self) -> None:
        rng, day = self.rng, self.day
        for p in self.products:
            if p.active and p.restock_day < 0 and p.stock <= p.reorder_point:
                lead = rng.randint(2, 6) if rng.random() < 0.85 else rng.randint(7, 12)
                p.restock_day = day + lead
                p.restock_qty = max(10, -(-(p.target - p.stock) // 5) * 5)

    def _day_vouchers(self) -> None:
        rng, day0 = self.rng, self.day0
        r = rng.random
        for _ in range(self.q_new_voucher.take(self.new_vouchers_per_day)):
            self._add_voucher(day0 + int(r() * DAY))
        for _ in range(self.q_voucher_edit.take(max(0.01 * len(self.vouchers), 0.03))):
            v = self.vouchers[int(r() * len(self.vouchers))]
            if v.valid_until is None or v.created >= day0:
                continue
            t = day0 + int(r() * DAY)
            # prolonged (or revived) campaign
            v.valid_until = (max(v.valid_until, t) // DAY + rng.randint(7, 21)) * DAY
            v.updated = t
            self.dirty_vouchers[v.id] = v

    def _day_customers(self) -> None:
        rng, people, day0 = self.rng, self.people, self.day0
        r = rng.random
        live = [c for c in self.customers if c.deleted is None]
        if not live:
            return
        for _ in range(self.q_customer_edit.take(max(0.0016 * len(live), 0.3))):
            c = live[int(r() * len(live))]
            if c.first is None or c.last is None:
                continue
            x = r()
            if x < 0.3:
                c.email = self._messy(people.email(c.first, c.last, c.country))
            elif x < 0.75:
                if r() < 0.05:
                    c.country = people.country()
                c.street, c.postal, c.city = people.address(c.country)
            else:  # a new number, or the number removed
                c.phone = people.phone(c.country, optional=c.phone is not None)
            self._touch_customer(c, day0 + int(r() * DAY))
        for _ in range(self.q_delete.take(max(0.00012 * len(live), 0.04))):
            c = live[int(r() * len(live))]
            if c.deleted is not None:
                continue
            t = min(max(day0 + int(r() * DAY), c.updated + SECOND), day0 + DAY - SECOND)
            self._delete(c, max(t, c.updated))
            self.dirty_customers[c.id] = c

    def _day_pools(self) -> None:
        day0 = self.day0
        live = [c for c in self.customers if c.deleted is None]
        self.order_pool = Pool(live, [c.weight for c in live])
        visitors = [c for c in live if not c.blocks_tracker]
        self.visit_pool = Pool(visitors, [c.weight for c in visitors])
        sellable = [p for p in self.products if p.active and p.created < day0]
        self.product_pool = Pool([p.id for p in sellable], [p.pop for p in sellable])
        by_category: dict[str, list[Product]] = {}
        for p in sellable:
            by_category.setdefault(p.slug, []).append(p)
        self.category_pool = {
            slug: Pool([p.id for p in ps], [p.pop for p in ps]) for slug, ps in by_category.items()
        }

    # ------------------------------------------------------------------ web traffic

    def _day_visits(self, volume: float) -> None:
        r = self.rng.random
        noise = 0.9 + 0.2 * r()
        target = self.events_per_day * volume * noise
        anonymous = 0.3 * target
        logged_in = target - anonymous
        for _ in range(self.q_orders.take(self.orders_per_day * volume * noise)):
            if not len(self.order_pool):
                break
            c = self.order_pool.pick(r())
            if c.blocks_tracker:
                self._blocked_order(c)
            else:
                n = self._visit_length(11)  # buyers browse longer
                self._visit(c, n, buy=True, signup=False)
                logged_in -= n
        for _ in range(self.q_signups.take(self.signups_per_day * volume)):
            buy = r() < 0.2
            n = self._visit_length(9 if buy else 4)
            anonymous_part = self._visit(None, n, buy=buy, signup=True)
            anonymous -= anonymous_part
            logged_in -= n - anonymous_part
        while anonymous > 0:
            n = self._visit_length(3)
            self._visit(None, n, buy=False, signup=False)
            anonymous -= n
        if len(self.visit_pool):
            while logged_in > 0:
                n = self._visit_length(3)
                self._visit(self.visit_pool.pick(r()), n, buy=False, signup=False)
                logged_in -= n
        # hand out ids in the order things happened, as the database's sequences would
        self.new_customers.sort(key=lambda item: item[0].created)
        for c, cell in self.new_customers:
            self._register(c)
            cell[0] = _prefix(c.ua, c.ip, c.id)
        self.pending_orders.sort(key=itemgetter(0))
        for created, c, items in self.pending_orders:
            self._place_order(created, c, items)

    def _visit_length(self, shortest: int) -> int:
        return min(40, shortest + int(-math.log(1.0 - self.rng.random()) * 8.0))

    def _gaps(self, n: int) -> list[int]:
        """Microseconds between consecutive events of a visit (millisecond precision):
        mostly seconds to a few minutes, now and then a pause of over 30 minutes that
        splits the visit into two sessions."""
        r = self.rng.random
        log = math.log
        cap = 29 * 60_000
        out = []
        for _ in range(n):
            x = r()
            if x < 0.008:
                gap = 31 * 60_000 + int(r() * 90 * 60_000)
            else:
                gap = 800 + int(
                    -log(1.0 - r()) * (9_000 if x < 0.55 else 35_000 if x < 0.9 else 110_000)
                )
                if gap > cap:
                    gap = cap
            out.append(gap * MS)
        if sum(out) > 16 * HOUR:
            out = [min(g, 5 * MINUTE) for g in out]
        return out

    def _start(self, duration: int, customer: Customer | None) -> int:
        """Start of a visit: hour-of-day profile, whole visit inside the day, and not
        overlapping another visit of the same customer (if that can be helped)."""
        r = self.rng.random
        cum = self.hour_cum
        day0 = self.day0
        latest = day0 + DAY - duration - 15 * SECOND
        start = day0
        for _ in range(8):
            hour = min(23, bisect(cum, r() * cum[-1]))
            start = day0 + hour * HOUR + int(r() * 3_600_000) * MS
            if start > latest:
                start = latest - int(r() * 1_800_000) * MS
            start = max(start, day0 + 5 * SECOND)
            if customer is None:
                return start
            spans = self.busy.setdefault(customer.id, [])
            end = start + duration
            for b, e in spans:  # a loop, not all(...): no generator per visit
                if not (end < b or start > e):
                    break
            else:
                spans.append((start, end))
                return start
        return start

    def _addable(self, pid: int) -> bool:
        p = self.products[pid - 1]
        return p.active and p.stock > 0

    def _visit(self, customer: Customer | None, n: int, *, buy: bool, signup: bool) -> int:
        """One visit of n events (plus the order it may end in); returns how many of its
        events are anonymous."""
        rng = self.rng
        r = rng.random
        gaps = self._gaps(n - 1)
        t = self._start(sum(gaps), customer)
        if customer is None:
            ua, ip = random_ua(rng), random_ip(rng)
            cell = [_prefix(ua, ip, None)]
        else:
            if r() < 0.15:
                customer.ip = random_ip(rng)
            ua, ip = customer.ua, customer.ip
            cell = [_prefix(ua, ip, customer.id)]
        signup_at = rng.randint(1, n - 5 if buy else n - 1) if signup else -1
        checkout_at = n - 3 if buy else n
        events = self.events
        add = events.append
        products = self.products
        pool, page = self.product_pool, self.page_suffix
        has_products = len(pool) > 0
        logged_in = customer is not None
        add_share = 0.67 + (0.23 if buy else 0.10)
        remove_share = add_share + 0.035

        # landing page, with a referrer when the visitor came from elsewhere
        cur = 0
        recent: list[int] = []
        cart: dict[int, int] = {}
        x = r()
        if x < 0.35:
            path = "/"
        elif x < 0.55:
            path = _CATEGORY_PAGES[int(r() * len(_CATEGORY_PAGES))]
        elif x < 0.85 and has_products:
            cur = pool.pick(r())
            recent.append(cur)
            path = f"/product/{cur}"
        else:
            query = _QUERIES[bisect(_QUERY_CUM, r() * _QUERY_CUM[-1])]
            path = "/search?q=" + query.replace(" ", "+")
        if r() < 0.45:
            referrer = _REFERRERS[bisect(_REFERRER_CUM, r() * _REFERRER_CUM[-1])]
            add((t, PAGE_VIEW, cell, f', "page": "{_SHOP}{path}", "referrer": "{referrer}"}}'))
        else:
            add((t, PAGE_VIEW, cell, f', "page": "{_SHOP}{path}"}}'))

        search_next: str | None = None
        for i in range(1, n):
            t += gaps[i - 1]
            if i >= checkout_at:
                add((t, PAGE_VIEW, cell, _CHECKOUT[i - checkout_at]))
                continue
            if i == signup_at:
                c = self._make_customer(t - rng.randint(100, 1_500) * MS - int(r() * MS))
                c.ua, c.ip = ua, ip
                c.blocks_tracker = False  # it just tracked the sign-up
                cell = [""]  # the id is known once today's sign-ups get their ids
                self.new_customers.append((c, cell))
                add((t, SIGN_UP, cell, "}"))
                customer, logged_in = c, True
                # The new account starts with an empty cart: the guest's cart is not
                # carried over. Its adds were tracked anonymously (no customer id), so an
                # order holding them could never be matched to the customer's events.
                cart = {}
                continue
            if i == signup_at - 1:
                add((t, PAGE_VIEW, cell, _REGISTER))
                continue
            if search_next is not None:
                add((t, PAGE_VIEW, cell, _QUERY_PAGE[search_next]))
                search_next = None
                continue
            if not has_products:
                add((t, PAGE_VIEW, cell, f', "page": "{_SHOP}/"}}'))
                continue
            if buy and i == checkout_at - 1 and not cart:
                # whoever checks out has something in the cart
                pid = cur
                for _ in range(20):
                    if pid and self._addable(pid):
                        break
                    pid = pool.pick(r())
                if pid and self._addable(pid):
                    qty = 1 if r() < 0.8 else 2
                    cart[pid] = qty
                    add((t, ADD, cell, f', "product": {pid}, "quantity": {qty}}}'))
                    cur = pid
                    continue
            x = r()
            if x < 0.30:
                cur = pool.pick(r())
                recent.append(cur)
                add((t, PAGE_VIEW, cell, page[cur]))
            elif x < 0.40:
                y = r()
                if y < 0.3:
                    path = "/"
                elif y < 0.7:
                    path = _CATEGORY_PAGES[int(r() * len(_CATEGORY_PAGES))]
                elif y < 0.85 and cart:
                    path = "/cart"
                else:
                    path = "/account/orders" if logged_in else "/sale"
                add((t, PAGE_VIEW, cell, f', "page": "{_SHOP}{path}"}}'))
            elif x < 0.58:
                y = r()
                if y < 0.45 and cur:
                    kind = RELATED
                    related = self.category_pool.get(products[cur - 1].slug)
                    pid = related.pick(r()) if related else pool.pick(r())
                elif y < 0.7 and len(recent) > 1:
                    kind = RECENT
                    pid = recent[int(r() * len(recent))]
                elif logged_in:
                    kind = PERSONAL
                    pid = pool.pick(r())
                else:
                    kind = RELATED
                    pid = pool.pick(r())
                cur = pid
                recent.append(pid)
                position = 1 + int(r() * r() * 12)
                add((t, kind, cell, f', "product": {pid}, "position": {position}}}'))
            elif x < 0.67:
                query = _QUERIES[bisect(_QUERY_CUM, r() * _QUERY_CUM[-1])]
                add((t, SEARCH, cell, _QUERY_SUFFIX[query]))
                search_next = query
            elif (
                x < add_share
                and cur
                # one more of a product already in the cart now and then; mostly the
                # shopper moves on to another product (orders of several lines)
                and ((have := cart.get(cur, 0)) == 0 or (have < 3 and r() < 0.25))
                and self._addable(cur)
            ):
                y = r()
                qty = min(3 - have, 1 if y < 0.78 else (2 if y < 0.95 else 3))
                cart[cur] = have + qty
                add((t, ADD, cell, f', "product": {cur}, "quantity": {qty}}}'))
            elif add_share <= x < remove_share and cart:
                in_cart = list(cart)
                pid = in_cart[int(r() * len(in_cart))]
                have = cart[pid]
                qty = have if r() < 0.7 else 1
                if qty == have:
                    del cart[pid]
                else:
                    cart[pid] = have - qty
                add((t, REMOVE, cell, f', "product": {pid}, "quantity": {qty}}}'))
            else:
                cur = pool.pick(r())
                recent.append(cur)
                add((t, PAGE_VIEW, cell, page[cur]))

        if buy and cart and customer is not None:
            created = t - rng.randint(50, 1_500) * MS - int(r() * MS)
            self.pending_orders.append((created, customer, list(cart.items())))
        if signup:
            return signup_at
        return n if customer is None else 0

    def _blocked_order(self, c: Customer) -> None:
        """An order of a customer whose browser blocks the tracker: no events at all."""
        rng = self.rng
        r = rng.random
        if not len(self.product_pool):
            return
        t = self._start(0, None) + int(r() * MS)
        items: dict[int, int] = {}
        for _ in range(1 + int(r() * r() * 4)):
            pid = self.product_pool.pick(r())
            if self._addable(pid) and pid not in items:
                items[pid] = 1 if r() < 0.8 else (2 if r() < 0.8 else 3)
        if items:
            self.pending_orders.append((t, c, list(items.items())))

    # ------------------------------------------------------------------ orders

    def _place_order(self, t: int, c: Customer, items: list[tuple[int, int]]) -> None:
        rng = self.rng
        oid = self.next_order_id
        self.next_order_id += 1
        voucher = None
        if self.q_voucher_use.take(0.15):
            valid = [v for v in self.vouchers if v.valid_at(t)]
            if valid:
                voucher = valid[int(rng.random() * len(valid))]
        prices = []
        for pid, qty in items:
            p = self.products[pid - 1]
            prices.append(p.price_at(t))
            p.stock = max(0, p.stock - qty)
            self._touch_product(p, t)
        discounts = line_discounts(
            voucher, [price * q for price, (_, q) in zip(prices, items, strict=True)]
        )
        when = self.dt(t)
        for (pid, qty), price, discount in zip(items, prices, discounts, strict=True):
            self.lines.append(
                (self.next_line_id, oid, pid, qty, money(price), money(discount), when, when)
            )
            self.next_line_id += 1
        o = Order(oid, c.id, None if voucher is None else voucher.id, t, items)
        self.orders[oid] = o
        self.dirty_orders[oid] = o
        self._plan(o)

    def _plan(self, o: Order) -> None:
        """Schedule the order's future: payment, shipping, delivery, maybe a return or a
        cancellation, and the odd same-day edit."""
        rng = self.rng
        r = rng.random
        t = o.created
        day = t // DAY
        if r() < 0.88:
            paid = t + rng.randint(5, 45 * 60) * SECOND + int(r() * SECOND)
            if paid // DAY != day:
                paid = (day + 1) * DAY + rng.randint(6 * 3600, 12 * 3600) * SECOND
        else:
            paid = (day + 1) * DAY + rng.randint(7 * 3600, 22 * 3600) * SECOND
        paid += int(r() * SECOND)
        ship_day = paid // DAY + (1, 1, 1, 1, 2, 2, 2, 3, 3, 4)[int(r() * 10)]
        shipped = ship_day * DAY + rng.randint(7 * 3600, 19 * 3600) * SECOND + int(r() * SECOND)
        deliver_day = ship_day + (1, 1, 1, 2, 2, 2, 3, 3, 4, 5)[int(r() * 10)]
        delivered = deliver_day * DAY + rng.randint(8 * 3600, 21 * 3600) * SECOND
        delivered += int(r() * SECOND)
        plan: list[tuple[int, str]] = []
        x = r()
        earliest, latest = t + 2 * MINUTE, ship_day * DAY - MINUTE
        if x < 0.03 and earliest < latest:  # cancelled, always before shipping
            cancelled = rng.randint(earliest, latest)
            if cancelled > paid:
                plan.append((paid, "paid"))
            plan.append((cancelled, "cancelled"))
        else:
            plan += [(paid, "paid"), (shipped, "shipped"), (delivered, "delivered")]
            if x < 0.08:
                back = (deliver_day + rng.randint(2, 21)) * DAY + rng.randint(9, 20) * HOUR
                plan.append((back + int(r() * HOUR), "returned"))
        edits = []
        for when, status in [(t, "placed"), *plan]:
            if status in _ORDER_STATUS_EDITABLE and r() < 0.03:
                edit = when + rng.randint(MINUTE, 4 * HOUR)
                if edit // DAY == when // DAY:
                    edits.append((edit, "edit"))
        for when, status in plan + edits:
            self.schedule.setdefault(when // DAY, []).append((when, o.id, status))
        o.pending = len(plan) + len(edits)

    def _day_orders(self) -> None:
        changes = self.schedule.pop(self.day, None)
        if not changes:
            return
        changes.sort()
        for when, oid, status in changes:
            o = self.orders[oid]
            if status != "edit":
                o.status = status
                if status in ("cancelled", "returned"):
                    for pid, qty in o.lines:
                        p = self.products[pid - 1]
                        p.stock += qty
                        self._touch_product(p, when)
            if when > o.updated:
                o.updated = when
            self.dirty_orders[oid] = o
            o.pending -= 1
            if o.pending == 0:
                del self.orders[oid]
