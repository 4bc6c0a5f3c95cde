"""`webshop`: run the embedded warehouse, install dbt packages, generate and load raw data.

Every error a user can cause ends in one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg
from psycopg import sql

from webshop import (
    contract,
    copytext,
    deps,
    erasure,
    loader,
    names,
    nights,
    pg,
    roles,
    settings,
)
from webshop.generator import Faults, GeneratorConfig, generate

FAULT_NAMES = [f.name for f in dataclasses.fields(Faults)]
F = TypeVar("F", bound=Callable[..., Any])


def _cluster() -> pg.Cluster:
    conn = settings.connection()
    if conn["host"] not in settings.LOCAL_HOSTS:
        raise click.ClickException(
            f"PGHOST is {conn['host']}: the embedded PostgreSQL only serves 127.0.0.1; "
            "unset PGHOST to use it"
        )
    try:
        port = int(conn["port"])
    except ValueError:
        raise click.ClickException(f"PGPORT must be a number, not {conn['port']!r}") from None
    return pg.Cluster(pg.embedded_bin_dir(), settings.pgdata(), port)


class Interrupted(Exception):
    """Ctrl-C (SIGINT) while a command ran: click would print a blank line for it."""


class Cli(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Raw data and an embedded PostgreSQL for the webshop dbt warehouse."""


def _connect(conninfo: dict[str, str]) -> psycopg.Connection[Any]:
    """A connection whose failure hints fit the server in use (embedded or yours)."""
    return loader.connect(conninfo, embedded=settings.uses_embedded())


# -- the embedded PostgreSQL ------------------------------------------------------------


def _port_note(server: pg.Running) -> str:
    """What to say when the running server's port is not the one dbt and webshop use."""
    wanted = settings.connection()["port"]
    if wanted == str(server.port):
        return ""
    where = f"PGPORT is {wanted}" if "PGPORT" in os.environ else f"the default port is {wanted}"
    return f" ({where}: dbt and webshop connect there; export PGPORT={server.port})"


@cli.group()
def db() -> None:
    """The embedded PostgreSQL (data in .warehouse/pgdata, listening on 127.0.0.1)."""


@db.command()
@click.option(
    "--listen",
    default=pg.LOOPBACK,
    show_default=True,
    envvar="WEBSHOP_LISTEN",
    help="Addresses to listen on, e.g. 0.0.0.0 for a BI tool in a container (env "
    "WEBSHOP_LISTEN); every connection needs a password.",
)
def start(listen: str) -> None:
    """Initialise (first time), start, create the database and the roles."""
    cluster = _cluster()
    database = settings.database()
    raw, dbt_schema = settings.raw_schema(), settings.dbt_schema()
    pg.listen_addresses(listen)
    running = cluster.running()
    if running is not None:
        cluster = dataclasses.replace(cluster, port=running.port)  # where it really listens
    elif not pg.port_is_free(cluster.port):
        # Before initdb: nothing is created for a server that cannot start.
        yours = (
            f"; PGHOST={os.environ['PGHOST']}: if that is your own PostgreSQL, use it "
            "without `webshop db start`"
            if os.environ.get("PGHOST")
            else ""
        )
        raise click.ClickException(
            f"port {cluster.port} on 127.0.0.1 is taken by another program: set PGPORT to a "
            f"free port{yours}"
        )
    created = cluster.init()
    started = cluster.start(listen=listen)
    roles.setup(cluster, database, raw, dbt_schema)
    what = "created and started" if created else "started" if started else "already running"
    running = cluster.running()
    port = running.port if running else cluster.port
    url = pg.url(pg.LOOPBACK, port, database, roles.ROLES["analyst"])
    click.echo(f"embedded PostgreSQL {what}: {url}{_port_note(running) if running else ''}")
    click.echo(
        f"roles {', '.join(roles.ROLES.values())}; passwords in {cluster.passfile} "
        "(`webshop db credentials ROLE`)"
    )


@db.command()
def stop() -> None:
    """Stop the server (the data stays)."""
    stopped = _cluster().stop()
    click.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@db.command()
