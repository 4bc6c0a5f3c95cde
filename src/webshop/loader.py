"""The nightly Extract & Load job, replayed: append generated daily batches with COPY.

`load(days=N)` appends the N days after the last one already loaded, so a user can
replay "one more day" and run an incremental dbt build. Each day's deliveries go in one
transaction together with their entry in `webshop_loader.batch`: a failure leaves whole
days or nothing, never half a batch.

The last day of a load also stores the generator's snapshot in `webshop_loader.state`
(one row: the simulation after `day` days), so that the next load resumes the simulation
instead of replaying every loaded day; without a snapshot of the loaded days (an older
database, an interrupted load, another generator version) it replays.

The loader only writes to a database prepared for it: a `raw` schema that exists
without our bookkeeping schema belongs to somebody else and is left alone. It runs as the
loader role, which may only append: the raw tables and the bookkeeping are created by an
administrator (`webshop db start`, the first `webshop load` on the embedded server, or
`webshop db roles --sql` on your own server), owned by a role that cannot log in
(roles.py). A connection that may create them (a superuser's) prepares them itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from typing import Any

import psycopg
from psycopg import sql

from webshop import contract, names, roles
from webshop.generator import CopyBatch, Faults, GeneratorConfig, Simulation

META_SCHEMA = roles.META_SCHEMA


class LoadError(RuntimeError):
    """Something the user must fix; the message is one line."""


@dataclass(frozen=True)
class DayReport:
    day: int
    batch_date: date
    deliveries: int
    rows: dict[str, int]
    seconds: float


def connect(conninfo: dict[str, str], embedded: bool = True) -> psycopg.Connection[Any]:
    """An autocommit connection; a failure is a LoadError whose hints fit the embedded
    server (`embedded`) or a server of your own."""
    try:
        # Autocommit: each day's `conn.transaction()` is then a real transaction, so an
        # interrupted load keeps every day it finished.
        return psycopg.connect(**conninfo, connect_timeout=5, autocommit=True)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise LoadError(connect_error(conninfo, exc, embedded)) from None


def connect_error(
    conninfo: dict[str, str], exc: psycopg.OperationalError, embedded: bool = True
) -> str:
    """One line: why the connection failed, and what to do; a refused password names the
    role and where its password is looked up. Only the embedded server's hints say to
    start it."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    where = f"PostgreSQL at {conninfo['host']}:{conninfo['port']} (database {conninfo['dbname']})"
    if "password" in reason:
        passfile = conninfo.get("passfile") or os.environ.get("PGPASSFILE") or "~/.pgpass"
        fix = (
            "`webshop db start` writes the embedded server's"
            if embedded
            else "a DBA sets it (\\password in psql) and you add it there"
        )
        return (
            f"{where} refused role {conninfo['user']}: its password is missing or wrong "
            f"(looked up in {passfile}); {fix}"
        )
    if embedded:
        return (
            f"cannot connect to {where} as {conninfo['user']}: {reason}; start the embedded "
            "server with `webshop db start` (or `make db-start`), or point PGHOST, PGPORT and "
            "PGDATABASE at your own"
        )
    return (
        f"cannot connect to {where} as {conninfo['user']}: {reason}; check PGHOST, PGPORT "
        "and PGDATABASE"
    )


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
    names.plain_name(raw, "the raw schema (WEBSHOP_RAW_SCHEMA)")
    with conn.cursor() as cur:
        # The catalogs, not information_schema: they show tables we hold no privilege on.
        cur.execute(
            "select count(*) filter (where n.nspname = %s),"
            " count(*) filter (where n.nspname = %s and c.relname = 'config')"
            " from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'p', 'v', 'm', 'f')",
            (raw, META_SCHEMA),
        )
        raw_tables, ours = cur.fetchone()  # type: ignore[misc]
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


def prepare_tables(conn: psycopg.Connection[Any], raw: str) -> None:
    """Make sure the raw and bookkeeping tables exist: an administrator's connection
    creates them (roles.prepare_raw), the loader's says who must."""
    if roles.raw_is_ready(conn, raw):
        return
    try:
        roles.prepare_raw(conn, raw)
    except psycopg.errors.InsufficientPrivilege:
        raise LoadError(
            f"the raw tables (schema {raw}) are not prepared and role {conn.info.user} "
            "may not create them (permission denied): run `webshop db start` for the "
            "embedded server, or on your own server the SQL of `webshop db roles --sql` "
            "as an administrator"
        ) from None


