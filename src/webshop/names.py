"""Names that reach SQL as identifiers: schemas, databases, roles.

They are always passed as identifiers (psycopg.sql.Identifier, dbt's quoting), and on
top of that refused when they are not plain lower-case names, so that a value holding a
quote, a semicolon or a space never gets near a database.
"""

from __future__ import annotations

import re

PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# PostgreSQL truncates longer identifiers.
MAX_LENGTH = 63


class InvalidName(ValueError):
    """A name that is not plain; the message is one line."""


def plain_name(value: str, what: str, max_length: int = MAX_LENGTH) -> str:
    """`value` when it is a plain name (a-z, 0-9 and _, not starting with a digit, at most
    `max_length` characters); else InvalidName naming `what`."""
    if not PLAIN_NAME.fullmatch(value) or len(value) > max_length:
        raise InvalidName(
            f"{what} must be a plain name (a-z, 0-9 and _, not starting with a digit, "
            f"at most {max_length} characters), not {value!r}"
        )
    return value
