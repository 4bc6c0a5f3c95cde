"""Rows as PostgreSQL COPY text format (the default `COPY ... FROM STDIN` format).

Columns are separated by a tab, rows end with a newline, NULL is `\\N`, and backslash,
tab, newline and carriage return inside a value are backslash-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

__all__ = ["format_columns", "format_row", "format_rows", "format_value"]

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


_UTC = timezone.utc
_tzinfo = attrgetter("tzinfo")
# the last datetime formatted: a batch's rows all end with the same _extracted_at object
_last_datetime: tuple[datetime | None, str] = (None, "")


def _datetime(value: datetime) -> str:
    global _last_datetime
    last = _last_datetime
    if value is last[0]:
        return last[1]
    if value.tzinfo is _UTC:
        text = value.isoformat()
    else:
        offset = value.utcoffset()
        if offset is None:
            raise ValueError(f"naive datetime {value!r}: timestamptz values must be tz-aware")
        text = (value.astimezone(_UTC) if offset else value).isoformat()
    _last_datetime = (value, text)
    return text


def _decimal(value: Decimal) -> str:
    if value.is_finite():
        return format(value, "f")
    return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")


def _float(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _bytes(value: bytes) -> str:
    return "\\\\x" + value.hex()  # bytea hex input, its backslash escaped


def _null(_: None) -> str:
    return NULL


def _bool(value: bool) -> str:
    return "t" if value else "f"


_FORMATTERS: dict[type, Callable[[Any], str]] = {
    str: _text,
    int: int.__repr__,
    bool: _bool,
    type(None): _null,
    datetime: _datetime,
    Decimal: _decimal,
    float: _float,
    date: date.isoformat,
    time: time.isoformat,
    bytes: _bytes,
}


def format_value(value: Any) -> str:
    """One value as COPY text (escaped)."""
    formatter = _FORMATTERS.get(type(value))
    if formatter is not None:
        return formatter(value)
    for kind, formatter in _FORMATTERS.items():  # subclasses (e.g. IntEnum, str enums)
        if isinstance(value, kind) and kind is not type(None):
            return formatter(value)
    return _text(str(value))


def format_row(values: Sequence[Any]) -> str:
    """One line (with trailing newline) of PostgreSQL COPY text format: \\N for None,
    backslash/tab/newline/CR escaped, datetimes as ISO 8601 with +00:00, Decimal via str,
    bool as t/f."""
    get = _FORMATTERS.get
    return "\t".join([(get(type(v)) or format_value)(v) for v in values]) + "\n"


def format_rows(rows: Iterable[Sequence[Any]], *tail: Any) -> str:
    """Many rows at once, each followed by the `tail` values (e.g. a batch's _extracted_at,
    formatted only once): the same text as joining format_row((*row, *tail)) for each row."""
    table = rows if isinstance(rows, Sequence) else list(rows)
    widths = set(map(len, table))
    if not table or widths == {0} or len(widths) > 1:
        return "".join([format_row((*row, *tail)) for row in table])
    return format_columns(list(zip(*table, strict=True)), *tail)


def format_columns(columns: Sequence[Sequence[Any]], *tail: Any, split_last: bool = False) -> str:
    """format_rows of the rows that the `columns` (equally long, at least one) hold; with
    `split_last`, the last two columns are one value in two parts (text joined without a
    tab between them).

    Column by column: a column of one type is formatted by one C-level `map` (a text column
    is escaped only when it holds a character to escape), and the text is one join of
    values and separators, so a row costs little more than its values' conversions."""
    if len(set(map(len, columns))) != 1:
        raise ValueError("columns of different lengths")
    if not columns[0]:
        return ""
    texts = list(map(_column, columns))
    tab = repeat("\t")
    parts = [texts[0]]
    for text in texts[1:-1] if split_last else texts[1:]:
        parts += (tab, text)
    if split_last:
        parts.append(texts[-1])
    parts.append(repeat(_end(tail)))
    return "".join(chain.from_iterable(zip(*parts, strict=False)))  # the repeats never end


def _end(tail: Sequence[Any]) -> str:
    return "".join(["\t" + format_value(value) for value in tail]) + "\n"


def _column(values: Sequence[Any]) -> Iterable[str]:
    """The COPY text of one column's values."""
    kinds = set(map(type, values))
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is str:
        joined = "".join(values)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return map(_text, values)
        return values
    if kind is int:
        return map(int.__repr__, values)
    if kind is datetime and set(map(_tzinfo, values)) == {_UTC}:
        return map(datetime.isoformat, values)
    if kind is Decimal and all(map(Decimal.is_finite, values)):
        return map(format, values, repeat("f"))
    get = _FORMATTERS.get
    return [(get(type(v)) or format_value)(v) for v in values]
