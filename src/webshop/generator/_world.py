"""The operational entities of the simulated shop and how new ones are made up."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable
from datetime import datetime

from . import _data as data
from ._util import DAY, Row, money

_COUNTRY_CODES = tuple(code for code, _ in data.COUNTRIES)
_COUNTRY_CUM = tuple(
    sum(weight for _, weight in data.COUNTRIES[: i + 1]) for i in range(len(data.COUNTRIES))
)
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHJKLMNPRSTVWXZ"

Dt = Callable[[int], datetime]


class Customer:
    __slots__ = (
        "blocks_tracker",
        "city",
        "country",
        "created",
        "deleted",
        "email",
        "first",
        "id",
        "ip",
        "last",
        "phone",
        "postal",
        "street",
        "ua",
        "updated",
        "weight",
    )

    def __init__(self) -> None:
        self.id = 0
        self.first: str | None = None
        self.last: str | None = None
        self.email: str | None = None
        self.phone: str | None = None
        self.street: str | None = None
        self.postal = ""
        self.city = ""
        self.country = ""
        self.created = 0
        self.updated = 0
        self.deleted: int | None = None
        self.blocks_tracker = False
        self.weight = 1.0
        self.ua = ""
        self.ip = ""

    def row(self, dt: Dt) -> Row:
        deleted = self.deleted
        return (
            self.id,
            self.first,
            self.last,
            self.email,
            self.phone,
            self.street,
            self.postal,
            self.city,
            self.country,
            dt(self.created),
            dt(self.updated),
            None if deleted is None else dt(deleted),
        )


class Product:
    __slots__ = (
        "active",
        "base_price",
        "category",
        "created",
        "demand",
        "id",
        "name",
        "pop",
        "price",
        "price_changed",
        "price_prev",
        "reorder_point",
        "restock_day",
        "restock_qty",
        "sku",
        "slug",
        "stock",
        "target",
        "updated",
    )

    def __init__(self) -> None:
        self.id = 0
        self.sku = ""
        self.name = ""
        self.category = ""
        self.slug = ""
        self.price = 0
        self.base_price = 0  # the regular price; sales go below it and come back
        self.price_prev = 0
        self.price_changed = -(1 << 62)
        self.stock = 0
        self.active = True
        self.created = 0
        self.updated = 0
        self.pop = 1.0
        self.demand = 1.0
        self.reorder_point = 0
        self.target = 0
        self.restock_day = -1
        self.restock_qty = 0

    def price_at(self, t: int) -> int:
        return self.price_prev if t < self.price_changed else self.price

    def row(self, dt: Dt) -> Row:
        return (
            self.id,
            self.sku,
            self.name,
            self.category,
            money(self.price),
            self.stock,
            self.active,
            dt(self.created),
            dt(self.updated),
        )


class Voucher:
    __slots__ = (
        "code",
        "created",
        "id",
        "kind",
        "updated",
        "valid_from",
        "valid_until",
        "value",
    )

    def __init__(self) -> None:
        self.id = 0
        self.code = ""
        self.kind = "percentage"
        self.value = 0  # cents: 1000 = 10 % or EUR 10.00
        self.valid_from = 0
        self.valid_until: int | None = None
        self.created = 0
        self.updated = 0

    def valid_at(self, t: int) -> bool:
        return (
            self.created <= t
            and self.valid_from <= t
            and (self.valid_until is None or t < self.valid_until)
        )

    def row(self, dt: Dt) -> Row:
        until = self.valid_until
        return (
            self.id,
            self.code,
            self.kind,
            money(self.value),
            dt(self.valid_from),
            None if until is None else dt(until),
            dt(self.created),
            dt(self.updated),
        )


class Order:
    __slots__ = (
        "created",
        "customer_id",
        "id",
        "lines",
        "pending",
        "status",
        "updated",
        "voucher_id",
    )

    def __init__(
        self,
        oid: int,
        customer_id: int,
        voucher_id: int | None,
        created: int,
        lines: list[tuple[int, int]],
    ) -> None:
        self.id = oid
        self.customer_id = customer_id
        self.voucher_id = voucher_id
        self.status = "placed"
        self.created = created
        self.updated = created
        self.lines = lines  # (product id, quantity), to restock on cancel/return
        self.pending = 0  # scheduled changes still to come

    def row(self, dt: Dt) -> Row:
        return (
            self.id,
            self.customer_id,
            self.voucher_id,
            self.status,
            dt(self.created),
            dt(self.updated),
        )


def _fill(rng: random.Random, template: str) -> str:
    out = []
    for ch in template:
        if ch == "#":
            out.append(_DIGITS[int(rng.random() * 10)])
        elif ch == "@":
            out.append(_LETTERS[int(rng.random() * len(_LETTERS))])
        else:
            out.append(ch)
    return "".join(out)


def random_ip(rng: random.Random) -> str:
    r = rng.random
    if r() < 0.1:
        return "2a02:" + ":".join(f"{int(r() * 65536):x}" for _ in range(7))
    first = data.IP_FIRST_OCTETS[int(r() * len(data.IP_FIRST_OCTETS))]
    return f"{first}.{int(r() * 256)}.{int(r() * 256)}.{1 + int(r() * 254)}"


def random_ua(rng: random.Random) -> str:
    return data.USER_AGENTS[int(rng.random() * len(data.USER_AGENTS))]


class People:
    """Makes up customers' personal data; keeps logins unique."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._emails: set[str] = set()

    def logins(self) -> list[str]:
        """Every email handed out so far, sorted."""
        return sorted(self._emails)

    def set_logins(self, emails: list[str]) -> None:
        self._emails = set(emails)

    def country(self) -> str:
        x = self.rng.random() * _COUNTRY_CUM[-1]
        return _COUNTRY_CODES[min(bisect(_COUNTRY_CUM, x), len(_COUNTRY_CODES) - 1)]

    def email(self, first: str, last: str, country: str) -> str:
        rng = self.rng
        f = first.lower().translate(data.ASCII_FOLD)
        last_ = last.lower().translate(data.ASCII_FOLD)
        x = rng.random()
        if x < 0.4:
            local = f"{f}.{last_}"
        elif x < 0.6:
            local = f"{f[0]}{last_}"
        elif x < 0.8:
            local = f"{f}{last_}{rng.randint(1, 99)}"
        elif x < 0.9:
            local = f"{f}_{last_}"
        else:
            local = f"{f}{rng.randint(1960, 2008)}"
        domains = data.EMAIL_DOMAINS.get(country, data.EMAIL_DOMAINS["*"])
        domain = domains[int(rng.random() * len(domains))]
        email = f"{local}@{domain}"
        while email in self._emails:
            email = f"{local}{rng.randint(1, 9999)}@{domain}"
        self._emails.add(email)
        return email

    def phone(self, country: str, optional: bool = True) -> str | None:
        if optional and self.rng.random() < 0.22:
            return None
        templates = data.PHONES[country]
        return _fill(self.rng, templates[int(self.rng.random() * len(templates))])

    def address(self, country: str) -> tuple[str, str, str]:
        rng = self.rng
        streets = data.STREETS[country]
        street = streets[int(rng.random() * len(streets))]
        number = str(1 + int(rng.random() ** 2 * 240))
        x = rng.random()
        if x < 0.08:
            number += "A"
        elif x < 0.12:
            number += f"-{rng.randint(1, 3)}"
        line = f"{number} {street}" if country == "FR" else f"{street} {number}"
        city, template = data.CITIES[country][int(rng.random() * len(data.CITIES[country]))]
        return line, _fill(rng, template), city

    def fill(self, c: Customer) -> None:
        """Names, login, phone, address and device of a new customer."""
        rng = self.rng
        c.country = self.country()
        c.first = data.FIRST_NAMES[int(rng.random() * len(data.FIRST_NAMES))]
        c.last = data.LAST_NAMES[int(rng.random() * len(data.LAST_NAMES))]
        c.email = self.email(c.first, c.last, c.country)
        c.phone = self.phone(c.country)
        c.street, c.postal, c.city = self.address(c.country)
        c.weight = min(40.0, rng.paretovariate(1.3))
        c.blocks_tracker = rng.random() < 0.05
        c.ua = random_ua(rng)
        c.ip = random_ip(rng)