def status() -> None:
    """Say whether the server runs, its data directory and its port (exit 3: stopped)."""
    cluster = _cluster()
    running = cluster.running()
    if running is None:
        click.echo(f"embedded PostgreSQL stopped; data {cluster.data_dir}; port {cluster.port}")
        sys.exit(3)
    click.echo(
        f"embedded PostgreSQL running (pid {running.pid}); data {running.data_dir}; "
        f"port {running.port}{_port_note(running)}"
    )


ROLE_CHOICE = click.Choice(list(roles.ROLES))


@db.command()
@click.option(
    "--role",
    type=click.Choice([*roles.ROLES, "admin"]),
    default="analyst",
    show_default=True,
    help="Who connects: analyst for BI tools, marketing for the e-mail list, admin for "
    "PGUSER (the administrator).",
)
def url(role: str) -> None:
    """Print the connection URL (for psql, BI tools, ...) of the server dbt and webshop
    use: the embedded one (its real port when it runs), or yours (PGHOST); the password is
    in the passfile (PGPASSFILE), or see `webshop db credentials ROLE`."""
    conn = settings.connection(role)
    host, port = conn["host"], conn["port"]
    if not port.isdigit():
        raise click.ClickException(f"PGPORT must be a number, not {port!r}")
    if settings.uses_embedded():
        running = _cluster().running()
        host, port = pg.LOOPBACK, str(running.port) if running else port
    click.echo(pg.url(host, port, conn["dbname"], conn["user"]))


@db.command()
@click.argument("role", type=ROLE_CHOICE)
def credentials(role: str) -> None:
    """Print host, port, database, user and password of ROLE, for a BI tool's form."""
    cluster = _cluster()
    user = roles.ROLES[role]
    password = cluster.passwords().get(user)
    if password is None:
        raise click.ClickException(
            f"no password for {user} in {cluster.passfile}: run `webshop db start` first"
        )
    running = cluster.running()
    for key, value in [
        ("host", pg.LOOPBACK),
        ("port", str(running.port if running else cluster.port)),
        ("database", settings.database()),
        ("user", user),
        ("password", password),
    ]:
        click.echo(f"{key:<9}{value}")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask.")
def destroy(yes: bool) -> None:
    """Stop the embedded server and delete its data (every database in it) and passwords.
    `make clean` never does this; `webshop db start` begins afresh afterwards."""
    cluster = _cluster()
    if not cluster.is_initialised() and not cluster.passfile.exists():
        click.echo(f"no embedded PostgreSQL data in {cluster.data_dir}; nothing to delete")
        return
    if not yes:
        click.confirm(
            f"delete the embedded PostgreSQL's data in {cluster.data_dir} (every database "
            f"in it, raw data included) and its passwords in {cluster.passfile}?",
            abort=True,
        )
    cluster.destroy()
    warehouse = cluster.data_dir.parent
    if warehouse.is_dir() and not any(warehouse.iterdir()):
        warehouse.rmdir()
    click.echo(f"deleted {cluster.data_dir} and {cluster.passfile}")


@db.command("roles")
@click.option("--sql", "as_sql", is_flag=True, required=True, help="Print the SQL.")
def roles_command(as_sql: bool) -> None:
    """Print the SQL that creates the roles, their privileges and the raw tables, for a
    DBA to run on their own PostgreSQL (database PGDATABASE, raw schema
    WEBSHOP_RAW_SCHEMA)."""
    click.echo(roles.script(settings.database(), settings.raw_schema()), nl=False)


# -- dbt packages -----------------------------------------------------------------------


@cli.command("deps")
@click.option("--offline", is_flag=True, help="Do not try the dbt Hub; use the mirror.")
def deps_command(offline: bool) -> None:
    """Install the locked dbt packages (dbt Hub, else DBT_PACKAGES_MIRROR)."""
    try:
        source = deps.install(settings.PROJECT_DIR, deps.default_mirror(), try_hub=not offline)
    except deps.DepsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dbt packages: {source}")


# -- raw data ---------------------------------------------------------------------------


