"""The raw-data generator: a simulated webshop whose daily EL batches follow the contract
in raw-sources.md (tables and column order from `webshop.contract`).

    for batch in generate(GeneratorConfig(scale=0.01), 0, 14):
        batch.rows["event"]  # rows in contract order, without _extracted_at

Same config, same bytes: all randomness comes from `random.Random` streams seeded from
`GeneratorConfig.seed`. Only one day's batch is held in memory, plus the shop's state.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._config import Batch, Faults, GeneratorConfig
from ._sim import KNOWN_EVENT_TYPES, Sim

__all__ = ["KNOWN_EVENT_TYPES", "Batch", "Faults", "GeneratorConfig", "generate"]


def generate(config: GeneratorConfig, first_day: int = 0, n_days: int = 1) -> Iterator[Batch]:
    """Batches for days first_day .. first_day+n_days-1 (a duplicated batch is yielded twice,
    as two equal Batch objects). Days before first_day are simulated (state advances) but not
    emitted, so generate(c, 0, 5) == [*generate(c, 0, 3), *generate(c, 3, 2)] exactly."""
    if first_day < 0 or n_days < 0:
        raise ValueError(f"first_day and n_days must be >= 0, got {first_day}, {n_days}")
    return _batches(config, first_day, n_days)


def _batches(config: GeneratorConfig, first_day: int, n_days: int) -> Iterator[Batch]:
    sim = Sim(config)
    for day in range(first_day + n_days):
        batch, duplicate = sim.step(day)
        if day >= first_day:
            yield batch
            if duplicate:
                yield batch
