"""Small shared helpers: time units, money, rate-driven selection."""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

Row = tuple[Any, ...]

MS = 1_000  # internal times are integer microseconds since midnight UTC of day 0
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_MONEY: dict[int, Decimal] = {}


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for a simulated day, which makes some ten
    container objects per event and no reference cycles, so that the collector, triggered
    again and again, would only rescan the shop (15 % of the time). It runs after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def money(cents: int) -> Decimal:
    """EUR cents as a Decimal with exactly two places (cached: amounts repeat a lot)."""
    value = _MONEY.get(cents)
    if value is None:
        value = Decimal(cents).scaleb(-2)
        if len(_MONEY) < 200_000:
            _MONEY[cents] = value
    return value


def picks(rng: random.Random, n: int, rate: float) -> list[int]:
    """Indices in range(n), each chosen independently with probability `rate`.

    Costs one draw per chosen index (geometric skips), not one per candidate.
    """
    if rate <= 0.0 or n <= 0:
        return []
    if rate >= 1.0:
        return list(range(n))
    log_q = math.log1p(-rate)
    draw = rng.random
    out: list[int] = []
    i = int(math.log(1.0 - draw()) / log_q)
    while i < n:
        out.append(i)
        i += 1 + int(math.log(1.0 - draw()) / log_q)
    return out


class Quota:
    """Turns expected counts per step into whole counts whose running total tracks the
    expectation closely (error bounded by ~1), with a random phase and jittered spacing.

    Unlike independent draws this guarantees that a feature with a tiny expected rate
    still shows up on schedule, which keeps small scales complete.
    """

    __slots__ = ("_acc", "_rng", "_threshold")

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._acc = 0.0
        self._threshold = rng.uniform(0.05, 1.0)

    def state(self) -> tuple[float, float]:
        return self._acc, self._threshold

    def set_state(self, state: tuple[float, float]) -> None:
        self._acc, self._threshold = state

    def take(self, expected: float) -> int:
        self._acc += expected
        n = 0
        while self._acc >= self._threshold:
            self._acc -= 1.0
            n += 1
            self._threshold = self._rng.uniform(0.25, 1.75)
        return n