_DEFAULT = GeneratorConfig()


def _generator_options(start_date_help: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        options = [
            click.option("--seed", type=int, help=f"Random seed (default {_DEFAULT.seed})."),
            click.option(
                "--scale",
                type=click.FloatRange(min=0.0001, max=10),
                help="Scale factor: 1 = ~20k customers and ~5M events in 120 days "
                f"(default {_DEFAULT.scale}).",
            ),
            click.option(
                "--start-date",
                type=click.DateTime(formats=["%Y-%m-%d"]),
                help=start_date_help,
            ),
            click.option("--no-faults", is_flag=True, help="Clean data: every fault rate 0."),
            click.option(
                "--fault",
                "fault_rates",
                multiple=True,
                metavar="NAME=RATE",
                help=f"Set one fault rate; NAME is one of {', '.join(FAULT_NAMES)}.",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


class NightDate(click.ParamType[date]):
    """A batch date: YYYY-MM-DD, `today` or `yesterday` (UTC)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        today = datetime.now(timezone.utc).date()
        relative = {"today": today, "yesterday": today - timedelta(days=1)}
        if str(value).lower() in relative:
            return relative[str(value).lower()]
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD, today or yesterday)", param, ctx)


def _config(
    seed: int | None,
    scale: float | None,
    start_date: Any,
    no_faults: bool,
    fault_rates: tuple[str, ...],
) -> tuple[GeneratorConfig, set[str]]:
    faults = Faults.none() if no_faults else Faults()
    for item in fault_rates:
        name, _, value = item.partition("=")
        if name not in FAULT_NAMES:
            raise click.BadParameter(f"unknown fault {name!r}", param_hint="--fault")
        try:
            rate = float(value)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not NAME=RATE", param_hint="--fault") from None
        if not 0 <= rate <= 1:
            raise click.BadParameter(f"rate {rate} is not between 0 and 1", param_hint="--fault")
        faults = dataclasses.replace(faults, **{name: rate})
    default = GeneratorConfig()
    config = GeneratorConfig(
        seed=default.seed if seed is None else seed,
        scale=default.scale if scale is None else scale,
        start_date=default.start_date if start_date is None else start_date.date(),
        faults=faults,
    )
    overrides = {
        name
        for name, given in [
            ("seed", seed is not None),
            ("scale", scale is not None),
            ("start_date", start_date is not None),
            ("faults", no_faults or bool(fault_rates)),
        ]
        if given
    }
    return config, overrides


@cli.command()
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Nights to append after what is loaded (with --until: at most this many).",
)
@click.option(
    "--until",
    type=NightDate(),
    help="Load every missing night whose batch lands up to DATE (YYYY-MM-DD, today or "
    "yesterday, UTC); run it again and it loads nothing.",
)
@click.option(
    "--future",
    is_flag=True,
    help="Also load nights whose batch lands after now (replaying ahead of time).",
)
@click.option("--only-if-empty", is_flag=True, help="Load nothing if data is loaded already.")
@click.option(
    "--target",
    type=click.Choice(["dev", "spark"]),
    default="dev",
    show_default=True,
    help="The profiles.yml output to load into: dev (PostgreSQL) or spark (Parquet tables "
    "in a local Spark warehouse; needs `make spark-setup`).",
)
@_generator_options(
    "Day 0 on an empty database (default: DAYS nights before --until, else before today, "
    "so that the newest batch is the latest one due)."
)
def load(
    days: int | None,
    until: date | None,
    future: bool,
    only_if_empty: bool,
    target: str,
    **options: Any,
) -> None:
    """Append daily batches (one per night) after what is loaded: the next DAYS nights, or
    every night up to --until DATE. A night whose batch would land after now is only
    loaded with --future; every timestamp stays inside the warehouse calendar (dbt vars
    calendar_start and calendar_end). Each night is one transaction: an interrupted load
    keeps the nights it finished, and the next run carries on from there."""
    if days is None and until is None:
        raise click.UsageError("say how much to load: --days N or --until DATE")
    config, overrides = _config(**options)  # bad options: one line before connecting
    request = _LoadRequest(
        days,
        until,
        future,
        only_if_empty,
        options["start_date"],
        config,
        overrides,
        settings.calendar(),
    )
    if target == "spark":
        _load_spark(request)
        return
    conninfo = settings.connection("loader")
    raw = settings.raw_schema()

    with _connect(conninfo) as conn:
        stored = loader.stored_config(conn, raw)
        planned = _plan(request, stored, loader.loaded_days(conn) if stored else 0)
        if planned is None:
            return
        plan, config = planned
        if not roles.raw_is_ready(conn, raw):
            _prepare_raw(raw)
        _say_loading(plan, settings.describe(conninfo))
        reports = loader.load(conn, raw, plan.count, config, overrides, _progress)
    _say_loaded(reports, plan)


@dataclasses.dataclass(frozen=True)
class _LoadRequest:
    """What `webshop load` was asked for (its options), whatever the target."""

    days: int | None
    until: date | None
    future: bool
    only_if_empty: bool
    start_date: datetime | None
    config: GeneratorConfig
    overrides: set[str]
    calendar: tuple[date, date]


def _plan(
    request: _LoadRequest, stored: GeneratorConfig | None, first: int
) -> tuple[nights.Plan, GeneratorConfig] | None:
    """The nights to load after the `first` ones loaded (nights.plan) and the generator's
    config for them (day 0 from the plan when not given); None, once said why, when there
    are none."""
    if first and request.only_if_empty:
        click.echo(f"{first} days are loaded already; nothing to do (--only-if-empty)")
        return None
    if stored is not None:
        loader.check_same(stored, request.config, request.overrides)
    try:
        plan = nights.plan(
            stored_start=stored.start_date if stored else None,
            loaded=first,
            start=request.start_date.date() if request.start_date else None,
            days=request.days,
            until=request.until,
            now=datetime.now(timezone.utc),
            future=request.future,
            calendar=request.calendar,
        )
    except nights.PlanError as exc:
        raise click.ClickException(str(exc)) from None
    if plan.count == 0:
        click.echo(
            f"nothing to load: every night up to {plan.upto} is loaded"
            if plan.first
            else f"nothing to load: none of these nights lands by {plan.upto}"
        )
        if plan.note:
            click.echo(plan.note)
        return None
    config = request.config
    if request.start_date is None:
        config = dataclasses.replace(config, start_date=plan.start)
    return plan, config


def _progress(report: loader.DayReport) -> None:
    rows = sum(report.rows.values())
    twice = " (delivered twice)" if report.deliveries > 1 else ""
    click.echo(
        f"  day {report.day:>3}  batch {report.batch_date}  {rows:>9,} rows"
        f"  {report.seconds:5.1f}s{twice}"
    )


def _say_loading(plan: nights.Plan, where: str) -> None:
    last = plan.first + plan.count - 1
    click.echo(
        f"loading days {plan.first}..{last} (batches {plan.batch_date(plan.first)} .. "
        f"{plan.batch_date(last)}) into {where}"
    )


def _say_loaded(reports: list[loader.DayReport], plan: nights.Plan) -> None:
    total = sum(sum(r.rows.values()) for r in reports)
    seconds = sum(r.seconds for r in reports)
    click.echo(f"loaded {len(reports)} days, {total:,} rows in {seconds:.1f}s")
    if plan.note:
        click.echo(plan.note)


def _load_spark(request: _LoadRequest) -> None:
    """`load --target spark`: the same nights into Parquet tables of the local Spark
    warehouse that the profile's `spark` output names (spark_loader)."""
    try:
        from webshop import spark_loader
    except ImportError:
        raise click.ClickException(
            "the Spark extra is not installed: `make spark-setup` (or pip install -e .[spark])"
        ) from None
    raw = settings.raw_schema()
    project = settings.PROJECT_DIR
    parameters = spark_loader.profile_parameters(project)
    started = time.perf_counter()
    try:
        with spark_loader.spark_session(project, parameters) as spark:
            click.echo(f"Spark started in {time.perf_counter() - started:.1f}s")
            stored = spark_loader.stored_config(spark, raw)
            planned = _plan(request, stored, spark_loader.loaded_days(spark) if stored else 0)
            if planned is None:
                return
            plan, config = planned
            warehouse = parameters.get("spark.sql.warehouse.dir", "spark-warehouse")
            _say_loading(plan, f"Spark (warehouse {warehouse}, database {raw})")
            reports = spark_loader.load(
                spark, raw, plan.count, config, request.overrides, _progress
            )
    except spark_loader.SPARK_ERRORS as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        raise click.ClickException(f"Spark: {lines[0] if lines else type(exc).__name__}") from None
    _say_loaded(reports, plan)


def _prepare_raw(raw: str) -> None:
    """Create the raw tables as the administrator: the loader may only append."""
    admin = settings.connection("admin")
    try:
        with _connect(admin) as conn:
            roles.prepare_raw(conn, raw)
    except (loader.LoadError, psycopg.errors.InsufficientPrivilege) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(
            f"the raw tables (schema {raw}) are not prepared, the loader may not create them, "
            f"and the administrator {admin['user']} could not: {reason}"
        ) from None


@cli.command("generate")
@click.option("--days", type=click.IntRange(min=1), required=True, help="Days to write.")
@click.option("--first-day", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for one folder per delivery, one COPY text file per table.",
)
@_generator_options(f"Day 0 (default {_DEFAULT.start_date}).")
def generate_command(days: int, first_day: int, out: Path, **options: Any) -> None:
    """Write daily batches as COPY text files instead of loading them."""
    config, _ = _config(**options)
    out.mkdir(parents=True, exist_ok=True)
    previous = -1
    delivery = 0
    for batch in generate(config, first_day, days):
        delivery = delivery + 1 if batch.day == previous else 1
        previous = batch.day
        folder = out / f"day_{batch.day:04d}_{delivery}"
        folder.mkdir(exist_ok=True)
        for table, rows in batch.rows.items():
            with (folder / f"{table}.tsv").open("w", encoding="utf-8", newline="") as handle:
                handle.write(copytext.format_rows(rows, batch.extracted_at))
    click.echo(f"wrote days {first_day}..{first_day + days - 1} to {out}")


@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask.")
def reset(yes: bool) -> None:
    """Drop the loaded raw data (only if this loader created it). What dbt built from it
    stays until `dbt build --full-refresh` rebuilds it from the next load (a plain `dbt
    build` stops and says so)."""
    raw = settings.raw_schema()
    dbt_schema = settings.dbt_schema()
    with _connect(settings.connection("admin")) as conn:
        if loader.stored_config(conn, raw) is None:
            click.echo("nothing loaded by webshop here; nothing to reset")
            return
        if not yes:
            click.confirm(f"drop schemas {raw} and {loader.META_SCHEMA}?", abort=True)
        with conn.cursor() as cur:
            for schema in (raw, loader.META_SCHEMA):
                cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
        built = conn.execute(
            "select count(*) from pg_namespace where nspname = %s or nspname like %s",
            (dbt_schema, dbt_schema.replace("_", "\\_") + "\\_%"),
        ).fetchone()
    click.echo(f"dropped {raw} and {loader.META_SCHEMA}")
    if built and built[0]:
        click.echo(
            f"next: `webshop load --days N`, then `dbt build --full-refresh` ({dbt_schema}_* "
            "still holds what was built from the old data)"
        )
    else:
        click.echo("next: `webshop load --days N`")


@cli.command()
def summary() -> None:
    """Show what was loaded and what dbt built."""
    raw = settings.raw_schema()
    with _connect(settings.connection("transformer")) as conn, conn.cursor() as cur:
        if loader.stored_config(conn, raw) is None:
            raise click.ClickException("nothing loaded yet: run `webshop load --days N`")
        cur.execute(
            sql.SQL(
                "select count(distinct day), count(*), min(extracted_at)::date,"
                " max(extracted_at)::date from {}.batch"
            ).format(sql.Identifier(loader.META_SCHEMA))
        )
        days, deliveries, first, last = cur.fetchone()  # type: ignore[misc]
        click.echo(f"loaded: {days} days ({deliveries} deliveries), batches {first} .. {last}")
        for table in contract.TABLES:
            cur.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(raw), sql.Identifier(table)
                )
            )
            click.echo(f"  {raw}.{table:<12} {cur.fetchone()[0]:>10,} rows")  # type: ignore[index]
        cur.execute(
            "select n.nspname, c.relname, c.relkind from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname like %s and c.relkind in ('r', 'v', 'm')"
            " order by 1, 2",
            (settings.dbt_schema() + "%",),
        )
        relations = cur.fetchall()
        click.echo(f"built by dbt: {len(relations)} relations")
        width = max((len(f"{schema}.{name}") for schema, name, _ in relations), default=0)
        for schema, name, kind in relations:
            qualified = f"{schema}.{name}"
            if kind == "v":
                click.echo(f"  {qualified:<{width}}       view")
                continue
            cur.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(name)
                )
            )
            click.echo(f"  {qualified:<{width}} {cur.fetchone()[0]:>10,} rows")  # type: ignore[index]


