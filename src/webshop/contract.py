"""The raw tables exactly as ../shared/raw-sources.md defines them.

One place for column names, order and PostgreSQL types: the generator emits rows in
this column order, the loader creates the tables from it and the tests compare the
database against it.
"""

from __future__ import annotations

from psycopg import sql

from webshop import names

TIMESTAMP = "timestamp with time zone"
MONEY = "numeric(12,2)"

# table -> ordered (column, type); `_extracted_at` is always last and not null.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "customer": (
        ("id", "bigint"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("email", "text"),
        ("phone", "text"),
        ("street", "text"),
        ("postal_code", "text"),
        ("city", "text"),
        ("country_code", "text"),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("deleted_at", TIMESTAMP),
        ("_extracted_at", TIMESTAMP),
    ),
    "product": (
        ("id", "bigint"),
        ("sku", "text"),
        ("name", "text"),
        ("category", "text"),
        ("price", MONEY),
        ("stock_quantity", "integer"),
        ("is_active", "boolean"),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("_extracted_at", TIMESTAMP),
    ),
    "voucher": (
        ("id", "bigint"),
        ("code", "text"),
        ("discount_type", "text"),
        ("discount_value", MONEY),
        ("valid_from", TIMESTAMP),
        ("valid_until", TIMESTAMP),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("_extracted_at", TIMESTAMP),
    ),
    "orders": (
        ("id", "bigint"),
        ("customer_id", "bigint"),
        ("voucher_id", "bigint"),
        ("status", "text"),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("_extracted_at", TIMESTAMP),
    ),
    "order_line": (
        ("id", "bigint"),
        ("order_id", "bigint"),
        ("product_id", "bigint"),
        ("quantity", "integer"),
        ("unit_price", MONEY),
        ("discount_amount", MONEY),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("_extracted_at", TIMESTAMP),
    ),
    "event": (
        ("id", "bigint"),
        ("event_type", "text"),
        ("event_timestamp", TIMESTAMP),
        ("event_data", "text"),
        ("_extracted_at", TIMESTAMP),
    ),
}


def columns(table: str) -> list[str]:
    """Column names of a raw table, in contract order."""
    return [name for name, _ in TABLES[table]]


def create_table_sql(schema: str, table: str) -> sql.Composed:
    """DDL for one raw table; only `_extracted_at` is declared not null, as in the contract.
    Schema and table are passed as identifiers (and must be plain names)."""
    names.plain_name(schema, "the raw schema (WEBSHOP_RAW_SCHEMA)")
    cols = sql.SQL(",\n    ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(name),
            sql.SQL(pgtype),
            sql.SQL(" not null" if name == "_extracted_at" else ""),
        )
        for name, pgtype in TABLES[table]
    )
    return sql.SQL("create table if not exists {}.{} (\n    {}\n)").format(
        sql.Identifier(schema), sql.Identifier(table), cols
    )