def make_product(rng: random.Random, pid: int, created: int) -> Product:
    p = Product()
    p.id = pid
    slug, category, (lo, hi), nouns = data.CATEGORIES[int(rng.random() * len(data.CATEGORIES))]
    color, code = data.COLORS[int(rng.random() * len(data.COLORS))]
    adjective = data.ADJECTIVES[int(rng.random() * len(data.ADJECTIVES))]
    noun = nouns[int(rng.random() * len(nouns))]
    p.slug = slug
    p.category = category
    p.name = f"{adjective} {noun} {color}"
    p.sku = f"{slug[:3].upper()}-{pid:05d}-{code}"
    p.price = list_price(rng, rng.randint(lo, hi))
    p.price_prev = p.base_price = p.price
    p.created = p.updated = created
    p.pop = min(60.0, rng.paretovariate(1.1))
    p.demand = min(14.0, 0.7 + 0.45 * p.pop)
    p.target = int(p.demand * rng.uniform(18.0, 40.0)) + 5
    p.reorder_point = int(p.demand * rng.uniform(1.5, 6.0)) + 1
    p.stock = rng.randint(p.reorder_point, p.target)
    return p


def list_price(rng: random.Random, cents: int) -> int:
    """A believable shelf price near `cents`: x.95, x.99, x.00 or x.50."""
    euros = max(4, cents // 100)
    ending = (95, 95, 99, 0, 50)[int(rng.random() * 5)]
    if ending == 0:
        return euros * 100
    return (euros - 1) * 100 + ending if ending > 50 else euros * 100 + ending


def make_voucher(
    rng: random.Random, vid: int, created: int, codes: set[str], evergreen: bool = False
) -> Voucher:
    v = Voucher()
    v.id = vid
    if rng.random() < 0.6:
        v.kind = "percentage"
        pct = (5, 10, 10, 15, 15, 20, 25, 30)[int(rng.random() * 8)]
        v.value = pct * 100
        amount = str(pct)
    else:
        v.kind = "fixed_amount"
        v.value = (500, 750, 1000, 1000, 1500, 2000, 2500)[int(rng.random() * 7)]
        amount = str(v.value // 100)
    campaign = data.VOUCHER_CAMPAIGNS[int(rng.random() * len(data.VOUCHER_CAMPAIGNS))]
    code = f"{campaign}{amount}"
    while code in codes:
        code = f"{campaign}{amount}-{rng.randint(100, 999)}"
    codes.add(code)
    v.code = code
    v.created = v.updated = created
    # valid from the creation moment or the next midnight
    v.valid_from = created if rng.random() < 0.4 else (created // DAY + 1) * DAY
    if evergreen or rng.random() < 0.15:
        v.valid_until = None
    else:
        v.valid_until = (v.valid_from // DAY + rng.randint(14, 60)) * DAY
    return v
