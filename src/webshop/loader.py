"""The nightly Extract & Load job, replayed: append generated daily batches with COPY.

`load(days=N)` appends the N days after the last one already loaded, so a user can
replay "one more day" and run an incremental dbt build. Each day's deliveries go in one
transaction together with their entry in `webshop_loader.batch`: a failure leaves whole
days or nothing, never half a batch.

The last day of a load also stores the generator's snapshot in `webshop_loader.state`
(one row: the simulation after `day` days), so that the next load resumes the simulation
instead of replaying every loaded day; without a snapshot of the loaded days (an older
database, an interrupted load, another generator version) it replays.

The loader only writes to a database it prepared itself: a `raw` schema that exists
without our bookkeeping schema belongs to somebody else and is left alone.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from typing import Any

import psycopg
from psycopg import sql

from webshop import contract
from webshop.generator import Batch, Faults, GeneratorConfig, Simulation

META_SCHEMA = "webshop_loader"


class LoadError(RuntimeError):
    """Something the user must fix; the message is one line."""


@dataclass(frozen=True)
class DayReport:
    day: int
    batch_date: date
    deliveries: int
    rows: dict[str, int]
    seconds: float


def connect(conninfo: dict[str, str]) -> psycopg.Connection[Any]:
    try:
        # Autocommit: each day's `conn.transaction()` is then a real transaction, so an
        # interrupted load keeps every day it finished.
        return psycopg.connect(**conninfo, connect_timeout=5, autocommit=True)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        lines = str(exc).strip().splitlines()
        reason = lines[0].strip() if lines else type(exc).__name__
        raise LoadError(
            f"cannot connect to PostgreSQL at {conninfo['host']}:{conninfo['port']} "
            f"(database {conninfo['dbname']}): {reason}; start the embedded one with "
            "`make db-start`, or set PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE."
        ) from None


def config_to_json(config: GeneratorConfig) -> dict[str, Any]:
    return {
        "seed": config.seed,
        "scale": config.scale,
        "start_date": config.start_date.isoformat(),
        "faults": dataclasses.asdict(config.faults),
    }


def config_from_json(data: dict[str, Any]) -> GeneratorConfig:
    return GeneratorConfig(
        seed=int(data["seed"]),
        scale=float(data["scale"]),
        start_date=date.fromisoformat(data["start_date"]),
        faults=Faults(**data["faults"]),
    )


def stored_config(conn: psycopg.Connection[Any], raw: str) -> GeneratorConfig | None:
    """The generator settings of the data already loaded; None for an empty database.

    Raises LoadError when the raw schema exists but was not made by this loader."""
    with conn.cursor() as cur:
        cur.execute(
            "select count(*) from information_schema.tables where table_schema = %s", (raw,)
        )
        raw_tables = cur.fetchone()[0]  # type: ignore[index]
        cur.execute("select to_regclass(%s) is not null", (f"{META_SCHEMA}.config",))
        ours = cur.fetchone()[0]  # type: ignore[index]
        if not ours:
            if raw_tables:
                raise LoadError(
                    f"schema {raw} in this database holds {raw_tables} tables that this loader "
                    "did not create; refusing to touch them. Use another database or set "
                    "WEBSHOP_RAW_SCHEMA."
                )
            return None
        cur.execute(sql.SQL("select settings from {}.config").format(sql.Identifier(META_SCHEMA)))
        row = cur.fetchone()
    return config_from_json(row[0]) if row else None


def loaded_days(conn: psycopg.Connection[Any]) -> int:
    """How many days are loaded (days are loaded in order from day 0)."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("select coalesce(max(day) + 1, 0) from {}.batch").format(
                sql.Identifier(META_SCHEMA)
            )
        )
        return int(cur.fetchone()[0])  # type: ignore[index]


def prepare(conn: psycopg.Connection[Any], raw: str, config: GeneratorConfig) -> None:
    """Create the raw tables (as the contract defines them) and the bookkeeping schema."""
    meta = sql.Identifier(META_SCHEMA)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(raw)))
        for table in contract.TABLES:
            cur.execute(contract.create_table_sql(raw, table))
            # Append-only tables in load order: a BRIN index on the batch moment costs
            # almost nothing and lets incremental models read only new batches.
            cur.execute(
                sql.SQL("create index if not exists {} on {}.{} using brin (_extracted_at)").format(
                    sql.Identifier(f"{table}__extracted_at"),
                    sql.Identifier(raw),
                    sql.Identifier(table),
                )
            )
        cur.execute(sql.SQL("create schema if not exists {}").format(meta))
        cur.execute(sql.SQL("create table {}.config (settings jsonb not null)").format(meta))
        cur.execute(
            sql.SQL("insert into {}.config values (%s)").format(meta),
            (json.dumps(config_to_json(config)),),
        )
        cur.execute(
            sql.SQL(
                "create table {}.batch ("
                " day integer not null, delivery integer not null,"
                " extracted_at timestamptz not null, rows jsonb not null,"
                " loaded_at timestamptz not null default now(),"
                " primary key (day, delivery))"
            ).format(meta)
        )
        _create_state_table(cur)


def _create_state_table(cur: psycopg.Cursor[Any]) -> None:
    """The generator's snapshot after the last loaded day (databases loaded before it
    existed get it on their next load)."""
    cur.execute(
        sql.SQL(
            "create table if not exists {}.state (day integer not null, snapshot bytea not null)"
        ).format(sql.Identifier(META_SCHEMA))
    )


