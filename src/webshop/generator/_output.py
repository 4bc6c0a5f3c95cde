"""A simulated day's delivery as the generator's users get it: a Batch of Python values,
or COPY text for the loader, made without building those values (a timestamp becomes text
straight from its integer microseconds, a few times faster than through a datetime)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

from webshop import copytext

from ._config import Batch, CopyBatch
from ._util import MINUTE, MS, SECOND, Row

# Event rows in a Day: (id, event_type, event_timestamp, event_data), the timestamp as
# integer microseconds since midnight UTC of day 0.
_STAMP = 2


@dataclass(frozen=True)
class Day:
    """One simulated day's delivery: the rows in contract order (events with integer
    timestamps), when it is extracted (microseconds since day 0), whether it comes twice."""

    day: int
    extracted: int
    rows: dict[str, list[Row]]
    duplicate: bool


def batch(day: Day, base: datetime) -> Batch:
    """The delivery with every value a Python object (`base`: midnight UTC of day 0)."""
    rows = dict(day.rows)
    events = rows["event"]
    if events:
        ids, kinds, stamps, docs = zip(*events, strict=True)
        moments = map(base.__add__, map(timedelta, repeat(0), repeat(0), stamps))
        rows["event"] = list(zip(ids, kinds, moments, docs, strict=True))
    return Batch(day=day.day, extracted_at=base + timedelta(0, 0, day.extracted), rows=rows)


def copy_batch(day: Day, base: datetime) -> CopyBatch:
    """The delivery as COPY text: byte for byte copytext.format_rows of `batch(day, base)`."""
    extracted_at = base + timedelta(0, 0, day.extracted)
    text: dict[str, bytes] = {}
    for table, rows in day.rows.items():
        if table == "event" and rows:
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
            columns[_STAMP] = iso_stamps(columns[_STAMP], base)
            text[table] = copytext.format_columns(columns, extracted_at).encode()
        else:
            text[table] = copytext.format_rows(rows, extracted_at).encode()
    counts = {table: len(rows) for table, rows in day.rows.items()}
    return CopyBatch(day=day.day, extracted_at=extracted_at, text=text, counts=counts)


def iso_stamps(stamps: Sequence[int], base: datetime) -> list[str]:
    """Integer microseconds after `base` (a UTC midnight) as `datetime.isoformat()` gives
    them: 2026-01-05T13:04:05.120000+00:00, no fraction on a whole second."""
    minutes: dict[int, str] = {}
    seconds = _seconds()
    out: list[str] = []
    add = out.append
    for stamp in stamps:
        minute, rest = divmod(stamp, MINUTE)
        prefix = minutes.get(minute)
        if prefix is None:
            # 'YYYY-MM-DDTHH:MM:' of that minute
            prefix = minutes[minute] = (base + timedelta(0, 0, minute * MINUTE)).isoformat()[:17]
        if rest % MS:
            second, micro = divmod(rest, SECOND)
            add(f"{prefix}{second:02d}.{micro:06d}+00:00")
        else:
            add(prefix + seconds[rest // MS])
    return out


@functools.cache
def _seconds() -> tuple[str, ...]:
    """The end of an ISO timestamp for each millisecond of a minute: '05+00:00',
    '05.120000+00:00' (the simulation's clocks mostly tick in milliseconds)."""
    return tuple(
        f"{second:02d}.{milli:03d}000+00:00" if milli else f"{second:02d}+00:00"
        for second in range(60)
        for milli in range(1000)
    )
