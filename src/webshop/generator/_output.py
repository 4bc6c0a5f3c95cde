"""A simulated day's delivery as the generator's users get it: a Batch of Python values,
or a CopyBatch for a loader, whose COPY text is made without building those values (a
timestamp becomes text straight from its integer microseconds, a few times faster than
through a datetime)."""

from __future__ import annotations

import functools
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import compress, count, repeat
from operator import add, floordiv, mod

from webshop import copytext

from ._config import Batch
from ._util import MINUTE, MS, SECOND, Row


@dataclass(frozen=True)
class EventColumns:
    """A day's event rows (id, event_type, event_timestamp, event_data) as columns, the
    timestamp as integer microseconds since day 0: the form a CopyBatch sends, so that the
    rows are never built (the fault layer edits the columns in place).

    A document is in two parts, `heads[i] + tails[i]`: the visitor part, one str object
    that a visit's events share, and the rest. They are joined only in the COPY text (and
    a pickle sends a shared head once); a document rewritten whole (`set_doc`) has an
    empty head."""

    ids: list[int]
    kinds: list[str]
    stamps: list[int]
    heads: list[str]
    tails: list[str]

    def doc(self, i: int) -> str:
        return self.heads[i] + self.tails[i]

    def set_doc(self, i: int, doc: str) -> None:
        self.heads[i], self.tails[i] = "", doc

    @property
    def docs(self) -> list[str]:
        return list(map(add, self.heads, self.tails))

    def row(self, i: int) -> Row:
        return (self.ids[i], self.kinds[i], self.stamps[i], self.doc(i))

    def extend(self, rows: Sequence[Row]) -> None:
        """Rows (as `row` gives them) added at the end."""
        if rows:
            ids, kinds, stamps, docs = zip(*rows, strict=True)
            self.ids.extend(ids)
            self.kinds.extend(kinds)
            self.stamps.extend(stamps)
            self.heads.extend(repeat("", len(docs)))
            self.tails.extend(docs)


@dataclass(frozen=True)
class Day:
    """One simulated day's delivery: the rows in contract order (the events apart, as
    columns), when it is extracted (microseconds since day 0), whether it comes twice."""

    day: int
    extracted: int
    rows: dict[str, list[Row]]
    events: EventColumns
    duplicate: bool


def batch(day: Day, base: datetime) -> Batch:
    """The delivery with every value a Python object (`base`: midnight UTC of day 0)."""
    rows = dict(day.rows)
    events = day.events
    moments = map(base.__add__, map(timedelta, repeat(0), repeat(0), events.stamps))
    rows["event"] = list(zip(events.ids, events.kinds, moments, events.docs, strict=True))
    return Batch(day=day.day, extracted_at=base + timedelta(0, 0, day.extracted), rows=rows)


@dataclass(frozen=True)
class _Events:
    """Event rows as columns, cheap to pickle: integers as arrays, texts as lists."""

    ids: array[int]
    kinds: list[str]
    stamps: array[int]  # integer microseconds after `base`
    heads: list[str]  # the documents in two parts, as in EventColumns
    tails: list[str]
    base: datetime


@dataclass(frozen=True)
class CopyBatch:
    """One delivery ready for PostgreSQL COPY, for a loader: per table, the text that
    `webshop.copytext.format_rows` makes of the Batch's rows and its extracted_at.

    The small tables are COPY text already; the events, nearly all the rows, are columns
    formatted when asked for (`chunks`). So a loader can simulate in one process and
    format in the one that copies, while PostgreSQL parses the chunk before: the work of
    a day is shared by two cores, and the pipe between them carries compact columns."""

    day: int
    extracted_at: datetime
    counts: Mapping[str, int]
    """Table name -> rows."""
    tables: Mapping[str, bytes | _Events]

    def chunks(self, table: str, rows: int = 10_000) -> Iterator[bytes]:
        """The table's COPY text (UTF-8, _extracted_at included), `rows` lines at a time."""
        data = self.tables.get(table, b"")
        if isinstance(data, bytes):
            if data:
                yield data
            return
        for start in range(0, len(data.ids), rows):
            end = start + rows
            columns = (
                data.ids[start:end],
                data.kinds[start:end],
                iso_stamps(data.stamps[start:end], data.base),
                data.heads[start:end],
                data.tails[start:end],
            )
            yield copytext.format_columns(columns, self.extracted_at, split_last=True).encode()

    def text(self, table: str) -> bytes:
        """The table's whole COPY text."""
        return b"".join(self.chunks(table))


def copy_batch(day: Day, base: datetime) -> CopyBatch:
    """The delivery for COPY: byte for byte copytext.format_rows of `batch(day, base)`."""
    extracted_at = base + timedelta(0, 0, day.extracted)
    tables: dict[str, bytes | _Events] = {
        table: copytext.format_rows(rows, extracted_at).encode() for table, rows in day.rows.items()
    }
    counts = {table: len(rows) for table, rows in day.rows.items()}
    events = day.events
    if events.ids:
        ids, stamps = array("q", events.ids), array("q", events.stamps)
        tables["event"] = _Events(ids, events.kinds, stamps, events.heads, events.tails, base)
    else:
        tables["event"] = b""
    counts["event"] = len(events.ids)
    return CopyBatch(day=day.day, extracted_at=extracted_at, counts=counts, tables=tables)


def iso_stamps(stamps: Sequence[int], base: datetime) -> list[str]:
    """Integer microseconds after `base` (a UTC midnight) as `datetime.isoformat()` gives
    them: 2026-01-05T13:04:05.120000+00:00, no fraction on a whole second.

    C-level maps over the column (this runs for every event): each stamp is its minute's
    text ('YYYY-MM-DDTHH:MM:', made once per minute) plus the text of its microseconds in
    that minute, from a table when they are whole milliseconds (nearly always)."""
    minutes = _Minutes(base)
    within = list(map(mod, stamps, repeat(MINUTE)))
    heads = map(minutes.__getitem__, map(floordiv, stamps, repeat(MINUTE)))
    tails = list(map(_seconds().__getitem__, map(floordiv, within, repeat(MS))))
    for i in compress(count(), map(mod, within, repeat(MS))):
        second, micro = divmod(within[i], SECOND)
        tails[i] = f"{second:02d}.{micro:06d}+00:00"
    return list(map(add, heads, tails))


class _Minutes(dict[int, str]):
    """Minute number after `base` -> 'YYYY-MM-DDTHH:MM:' of that minute, made when asked."""

    def __init__(self, base: datetime) -> None:
        super().__init__()
        self.base = base

    def __missing__(self, minute: int) -> str:
        text = self[minute] = (self.base + timedelta(0, 0, minute * MINUTE)).isoformat()[:17]
        return text


@functools.cache
def _seconds() -> tuple[str, ...]:
    """The end of an ISO timestamp for each millisecond of a minute: '05+00:00',
    '05.120000+00:00' (the simulation's clocks mostly tick in milliseconds)."""
    return tuple(
        f"{second:02d}.{milli:03d}000+00:00" if milli else f"{second:02d}+00:00"
        for second in range(60)
        for milli in range(1000)
    )