def _simulation(conn: psycopg.Connection[Any], config: GeneratorConfig, first: int) -> Simulation:
    """The simulation about to simulate day `first`: resumed from the stored snapshot when
    it was taken after day first-1, else replayed from day 0."""
    if first > 0:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("select snapshot from {}.state where day = %s").format(
                    sql.Identifier(META_SCHEMA)
                ),
                (first,),
            )
            row = cur.fetchone()
        if row is not None:
            try:
                sim = Simulation.resume(config, bytes(row[0]))
            except ValueError:
                pass  # another config or generator version, or damaged: replay
            else:
                if sim.day == first:
                    return sim
    sim = Simulation(config)
    sim.skip_to(first)
    return sim


def check_contract(conn: psycopg.Connection[Any], raw: str) -> None:
    """The raw tables' columns and types must still be the contract's."""
    with conn.cursor() as cur:
        for table, expected in contract.TABLES.items():
            cur.execute(
                "select attname::text, format_type(atttypid, atttypmod) from pg_attribute"
                " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped"
                " order by attnum",
                (f'"{raw}"."{table}"',),
            )
            if tuple(cur.fetchall()) != expected:
                raise LoadError(f"{raw}.{table} does not match the raw-sources contract")


def copy_batch(cur: psycopg.Cursor[Any], raw: str, batch: Batch) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in contract.TABLES:
        rows = batch.rows.get(table, ())
        cols = sql.SQL(", ").join(map(sql.Identifier, contract.columns(table)))
        stmt = sql.SQL("copy {}.{} ({}) from stdin").format(
            sql.Identifier(raw), sql.Identifier(table), cols
        )
        with cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row((*row, batch.extracted_at))
        counts[table] = len(rows)
    return counts


def load(
    conn: psycopg.Connection[Any],
    raw: str,
    days: int,
    requested: GeneratorConfig,
    overrides: set[str],
    on_day: Callable[[DayReport], None] = lambda _: None,
) -> list[DayReport]:
    """Append the next `days` days. `overrides` names the settings the user asked for
    explicitly; they must agree with the data already loaded."""
    stored = stored_config(conn, raw)
    if stored is None:
        prepare(conn, raw, requested)
        config = requested
    else:
        _check_same(stored, requested, overrides)
        check_contract(conn, raw)
        with conn.cursor() as cur:
            _create_state_table(cur)
        config = stored
    first = loaded_days(conn)
    if days <= 0:
        return []
    sim = _simulation(conn, config, first)
    reports = []
    for day, (batches, snapshot) in enumerate(_simulated_ahead(sim, days), start=first):
        reports.append(_load_day(conn, raw, day, batches, snapshot))
        on_day(reports[-1])
    return reports


def _simulate(sim: Simulation, days: int, out: Connection) -> None:
    """In the generator process: each day's batches; the last day's come with the
    snapshot that the same transaction stores (where the next load starts from)."""
    for left in range(days - 1, -1, -1):
        batches = sim.next_day()
        out.send((batches, sim.snapshot() if left == 0 else None))
    out.close()


def _simulated_ahead(sim: Simulation, days: int) -> Iterator[tuple[list[Batch], bytes | None]]:
    """The next `days` days of `sim`, simulated in a forked process while this one
    loads the day before (generating is pure Python and costs as much as COPY: on two
    cores the two overlap). A full pipe makes the generator wait."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    generator = context.Process(target=_simulate, args=(sim, days, send), daemon=True)
    generator.start()
    send.close()
    try:
        for _ in range(days):
            try:
                yield receive.recv()
            except EOFError:
                raise LoadError(
                    f"the data generator stopped (exit code {generator.exitcode}); "
                    "its error is printed above"
                ) from None
    finally:
        receive.close()
        if generator.is_alive():
            generator.terminate()
        generator.join()


def _load_day(
    conn: psycopg.Connection[Any],
    raw: str,
    day: int,
    batches: list[Batch],
    snapshot: bytes | None = None,
) -> DayReport:
    """Day `day`'s deliveries in one transaction, with their batch log entries and, when
    given, the generator's snapshot after this day."""
    started = time.perf_counter()
    totals: dict[str, int] = dict.fromkeys(contract.TABLES, 0)
    meta = sql.Identifier(META_SCHEMA)
    with conn.transaction(), conn.cursor() as cur:
        for delivery, batch in enumerate(batches, start=1):
            counts = copy_batch(cur, raw, batch)
            cur.execute(
                sql.SQL(
                    "insert into {}.batch (day, delivery, extracted_at, rows)"
                    " values (%s, %s, %s, %s)"
                ).format(meta),
                (day, delivery, batch.extracted_at, json.dumps(counts)),
            )
            for table, n in counts.items():
                totals[table] += n
        if snapshot is not None:
            cur.execute(sql.SQL("delete from {}.state").format(meta))
            cur.execute(
                sql.SQL("insert into {}.state (day, snapshot) values (%s, %s)").format(meta),
                (day + 1, snapshot),
            )
    return DayReport(
        day=day,
        batch_date=batches[0].extracted_at.date(),
        deliveries=len(batches),
        rows=totals,
        seconds=time.perf_counter() - started,
    )


def _check_same(stored: GeneratorConfig, requested: GeneratorConfig, overrides: set[str]) -> None:
    for name in sorted(overrides):
        if getattr(stored, name) != getattr(requested, name):
            raise LoadError(
                f"the loaded data was generated with {name}={getattr(stored, name)}, not "
                f"{getattr(requested, name)}; load more days without --{name.replace('_', '-')} "
                "or start again with `webshop reset`"
            )
