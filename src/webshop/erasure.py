"""Erase the personal data of closed accounts from the raw tables (GDPR art. 17).

Raw is append-only by contract; this is the one update it ever gets
(`webshop scrub-closed-accounts`). An administrator runs it acting as the raw tables'
owner (the loader may only append). A customer is closed once any raw version of it has
`deleted_at`: then every version of it, earlier and later, loses its name, e-mail, phone
and street, and every event of it its IP address and user agent (set to JSON null; the
other keys stay; in a document that is no JSON object the warehouse parses, the values in
the text are replaced by null, as the warehouse itself erases them). A few statements, in
one transaction; it logs counts, never values, and running it again changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from webshop import names, roles

log = logging.getLogger(__name__)

# The personal-data columns of raw.customer and keys of raw.event's JSON documents.
CUSTOMER_COLUMNS = ("first_name", "last_name", "email", "phone", "street")
EVENT_KEYS = ("ip", "user-agent")
# The warehouse parses a document of at most this many characters (dbt var
# max_event_data_length, default 8192): longer ones, like text that is no JSON object, have
# their ip and user-agent values replaced in the text, exactly as the warehouse erases them
# (macro erased_event_data), so a scrubbed row hashes as before.
MAX_DOCUMENT_LENGTH = 8192
ERASE_IN_TEXT = r'"(ip|user-agent)"\s*:\s*("(\\.|[^"\\])*"|null)'
CUSTOMER_ID_IN_TEXT = r'"customer-id"\s*:\s*"?\s*(-?[0-9]{1,18})\s*"?\s*([,}]|$)'

# PostgreSQL 15 cannot test a text for valid JSON without an exception handler: a
# function in the session's temporary schema does it there.
TRY_JSONB_15 = sql.SQL(
    "create or replace function pg_temp.webshop_try_jsonb(document text) returns jsonb"
    " language plpgsql immutable as $$ begin return document::jsonb;"
    " exception when others then return null; end $$"
)


@dataclass(frozen=True)
class Scrubbed:
    closed_accounts: int
    customer_rows: int
    event_rows: int


def closed_customers_sql(raw: str) -> sql.Composed:
    """The ids of customers with a closing version."""
    return sql.SQL("select closed.id from {} as closed where closed.deleted_at is not null").format(
        sql.Identifier(raw, "customer")
    )


def scrub_customers_sql(raw: str) -> sql.Composed:
    """Null the personal-data columns of every version of every closed customer."""
    columns = [sql.Identifier(column) for column in CUSTOMER_COLUMNS]
    return sql.SQL(
        "update {customer} as customer set {nulls} where customer.id in ({closed}) and ({any_left})"
    ).format(
        customer=sql.Identifier(raw, "customer"),
        nulls=sql.SQL(", ").join(sql.SQL("{} = null").format(c) for c in columns),
        closed=closed_customers_sql(raw),
        any_left=sql.SQL(" or ").join(
            sql.SQL("customer.{} is not null").format(c) for c in columns
        ),
    )


def scrub_events_sql(raw: str, server_version: int) -> sql.Composed:
    """Set `ip` and `user-agent` to JSON null in the events of closed customers: documents
    that parse as JSON objects whose customer-id (a number, or a string holding one) is
    closed; the other keys stay (as jsonb writes them)."""
    document = sql.SQL(
        "case when length(event.event_data) > {max_length} then null"
        " when pg_input_is_valid(event.event_data, 'jsonb')"
        " then cast(event.event_data as jsonb) end"
        if server_version >= 160000
        else "case when length(event.event_data) <= {max_length}"
        " then pg_temp.webshop_try_jsonb(event.event_data) end"
    ).format(max_length=sql.Literal(MAX_DOCUMENT_LENGTH))
    keys = sql.SQL(", ").join(sql.Literal(key) for key in EVENT_KEYS)
    return sql.SQL(
        "update {event} as target set event_data = scrubbed.event_data"
        " from ("
        " select event.ctid as row_id,"
        " (select jsonb_object_agg("
        "  pair.key, case when pair.key in ({keys}) then 'null'::jsonb else pair.value end)"
        "  from jsonb_each(parsed.document) as pair)::text as event_data"
        " from {event} as event"
        " cross join lateral (select {document} as document) as parsed"
        " where jsonb_typeof(parsed.document) = 'object'"
        " and ({any_left})"
        " and case jsonb_typeof(parsed.document -> 'customer-id')"
        "  when 'number' then cast(parsed.document ->> 'customer-id' as numeric)"
        "  when 'string' then case"
        "   when trim(parsed.document ->> 'customer-id') ~ '^-?[0-9]{{1,18}}$'"
        "    then cast(trim(parsed.document ->> 'customer-id') as numeric) end"
        " end in ({closed})"
        ") as scrubbed"
        " where target.ctid = scrubbed.row_id"
    ).format(
        event=sql.Identifier(raw, "event"),
        keys=keys,
        document=document,
        any_left=sql.SQL(" or ").join(
            sql.SQL("parsed.document ->> {} is not null").format(sql.Literal(key))
            for key in EVENT_KEYS
        ),
        closed=closed_customers_sql(raw),
    )


def scrub_event_texts_sql(raw: str, server_version: int) -> sql.Composed:
    """Replace the `ip` and `user-agent` values by null in the text of the events of closed
    customers that are no JSON object the warehouse parses (invalid, cut off, too long); the
    customer-id is read from the text."""
    is_object = (
        "case when pg_input_is_valid(event.event_data, 'jsonb')"
        " then jsonb_typeof(cast(event.event_data as jsonb)) = 'object' end"
        if server_version >= 160000
        else "jsonb_typeof(pg_temp.webshop_try_jsonb(event.event_data)) = 'object'"
    )
    erased = sql.SQL("regexp_replace(event.event_data, {}, {}, 'g')").format(
        sql.Literal(ERASE_IN_TEXT), sql.Literal('"\\1": null')
    )
    return sql.SQL(
        "update {event} as event set event_data = {erased}"
        " where {erased} <> event.event_data"
        " and cast((regexp_match(event.event_data, {customer_id}))[1] as numeric) in ({closed})"
        " and not case when length(event.event_data) <= {max_length}"
        " then coalesce({is_object}, false) else false end"
    ).format(
        event=sql.Identifier(raw, "event"),
        erased=erased,
        customer_id=sql.Literal(CUSTOMER_ID_IN_TEXT),
        closed=closed_customers_sql(raw),
        max_length=sql.Literal(MAX_DOCUMENT_LENGTH),
        is_object=sql.SQL(is_object),
    )


def scrub_closed_accounts(conn: psycopg.Connection[Any], raw: str) -> Scrubbed:
    """Run the scrub in one transaction as the raw owner; the counts of what changed."""
    names.plain_name(raw, "the raw schema (WEBSHOP_RAW_SCHEMA)")
    version = conn.info.server_version
    with conn.transaction(), conn.cursor() as cur:
        if version < 160000:
            cur.execute(TRY_JSONB_15)
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(roles.RAW_OWNER)))
        closed_ids = closed_customers_sql(raw)
        cur.execute(sql.SQL("select count(distinct id) from ({}) as c").format(closed_ids))
        closed = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute(scrub_customers_sql(raw))
        customers = cur.rowcount
        cur.execute(scrub_events_sql(raw, version))
        events = cur.rowcount
        cur.execute(scrub_event_texts_sql(raw, version))
        events += cur.rowcount
    result = Scrubbed(closed_accounts=closed, customer_rows=customers, event_rows=events)
    log.info(
        "scrubbed %d customer rows and %d events of %d closed accounts",
        customers,
        events,
        closed,
    )
    return result