@cli.command("scrub-closed-accounts")
def scrub_closed_accounts() -> None:
    """Erase closed accounts' personal data from the raw tables (GDPR art. 17): names,
    e-mail, phone and street of every version, IP address and user agent of every event.
    The only update raw ever gets; run as the administrator (PGUSER). Prints counts."""
    raw = settings.raw_schema()
    with _connect(settings.connection("admin")) as conn:
        if loader.stored_config(conn, raw) is None:
            raise click.ClickException("nothing loaded yet: nothing to scrub")
        done = erasure.scrub_closed_accounts(conn, raw)
    click.echo(
        f"closed accounts: {done.closed_accounts}; scrubbed {done.customer_rows} customer "
        f"rows and {done.event_rows} events in schema {raw}"
    )


@cli.command()
@click.option("--scale", type=click.FloatRange(min=0.0001, max=10), default=0.02, show_default=True)
@click.option(
    "--days",
    type=click.IntRange(min=2),
    default=20,
    show_default=True,
    help="History for the first measurements; the second set runs at twice this.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Incremental days measured at each history length (the best counts).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bench.json"),
    show_default=True,
)
@click.option(
    "--engine",
    type=click.Choice(["postgres", "spark"]),
    default="postgres",
    show_default=True,
    help="The warehouse to measure: PostgreSQL, or a local Spark (needs `make spark-setup`; "
    "PostgreSQL's floors and memory are not applicable there).",
)
@click.option(
    "--short",
    is_flag=True,
    help="Models only: ingest, the full dbt run and one nightly dbt run at DAYS days.",
)
def bench(scale: float, days: int, repeat: int, json_path: Path, engine: str, short: bool) -> None:
    """Time ingest, full build and one more day against their floors (SF1: --scale 1
    --days 120). Runs on a throw-away PostgreSQL, or Spark warehouse with --engine spark;
    your warehouse is not touched."""
    from webshop import bench as benchmark

    if engine == "spark" and importlib.util.find_spec("pyspark") is None:
        raise click.ClickException(
            "the Spark extra is not installed: `make spark-setup` (or pip install -e .[spark])"
        )
    results = benchmark.run(
        scale, days, repeat, lambda line: click.echo(f"- {line}", err=True), engine, short
    )
    click.echo(benchmark.report(results))
    benchmark.write_json(results, json_path)
    click.echo(f"\nwritten to {json_path}")


