"""Personal data really goes away when a customer closes the account (GDPR art. 17).

A hand-made customer has three versions with e-mail, phone and street, and events with IP
addresses and user agents (one event's document is cut off, so only its text holds them).
After the build, a closing version arrives that still carries an e-mail, and a later
version without deleted_at that carries personal data again. After the next build and
`webshop scrub-closed-accounts`, no text column of any table in any schema holds one of
their values; the incremental warehouse equals a full refresh and every raw row reconciles.

On the embedded server only: the SQL is the same on PostgreSQL 15, whose one difference
(how a text is tried as JSON, see create_functions) the daily build on PostgreSQL 15
exercises with the generator's broken documents (test_warehouse).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

from webshop import loader, pg
from webshop.generator import GeneratorConfig

from conftest import conninfo, fresh_database, pg_env
from warehouse_helpers import NO_ARTIFACTS, append_batch, dbt, differing_rows, model_tables

pytestmark = [pytest.mark.db, pytest.mark.slow]

CUSTOMER = 900_501
DAY = datetime(2026, 4, 8, tzinfo=timezone.utc)
NAMES = ("Zebulon", "Forgetmenot")
EMAILS = ["erase.me.1@example.test", "erase.me.2@example.test", "erase.me.3@example.test"]
PHONES = ["+31 6 99999991", "+31 6 99999992", "+31 6 99999993"]
STREETS = ["Vergeetmijnietstraat 1", "Vergeetmijnietstraat 2", "Vergeetmijnietstraat 3"]
IPS = ["198.51.100.71", "198.51.100.72", "198.51.100.73"]
AGENTS = ["ErasureTestAgent/1.0", "ErasureTestAgent/2.0"]
PERSONAL = [*NAMES, *EMAILS, *PHONES, *STREETS, *IPS, *AGENTS, "erase.me.again@example.test"]


def version(n: int, email: str | None, deleted: bool = False) -> tuple[Any, ...]:
    updated = DAY + timedelta(hours=n)
    return (
        CUSTOMER,
        NAMES[0],
        NAMES[1],
        email,
        PHONES[n % 3],
        STREETS[n % 3],
        "1012 AB",
        "Amsterdam",
        "NL",
        DAY,
        updated,
        updated if deleted else None,
    )


def event(event_id: int, hours: float, ip: str, agent: str, **keys: Any) -> tuple[Any, ...]:
    document = {"user-agent": agent, "ip": ip, "customer-id": CUSTOMER, **keys}
    return (event_id, "PAGE_VIEW", DAY + timedelta(hours=hours), json.dumps(document))


def found_anywhere(conn: psycopg.Connection[Any], values: list[str]) -> list[str]:
    """schema.table.column of every text-like column (text, varchar, char, json, jsonb) in
    every schema of the database that holds one of `values`."""
    columns = conn.execute(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns c"
        " join information_schema.tables t using (table_schema, table_name)"
        " where c.table_schema not in ('pg_catalog', 'information_schema')"
        " and t.table_type = 'BASE TABLE'"
        " and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb')"
    ).fetchall()
    hits = []
    for schema, table, column in columns:
        row = conn.execute(
            f'select count(*) from "{schema}"."{table}"'
            f' where cast("{column}" as text) ilike any(%s)',
            ([f"%{value}%" for value in values],),
        ).fetchone()
        if row and row[0]:
            hits.append(f"{schema}.{table}.{column}")
    return hits


def test_a_closed_account_leaves_no_personal_data(
    embedded_cluster: pg.Cluster, tmp_path: Path
) -> None:
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database) | {"DBT_SCHEMA": "inc"}
    config = GeneratorConfig(seed=4, scale=0.002, start_date=date(2026, 4, 6))
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", 3, config, set())
        last = conn.execute("select max(_extracted_at) from raw.event").fetchone()
        assert last is not None
        append_batch(
            conn,
            {
                "customer": [version(n, EMAILS[n]) for n in range(3)],
                "event": [
                    event(9_500_001, 9, IPS[0], AGENTS[0], page="/"),
                    event(9_500_002, 9.1, IPS[1], AGENTS[1], page="/product/1"),
                    # cut off: invalid JSON, quarantined, its IP only in the text
                    (
                        9_500_003,
                        "PAGE_VIEW",
                        DAY + timedelta(hours=9.2),
                        f'{{"user-agent": "{AGENTS[0]}", "ip": "{IPS[2]}",'
                        f' "customer-id": {CUSTOMER}, "pa',
                    ),
                ],
            },
            last[0] + timedelta(hours=1),
        )
        dbt(env, tmp_path, "build", "--exclude-resource-type", "unit_test", NO_ARTIFACTS)
        assert found_anywhere(conn, [EMAILS[2], IPS[2]]), "the values should be there before"

        # The account closes; the closing version still carries an e-mail, and a later
        # version without deleted_at carries personal data again.
        append_batch(
            conn,
            {
                "customer": [
                    version(4, "erase.me.again@example.test", deleted=True),
                    version(5, EMAILS[0]),
                ]
            },
            last[0] + timedelta(hours=2),
        )
        dbt(env, tmp_path, "build", "--exclude-resource-type", "unit_test", NO_ARTIFACTS)
        scrub = subprocess.run(
            [str(Path(sys.executable).with_name("webshop")), "scrub-closed-accounts"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert scrub.returncode == 0, scrub.stderr
        assert not any(value in scrub.stdout + scrub.stderr for value in PERSONAL)

        assert found_anywhere(conn, PERSONAL) == []
        dim = conn.execute(
            "select count(*), bool_and(is_closed_account), count(email) + count(street)"
            " from inc_warehouse.dim_customer where customer_id = %s",
            (CUSTOMER,),
        ).fetchone()
        assert dim is not None and dim[0] >= 2 and dim[1] and dim[2] == 0
        flagged = conn.execute(
            "select count(*) from inc_staging.stg_webshop__customers"
            " where customer_id = %s and has_version_after_closing",
            (CUSTOMER,),
        ).fetchone()
        assert flagged == (1,)

        # After the scrub, a build changes nothing and still equals a full refresh.
        before = {
            name: conn.execute(f"select count(*) from {relation}").fetchone()
            for name, relation in model_tables(conn, "inc").items()
        }
        dbt(env, tmp_path, "build", "--exclude-resource-type", "unit_test", NO_ARTIFACTS)
        after = {
            name: conn.execute(f"select count(*) from {relation}").fetchone()
            for name, relation in model_tables(conn, "inc").items()
        }
        assert after == before
        full = env | {"DBT_SCHEMA": "full"}
        dbt(full, tmp_path / "full", "run", "--full-refresh", NO_ARTIFACTS)
        incremental = {
            name: relation
            for name, relation in model_tables(conn, "inc").items()
            if not name.startswith("snap_")
        }
        rebuilt = model_tables(conn, "full")
        assert rebuilt.keys() == incremental.keys()
        differences = {
            name: differing_rows(conn, incremental[name], rebuilt[name]) for name in incremental
        }
        assert differences == dict.fromkeys(incremental, 0)
        dbt(env, tmp_path, "test", "--select", "reconcile_raw_rows", NO_ARTIFACTS)
