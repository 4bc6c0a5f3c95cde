"""Which nights `webshop load` loads: the next DAYS, or every missing night up to a date;
never one whose batch lands after now (unless asked), never outside the warehouse calendar.

Day d of a history starting on `start` is the shop's day start + d; its batch lands
(is extracted) shortly after the following midnight UTC, on its batch date start + d + 1,
at the latest generator.LATEST_EXTRACTION into that day. The generated shop also holds
rows created up to generator.HISTORY_DAYS days before day 0. Every raw timestamp must lie
in the calendar the warehouse covers (dbt vars calendar_start and calendar_end): rows
outside it would be quarantined, so a load that would make them is refused.

Dates are compared as ordinals, so a silly --days (100000, 10**9) gets its one line
instead of an overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from webshop.generator import HISTORY_DAYS, LATEST_EXTRACTION


class PlanError(ValueError):
    """A load that cannot be done as asked; the message is one line and says what to do."""


@dataclass(frozen=True)
class Plan:
    """Load `count` nights from day `first` of the history that starts on `start`; `upto`
    is the last batch date allowed (None: no bound), `note` says why nights were left out."""

    start: date
    first: int
    count: int
    upto: date | None = None
    note: str = ""

    def batch_date(self, day: int) -> date:
        return self.start + timedelta(days=day + 1)


def due_date(now: datetime) -> date:
    """The newest batch date whose batch has certainly landed at `now` (UTC)."""
    return (now - LATEST_EXTRACTION).date()


def nights(n: int) -> str:
    return f"{n} night" if n == 1 else f"{n} nights"


def plan(
    *,
    stored_start: date | None,
    loaded: int,
    start: date | None,
    days: int | None,
    until: date | None,
    now: datetime,
    future: bool,
    calendar: tuple[date, date],
) -> Plan:
    """The nights to load.

    stored_start: day 0 of what is loaded (None: nothing yet); loaded: days loaded so far;
    start: --start-date; days: --days (at most that many nights); until: --until (the last
    batch date); future: --future (nights whose batch lands after now are allowed)."""
    if days is None and until is None:
        raise PlanError("say how much to load: --days N (the next N nights) or --until DATE")
    due = due_date(now)
    first_day, last_day = calendar
    if stored_start is not None:
        begin = stored_start
    elif start is not None:
        begin = start
    elif days is not None:
        # N nights that end on --until, else on the newest night due.
        end = until if until is not None else due
        most = end.toordinal() - HISTORY_DAYS - first_day.toordinal()
        if days > most:
            raise PlanError(
                f"--days {days} reaches back before the warehouse calendar, which starts on "
                f"{first_day} (dbt var calendar_start; the generated shop holds rows from "
                f"{HISTORY_DAYS} days before its first night): at most {nights(max(most, 0))} "
                f"can end on {end}"
            )
        begin = end - timedelta(days=days)
    else:
        raise PlanError(
            f"nothing is loaded yet: say how many nights end on {until} (--days N) "
            "or on which day they start (--start-date)"
        )
    if begin.toordinal() - HISTORY_DAYS < first_day.toordinal():
        raise PlanError(
            f"a history starting on {begin} holds rows from {HISTORY_DAYS} days earlier, before "
            f"the warehouse calendar starts ({first_day}, dbt var calendar_start); start on "
            f"{first_day + timedelta(days=HISTORY_DAYS)} or later"
        )

    upto = until
    if not future:
        upto = due if upto is None else min(upto, due)
    available = None if upto is None else max(0, upto.toordinal() - begin.toordinal() - loaded)
    if days is not None and until is None and available is not None and days > available:
        raise PlanError(
            f"the next {nights(days)} would include batches that land after now "
            f"({now:%Y-%m-%d %H:%M} UTC; {available} due): load the nights due so far with "
            "--until today, or add --future to load them ahead of time"
        )
    count = days if available is None else available if days is None else min(days, available)
    assert count is not None
    if begin.toordinal() + loaded + count > last_day.toordinal():
        raise PlanError(
            f"{nights(count)} from day {loaded} of a history starting on {begin} would reach "
            f"past the warehouse calendar, which ends on {last_day} (dbt var calendar_end)"
        )
    note = ""
    if not future and until is not None and until > due:
        note = (
            f"the nights after {due} are not due yet (their batches land after now, "
            f"{now:%Y-%m-%d %H:%M} UTC); --future loads them ahead of time"
        )
    return Plan(start=begin, first=loaded, count=count, upto=upto, note=note)
