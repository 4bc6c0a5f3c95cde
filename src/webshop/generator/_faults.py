"""The EL job's faults and the tracker's quirks, layered over a day's clean output.

Every choice here draws from the simulation's fault stream (`Sim.frng`) or the tracker
stream (`Sim.trng`), never from the shop's stream, so fault rates never change the shop.
"""

from __future__ import annotations

import operator
from datetime import timedelta
from itertools import compress, count, islice, repeat
from typing import TYPE_CHECKING

from . import _data as data
from ._output import EventColumns
from ._util import HOUR, MINUTE, MS, Row, picks

if TYPE_CHECKING:
    from ._sim import Sim

_LAST = operator.itemgetter(-1)

CASING_RATE = 0.01
"""Share of events whose type the tracker sends in odd casing or with spaces (always on)."""

VERSIONED = ("customer", "product", "voucher", "orders", "order_line")
_TIED_STATUS = {
    "placed": "paid",
    "paid": "placed",
    "shipped": "paid",
    "delivered": "shipped",
    "cancelled": "paid",
    "returned": "delivered",
}


def apply(sim: Sim, rows: dict[str, list[Row]], extracted: int) -> tuple[EventColumns, bool]:
    """The day's events (from sim.events) and every fault applied, to them and in place to
    the other tables' rows; returns the events and whether the whole batch is delivered
    twice."""
    f = sim.faults
    fr = sim.frng
    day = sim.day

    _odd_events(sim)
    events = sim.event_columns()
    kinds, stamps = events.kinds, events.stamps
    n = len(kinds)

    tr = sim.trng
    for i in picks(tr, n, CASING_RATE):
        kinds[i] = _odd_casing(kinds[i], tr.random())

    if f.string_customer_id > 0:
        # the events whose visitor part does not end in a null customer-id (C-level maps):
        # a visitor part ends in "null" or in an id's digits, so its last character says
        # (no document is rewritten yet: each head is its visitor part)
        ends = "".join(map(_LAST, events.heads))
        logged_in = compress(count(), map(operator.ne, ends, repeat("l")))
        taken = 0
        for j in picks(fr, len(ends) - ends.count("l"), f.string_customer_id):
            i = next(islice(logged_in, j - taken, None))  # the j-th logged-in event
            taken = j + 1
            prefix, rest = events.heads[i], events.tails[i]
            cut = prefix.rindex(" ") + 1
            events.set_doc(i, f'{prefix[:cut]}"{prefix[cut:]}"{rest}')

    for i in picks(fr, n, f.invalid_json):
        events.set_doc(i, _broken(events.doc(i), fr.random(), fr.random()))

    for i in picks(fr, n, f.future_event):
        stamps[i] = extracted + fr.randint(MINUTE // MS, 30 * HOUR // MS) * MS

    late = picks(fr, n, f.late_event)
    if late:
        for i in late:
            delay = min(30, 1 + int(fr.expovariate(0.35)))
            sim.late.setdefault(day + delay, []).append(events.row(i))
        keep = _keep(n, late)
        events = EventColumns(
            list(compress(events.ids, keep)),
            list(compress(kinds, keep)),
            list(compress(stamps, keep)),
            list(compress(events.heads, keep)),
            list(compress(events.tails, keep)),
        )
    events.extend(sim.late.pop(day, ()))

    for table in VERSIONED:
        versions = rows[table]
        for i in reversed(picks(fr, len(versions), f.tied_version)):
            versions.insert(i + (fr.random() < 0.5), _tied(table, versions[i], fr.random()))
        held = picks(fr, len(versions), f.out_of_order)
        if held:
            for i in held:
                sim.held.setdefault(day + 1 + int(fr.random() * 3), []).append((table, versions[i]))
            rows[table] = list(compress(versions, _keep(len(versions), held)))
    for table, row in sim.held.pop(day, ()):
        rows[table].append(row)

    for table_rows in rows.values():
        table_rows.extend([table_rows[i] for i in picks(fr, len(table_rows), f.duplicate_row)])
    repeated = picks(fr, len(events.ids), f.duplicate_row)
    if repeated:
        events.extend(list(map(events.row, repeated)))

    return events, f.duplicate_batch > 0 and fr.random() < f.duplicate_batch


def _keep(n: int, indices: list[int]) -> bytearray:
    """The selectors for `compress` that drop `indices` out of n items."""
    keep = bytearray(b"\x01") * n
    for i in indices:
        keep[i] = 0
    return keep


def _odd_events(sim: Sim) -> None:
    """Tracker experiments: extra events of unknown types next to real ones."""
    rate = sim.faults.odd_event_type
    if rate <= 0:
        return
    fr = sim.frng
    events = sim.events
    # extra events at rate r/(1-r) of the real ones make them a share r of all events
    for i in picks(fr, len(events), rate / (1.0 - rate) if rate < 1.0 else 1.0):
        ts, _, cell, _ = events[i]
        kind, rest = data.ODD_EVENTS[int(fr.random() * len(data.ODD_EVENTS))]
        events.append((ts + fr.randint(50, 3_000) * MS, kind, cell, rest))


def _odd_casing(kind: str, x: float) -> str:
    if x < 0.4:
        return kind.lower()
    if x < 0.6:
        return f" {kind} "
    if x < 0.8:
        return kind.title()
    return f"{kind} "


def _broken(doc: str, x: float, y: float) -> str:
    """A JSON document as a broken client sends it: never valid JSON."""
    if x < 0.6:  # cut off: the object is never closed
        return doc[: len(doc) // 3 + int(y * (len(doc) - 2 - len(doc) // 3))]
    if x < 0.8:  # single quotes
        return doc.replace('"', "'")
    return doc[:-1] + ",}"  # trailing comma


def _tied(table: str, row: Row, x: float) -> Row:
    """Another version of `row` with the same updated_at but different content."""
    values = list(row)
    if table == "customer":
        if values[11] is None:  # not deleted: the phone number was being edited
            values[4] = None if values[4] is not None else f"+31 6 {10_000_000 + int(x * 9e7)}"
        else:
            values[7] = str(values[7]).upper()
    elif table == "product":
        values[5] = values[5] + 1 + int(x * 5)
    elif table == "voucher":
        values[5] = (
            values[4] + timedelta(days=30) if values[5] is None else values[5] + timedelta(7)
        )
    elif table == "orders":
        values[3] = _TIED_STATUS[values[3]]
    else:
        values[3] = values[3] + 1
    return tuple(values)