def prepare(conn: psycopg.Connection[Any], raw: str, config: GeneratorConfig) -> None:
    """The tables (see prepare_tables) and the generator settings of a first load."""
    prepare_tables(conn, raw)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            sql.SQL("insert into {}.config values (%s)").format(sql.Identifier(META_SCHEMA)),
            (json.dumps(config_to_json(config)),),
        )


def _simulation(conn: psycopg.Connection[Any], config: GeneratorConfig, first: int) -> Simulation:
    """The simulation about to simulate day `first` (simulation_at), with the snapshot
    stored for that day."""
    snapshot = None
    if first > 0:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("select snapshot from {}.state where day = %s").format(
                    sql.Identifier(META_SCHEMA)
                ),
                (first,),
            )
            row = cur.fetchone()
        snapshot = bytes(row[0]) if row is not None else None
    return simulation_at(config, first, snapshot)


def simulation_at(config: GeneratorConfig, first: int, snapshot: bytes | None) -> Simulation:
    """The simulation about to simulate day `first`: resumed from `snapshot` when it was
    taken after day first-1, else replayed from day 0."""
    if snapshot is not None:
        try:
            sim = Simulation.resume(config, snapshot)
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
                "select a.attname::text, format_type(a.atttypid, a.atttypmod)"
                " from pg_attribute as a join pg_class as c on c.oid = a.attrelid"
                " join pg_namespace as n on n.oid = c.relnamespace"
                " where n.nspname = %s and c.relname = %s and a.attnum > 0"
                " and not a.attisdropped order by a.attnum",
                (raw, table),
            )
            if tuple(cur.fetchall()) != expected:
                raise LoadError(f"{raw}.{table} does not match the raw-sources contract")


def copy_batch(cur: psycopg.Cursor[Any], raw: str, batch: CopyBatch) -> dict[str, int]:
    """One delivery's COPY text, table by table: the rows of each table per COPY."""
    for table in contract.TABLES:
        cols = sql.SQL(", ").join(map(sql.Identifier, contract.columns(table)))
        stmt = sql.SQL("copy {}.{} ({}) from stdin").format(
            sql.Identifier(raw), sql.Identifier(table), cols
        )
        with cur.copy(stmt) as copy:
            try:
                # PostgreSQL parses each chunk while the next one is formatted
                for text in batch.chunks(table):
                    copy.write(text)
            except BaseException:
                # Ctrl-C (or an error) between two writes: psycopg cancels only a statement
                # it is waiting for, and ending the COPY waits for the server, which may be
                # waiting itself (for a lock). Cancel first, then the COPY ends at once.
                with contextlib.suppress(psycopg.Error):
                    cur.connection.cancel_safe(timeout=5)
                raise
    return {table: batch.counts.get(table, 0) for table in contract.TABLES}


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
        check_same(stored, requested, overrides)
        check_contract(conn, raw)
        prepare_tables(conn, raw)  # an older version's database lacks the state table
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
    snapshot that the same transaction stores (where the next load starts from).

    Ctrl-C is the loading process's to handle (it stops this one); a loading process
    that is gone (killed) closes the pipe, and this one ends without a word."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # The simulation makes no reference cycles (test_generator checks): the cyclic
    # collector, which ran after every day, would only rescan the shop (3 % of the time).
    gc.disable()
    try:
        for left in range(days - 1, -1, -1):
            batches = sim.next_day_copy()
            out.send((batches, sim.snapshot() if left == 0 else None))
        out.close()
    except (BrokenPipeError, ConnectionResetError):
        os._exit(0)


def _simulated_ahead(sim: Simulation, days: int) -> Iterator[tuple[list[CopyBatch], bytes | None]]:
    """The next `days` days of `sim`, simulated in a forked process while this one
    loads the day before (generating is pure Python and costs more than COPY: on two
    cores the two overlap). The generator sends deliveries ready for COPY, much cheaper to
    send than rows: the small tables as text, the events as columns that this process
    formats while PostgreSQL parses (CopyBatch.chunks). A full pipe makes the generator
    wait."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    generator = context.Process(target=_simulate, args=(sim, days, send), daemon=True)
    # SIGINT is held back while forking, so that the generator never sees one (it ignores
    # them from its first line); a Ctrl-C meanwhile reaches this process right after.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        generator.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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
    batches: list[CopyBatch],
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


def check_same(stored: GeneratorConfig, requested: GeneratorConfig, overrides: set[str]) -> None:
    """The settings the user asked for (`overrides`) must be those of the loaded data."""
    for name in sorted(overrides):
        if getattr(stored, name) != getattr(requested, name):
            raise LoadError(
                f"the loaded data was generated with {name}={getattr(stored, name)}, not "
                f"{getattr(requested, name)}; load more days without --{name.replace('_', '-')} "
                "or start again with `webshop reset`"
            )