@dataclasses.dataclass(frozen=True)
class Mart:
    """A mart as `webshop marts` shows it: its question, and the columns that pick the
    rows to show: the latest ones (descending), or the first ones of a ranking."""

    question: str
    order_by: tuple[str, ...]
    descending: bool = True


MARTS = {
    "mart_weekly_shipping_time": Mart(
        "How long do orders take from placed to shipped, week by week?", ("placed_week",)
    ),
    "mart_last_session_cart": Mart(
        "What was in the cart in a customer's last session that ended in an order?",
        ("session_end", "customer_id"),
    ),
    "mart_weekly_discount": Mart(
        "How much discount do we give, week by week, and what share of gross is it?",
        ("placed_week",),
    ),
    "mart_product_funnel_weekly": Mart(
        "How do sessions move from product view to cart to order, and where do they drop off?",
        ("session_week",),
    ),
    "mart_product_funnel_by_product": Mart(
        "Which products turn views into orders, week by week?", ("session_week", "product_id")
    ),
    "mart_product_inventory_weekly": Mart(
        "Whose stock changed, fluctuated or ran out, week by week?", ("week_start", "product_id")
    ),
    "mart_product_price_changes": Mart(
        "How did list prices change over time?", ("changed_at", "product_id")
    ),
    "mart_customer_monthly_engagement": Mart(
        "How engaged is each customer, month by month?", ("activity_month", "customer_id")
    ),
    "mart_signup_cohorts": Mart(
        "Are new customers coming back (monthly sign-up cohorts)?",
        ("cohort_month", "months_since_signup"),
    ),
    "mart_customer_engagement_ranking": Mart(
        "Who are the most engaged customers right now?",
        ("engagement_rank", "customer_id"),
        descending=False,
    ),
    "mart_data_quality": Mart(
        "Which raw rows were quarantined, flagged or left without a match, and why, day by day?",
        ("check_date", "table_name", "rule_name"),
    ),
}


