"""The raw-data generator: a simulated webshop whose daily EL batches follow the contract
in raw-sources.md (tables and column order from `webshop.contract`).

    for batch in generate(GeneratorConfig(scale=0.01), 0, 14):
        batch.rows["event"]  # rows in contract order, without _extracted_at

Same config, same bytes: all randomness comes from `random.Random` streams seeded from
`GeneratorConfig.seed`. Only one day's batch is held in memory, plus the shop's state.

Day d's batch needs the state after days 0 .. d-1; `generate` replays them. To go on
later without replaying, keep a `Simulation`'s snapshot:

    sim = Simulation(config)
    for _ in range(30):
        deliveries = sim.next_day()  # [batch] or, duplicated, [batch, batch]
    saved = sim.snapshot()  # bytes
    ...
    sim = Simulation.resume(config, saved)  # sim.day == 30: next_day() gives day 30

A loader takes `next_day_copy()` instead: the same deliveries ready for COPY (CopyBatch),
without building every row's Python values.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from . import _output, _snapshot, _util
from ._config import Batch, Faults, GeneratorConfig
from ._output import CopyBatch
from ._sim import EXTRACTION_DELAY, EXTRACTION_SPREAD, HISTORY_DAYS, KNOWN_EVENT_TYPES, Sim

__all__ = [
    "HISTORY_DAYS",
    "KNOWN_EVENT_TYPES",
    "LATEST_EXTRACTION",
    "Batch",
    "CopyBatch",
    "Faults",
    "GeneratorConfig",
    "Simulation",
    "generate",
]

# Day d's batch is stamped (extracted) after midnight UTC of start_date + d + 1, never
# later than this into that day. The shop before day 0 holds rows created up to
# HISTORY_DAYS days earlier.
LATEST_EXTRACTION = timedelta(microseconds=EXTRACTION_DELAY + EXTRACTION_SPREAD)


def generate(config: GeneratorConfig, first_day: int = 0, n_days: int = 1) -> Iterator[Batch]:
    """Batches for days first_day .. first_day+n_days-1 (a duplicated batch is yielded twice,
    as two equal Batch objects). Days before first_day are simulated (state advances) but not
    emitted, so generate(c, 0, 5) == [*generate(c, 0, 3), *generate(c, 3, 2)] exactly."""
    if first_day < 0 or n_days < 0:
        raise ValueError(f"first_day and n_days must be >= 0, got {first_day}, {n_days}")
    return _batches(config, first_day, n_days)


def _batches(config: GeneratorConfig, first_day: int, n_days: int) -> Iterator[Batch]:
    sim = Simulation(config)
    sim.skip_to(first_day)
    yield from sim.batches(n_days)


class Simulation:
    """The simulated shop, advanced one day at a time; it can be saved between two days
    (`snapshot`) and continued from there (`resume`) with exactly the batches a replay
    from day 0 gives."""

    def __init__(self, config: GeneratorConfig) -> None:
        """The shop before day 0."""
        self._sim = Sim(config)
        self._day = 0

    @classmethod
    def resume(cls, config: GeneratorConfig, snapshot: bytes) -> Simulation:
        """The simulation a `snapshot()` saved. ValueError when the snapshot was made
        under another config (seed, scale, start_date or faults), by another version of
        the generator, or is not a snapshot at all."""
        sim = cls.__new__(cls)
        sim._sim, sim._day = _snapshot.load(config, snapshot)
        return sim

    @property
    def config(self) -> GeneratorConfig:
        return self._sim.config

    @property
    def day(self) -> int:
        """The day `next_day` simulates: the number of days simulated so far."""
        return self._day

    def next_day(self) -> list[Batch]:
        """Simulate day `day`; its deliveries: one batch, or the same batch twice when the
        EL job delivers it twice."""
        with _util.gc_paused():
            day = self._step()
            batch = _output.batch(day, self._sim.base)
        return [batch, batch] if day.duplicate else [batch]

    def next_day_copy(self) -> list[CopyBatch]:
        """next_day's deliveries ready for COPY, for a loader: the same rows, formatted as
        `webshop.copytext.format_rows` does, without making them Python values first."""
        with _util.gc_paused():
            day = self._step()
            batch = _output.copy_batch(day, self._sim.base)
            duplicate = day.duplicate
            del day  # its rows go before the collector runs again: it would scan them all
        return [batch, batch] if duplicate else [batch]

    def _step(self) -> _output.Day:
        day = self._sim.step(self._day)
        self._day += 1
        return day

    def batches(self, n_days: int) -> Iterator[Batch]:
        """The deliveries of the next n_days days, as `generate` yields them."""
        for _ in range(n_days):
            yield from self.next_day()

    def skip_to(self, day: int) -> None:
        """Simulate the days before `day` without keeping their batches."""
        if day < self._day:
            raise ValueError(f"cannot go back from day {self._day} to day {day}")
        while self._day < day:
            self.next_day()

    def snapshot(self) -> bytes:
        """The state after the days simulated so far (deterministic: the same state gives
        the same bytes), for `Simulation.resume`."""
        return _snapshot.dump(self._sim, self._day)
