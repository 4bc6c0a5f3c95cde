"""Snapshots of the simulation between two days: resume a run where it stopped instead of
replaying every day before it.

A snapshot is a zlib-compressed pickle of (header, state). The header holds the format, a
fingerprint of the generator's source code, the config and the number of days simulated.
The state is everything that carries over from one day to the next: the entities, the
scheduled order changes, the fault layer's held-back versions and late events, the id
sequences and the random streams. What `Sim.step` rebuilds every day is left out.

Resuming refuses (ValueError) a snapshot made under another config or by another version
of the generator, and anything that is not a snapshot; a caller can then replay instead.
Unpickling only admits datetimes and Decimals (the values inside pending rows).

The bytes depend on the state only: pickled without a memo (so object identity never
shows), sets as sorted lists, a fixed pickle protocol. The same state gives the same
snapshot however it was reached and whatever PYTHONHASHSEED is.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import pickle
import zlib
from collections.abc import Iterable
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from ._config import GeneratorConfig
from ._sim import Sim
from ._world import Customer, Order, Product, Voucher

FORMAT = 1
_MAGIC = "webshop.generator snapshot"
_PROTOCOL = 4

_STREAMS = ("rng", "frng", "trng", "xrng")
# Every attribute of a Sim is one of these (or a q_* quota): a new attribute must be
# placed here before snapshots work again, so that none is silently lost.
_FROM_CONFIG = frozenset(
    {
        "config",
        "faults",
        "base",
        "weekday0",
        "events_per_day",
        "orders_per_day",
        "signups_per_day",
        "new_products_per_day",
        "new_vouchers_per_day",
    }
)
_DAILY = frozenset(
    {
        "day",
        "day0",
        "dirty_customers",
        "dirty_products",
        "dirty_vouchers",
        "dirty_orders",
        "lines",
        "events",
        "new_customers",
        "pending_orders",
        "busy",
        "hour_cum",
        "visit_pool",
        "order_pool",
        "product_pool",
        "category_pool",
    }
)
_CARRIED = frozenset(
    {
        *_STREAMS,
        "people",
        "customers",
        "products",
        "vouchers",
        "voucher_codes",
        "page_suffix",
        "orders",
        "schedule",
        "next_order_id",
        "next_line_id",
        "next_event_id",
        "held",
        "late",
    }
)
_ALLOWED_CLASSES = frozenset(
    {
        ("datetime", "datetime"),
        ("datetime", "timezone"),
        ("datetime", "timedelta"),
        ("decimal", "Decimal"),
    }
)

E = TypeVar("E", Customer, Product, Voucher, Order)


def dump(sim: Sim, day: int) -> bytes:
    """The snapshot of `sim` after days 0 .. day-1 (between two calls of `step`)."""
    _check_attributes(sim)
    state = None if day == 0 else _state(sim)  # before day 0: the config says it all
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=_PROTOCOL)
    # No memo: shared objects (strings, cached Decimals, the UTC tzinfo) are written out
    # each time, so the bytes never depend on which equal objects happen to be shared.
    # The state holds no object that must stay shared, and no cycles.
    pickler.fast = True
    pickler.dump((_header(sim.config, day), state))
    return zlib.compress(buffer.getvalue(), 1)  # level 1: 3x faster than 6, 10 % bigger


def _state(sim: Sim) -> dict[str, Any]:
    if sim.events or any(
        (sim.dirty_customers, sim.dirty_products, sim.dirty_vouchers, sim.dirty_orders)
    ):
        raise RuntimeError("a simulation can only be snapshot between two days")
    return {
        "streams": [getattr(sim, name).getstate() for name in _STREAMS],
        "quotas": [(name, getattr(sim, name).state()) for name in _quotas(sim)],
        "logins": sim.people.logins(),
        "customers": _pack(Customer, sim.customers),
        "products": _pack(Product, sim.products),
        "vouchers": _pack(Voucher, sim.vouchers),
        "voucher_codes": sorted(sim.voucher_codes),
        "page_suffix": sim.page_suffix,
        "orders": _pack(Order, sim.orders.values()),
        "schedule": list(sim.schedule.items()),
        "held": list(sim.held.items()),
        "late": list(sim.late.items()),
        "next_ids": (sim.next_order_id, sim.next_line_id, sim.next_event_id),
    }


def load(config: GeneratorConfig, snapshot: bytes) -> tuple[Sim, int]:
    """The Sim a snapshot holds and the number of days behind it. ValueError when
    `snapshot` is none, or was made under another config or by another generator."""
    try:
        header, state = _Unpickler(io.BytesIO(zlib.decompress(snapshot))).load()
        magic, version, fingerprint, settings, day = header
    except Exception as exc:  # zlib.error, UnpicklingError, EOFError, TypeError, ...
        raise ValueError(f"not a generator snapshot ({type(exc).__name__})") from None
    if magic != _MAGIC or version != FORMAT or not isinstance(settings, dict):
        raise ValueError(f"not a generator snapshot of format {FORMAT}")
    if fingerprint != _fingerprint():
        raise ValueError("the snapshot was made by another version of the generator")
    wanted = _settings(config)
    for name, value in wanted.items():
        if settings.get(name) != value:
            raise ValueError(
                f"the snapshot was made with {name}={settings.get(name)!r}, not {value!r}"
            )
    try:
        if state is None and day == 0:
            return Sim(config), 0
        return _restore(config, state), int(day)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ValueError(f"damaged generator snapshot ({type(exc).__name__})") from None


def _restore(config: GeneratorConfig, state: dict[str, Any]) -> Sim:
    sim = Sim(config, world=False)
    for name, stream_state in zip(_STREAMS, state["streams"], strict=True):
        getattr(sim, name).setstate(stream_state)
    quotas = _quotas(sim)
    if [name for name, _ in state["quotas"]] != quotas:
        raise KeyError("quotas")
    for name, quota_state in state["quotas"]:
        getattr(sim, name).set_state(tuple(quota_state))
    sim.people.set_logins(state["logins"])
    sim.customers = _unpack(Customer, state["customers"])
    sim.products = _unpack(Product, state["products"])
    sim.vouchers = _unpack(Voucher, state["vouchers"])
    sim.voucher_codes = set(state["voucher_codes"])
    sim.page_suffix = list(state["page_suffix"])
    sim.orders = {o.id: o for o in _unpack(Order, state["orders"])}
    sim.schedule = dict(state["schedule"])
    sim.held = dict(state["held"])
    sim.late = dict(state["late"])
    sim.next_order_id, sim.next_line_id, sim.next_event_id = state["next_ids"]
    return sim


def _header(config: GeneratorConfig, day: int) -> tuple[Any, ...]:
    return (_MAGIC, FORMAT, _fingerprint(), _settings(config), day)


def _settings(config: GeneratorConfig) -> dict[str, Any]:
    return {
        "seed": config.seed,
        "scale": config.scale,
        "start_date": config.start_date.isoformat(),
        "faults": dataclasses.asdict(config.faults),
    }


@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    """A hash of the generator's source: a snapshot only resumes under the code that
    made it (other code would continue the shop differently from a replay)."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _quotas(sim: Sim) -> list[str]:
    return sorted(name for name in vars(sim) if name.startswith("q_"))


def _check_attributes(sim: Sim) -> None:
    known = _FROM_CONFIG | _DAILY | _CARRIED
    unknown = sorted(name for name in vars(sim) if name not in known and name[:2] != "q_")
    if unknown:
        raise RuntimeError(
            f"Sim attributes {', '.join(unknown)} are not classified in generator._snapshot"
        )


def _pack(cls: type[E], entities: Iterable[E]) -> list[tuple[Any, ...]]:
    """Entities column by column (one tuple per slot): compresses better than rows."""
    rows = list(map(attrgetter(*cls.__slots__), entities))
    return list(zip(*rows, strict=True)) if rows else [() for _ in cls.__slots__]


def _unpack(cls: type[E], columns: list[tuple[Any, ...]]) -> list[E]:
    if len(columns) != len(cls.__slots__):
        raise ValueError(f"{cls.__name__} has {len(cls.__slots__)} slots, not {len(columns)}")
    entities = []
    new = cls.__new__
    for values in zip(*columns, strict=True):
        entity = new(cls)
        for name, value in zip(cls.__slots__, values, strict=True):
            setattr(entity, name, value)
        entities.append(entity)
    return entities


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a snapshot")