@cli.command()
@click.argument("names", nargs=-1, metavar="[MART]...")
@click.option("--rows", type=click.IntRange(min=1), default=5, show_default=True)
def marts(names: tuple[str, ...], rows: int) -> None:
    """Print each mart's question and its latest rows (all marts, or the MARTs named)."""
    unknown = [name for name in names if name not in MARTS]
    if unknown:
        raise click.ClickException(f"no mart {unknown[0]!r}; the marts are: {', '.join(MARTS)}")
    schema = f"{settings.dbt_schema()}_marts"
    with _connect(settings.connection("transformer")) as conn, conn.cursor() as cur:
        for name in names or tuple(MARTS):
            mart = MARTS[name]
            if conn.execute("select to_regclass(%s)", (f"{schema}.{name}",)).fetchone() == (None,):
                raise click.ClickException(f"{schema}.{name} does not exist: run `dbt build`")
            direction = sql.SQL(" desc" if mart.descending else "")
            order = sql.SQL(", ").join(sql.Identifier(c) + direction for c in mart.order_by)
            cur.execute(
                sql.SQL("select * from {}.{} order by {} limit %s").format(
                    sql.Identifier(schema), sql.Identifier(name), order
                ),
                (rows,),
            )
            header = [column.name for column in cur.description or []]
            body = [["" if v is None else str(v) for v in row] for row in cur.fetchall()]
            if mart.descending:
                body.reverse()
            which = "latest" if mart.descending else "first"
            click.echo(f"\n{mart.question}\n{schema}.{name} ({which} {len(body)} rows)")
            click.echo(format_table(header, body))


def format_table(header: list[str], body: list[list[str]]) -> str:
    """A plain-text table: columns padded to their widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=True)]
    lines = [header, ["-" * width for width in widths], *body]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def main() -> None:
    """Entry point: click's errors, and ours, as one line each."""
    try:
        cli.main(standalone_mode=False)
    except (Interrupted, KeyboardInterrupt):
        # Each night is one transaction: what was loaded stays, the rest was rolled back.
        if sys.stderr.isatty():
            click.echo(err=True)  # after the terminal's ^C
        click.echo("webshop: aborted", err=True)
        sys.exit(130)
    except click.exceptions.Abort:
        click.echo("webshop: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"webshop: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (loader.LoadError, pg.PgError, names.InvalidName, settings.SettingsError) as exc:
        click.echo(f"webshop: error: {exc}", err=True)
        sys.exit(1)
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"webshop: error: database said: {first_line}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"webshop: error: {exc}", err=True)
        sys.exit(1)
