"""Configuration and output types of the generator (the public API's data classes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Faults:
    """Rates of the EL job's faults and the tracker's anomalies; all small and non-zero by default.

    Every rate is a probability in [0, 1]; 0 switches the fault off.
    """

    duplicate_batch: float = 0.03
    """P(a day's whole batch is delivered twice: same rows, same extracted_at)."""
    duplicate_row: float = 0.002
    """Share of rows repeated exactly inside their batch."""
    tied_version: float = 0.002
    """Share of versions that get a second version with the same updated_at, other content."""
    out_of_order: float = 0.003
    """Share of non-event versions held back 1-3 batches."""
    late_event: float = 0.01
    """Share of events delivered 1..30 days after their event_timestamp's day."""
    future_event: float = 0.0005
    """Share of events whose client clock is ahead (timestamp after the batch's extracted_at)."""
    invalid_json: float = 0.002
    """Share of event documents that are not valid JSON."""
    odd_event_type: float = 0.002
    """Share of events with a type outside the 8 known ones (tracker experiments)."""
    string_customer_id: float = 0.01
    """Share of logged-in events whose customer-id is sent as a JSON string."""
    messy_email: float = 0.03
    """Share of customer versions whose email has odd case or surrounding spaces."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{f.name} must be within [0, 1], got {value!r}")

    @classmethod
    def none(cls) -> Faults:
        """All faults off: clean data."""
        return cls(**{f.name: 0.0 for f in fields(cls)})


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Same config, same bytes."""

    seed: int = 42
    scale: float = 0.01
    """SF1 = ~20k customers and ~5M events over 120 days."""
    start_date: date = date(2026, 1, 5)
    """Day 0; the batch of day d is extracted shortly after midnight UTC of start_date + d + 1."""
    faults: Faults = Faults()

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be positive, got {self.scale!r}")
        if isinstance(self.start_date, datetime):
            raise TypeError("start_date must be a date, not a datetime")


@dataclass(frozen=True)
class Batch:
    """One delivery of the EL job."""

    day: int
    """0-based index of the day this batch extracts."""
    extracted_at: datetime
    """Tz-aware UTC; all rows of the batch share it."""
    rows: Mapping[str, Sequence[tuple[Any, ...]]]
    """Table name -> rows in contract column order, without the trailing _extracted_at."""
