"""Who may do what in the warehouse: the roles, their privileges, and the raw tables' owner.

- `webshop_raw_owner` (cannot log in) owns the raw tables and the loader's bookkeeping
  schema; an administrator acts as it for the one update raw ever gets (erasure.py).
- `webshop_loader` appends: INSERT on the raw tables (all COPY FROM needs) and on its
  bookkeeping, whose one-row generator snapshot it may also replace. No UPDATE, DELETE,
  TRUNCATE or DROP on raw; no CREATE anywhere: an administrator prepares the tables.
- `webshop_transformer` (dbt) reads raw and owns the schemas dbt creates (CREATE on the
  database); no superuser, CREATEROLE or server-file roles.
- `webshop_analyst` (BI) reads what dbt's `grants` config publishes (marts, warehouse,
  snapshots, semantic layer) without personal data (macros/grants.sql); read-only
  transactions, a statement timeout, a connection limit, UTC.
- `webshop_marketing` is an analyst that also reads the personal-data columns whose YAML
  names it (the e-mail of dim_customer and mart_last_session_cart).

The same statements run on the embedded server (`webshop db start`, the test fixtures) and
are printed for a DBA's own server (`webshop db roles --sql`). Every statement is
idempotent; names are identifiers and plain.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from webshop import contract, names, pg

ROLES = {
    "loader": "webshop_loader",
    "transformer": "webshop_transformer",
    "analyst": "webshop_analyst",
    "marketing": "webshop_marketing",
}
RAW_OWNER = "webshop_raw_owner"
# The loader's bookkeeping schema (batch log, generator settings and snapshot).
META_SCHEMA = "webshop_loader"
# The schemas dbt builds into: <DBT_SCHEMA> and <DBT_SCHEMA>_<layer>.
DBT_LAYERS = ("staging", "intermediate", "warehouse", "marts", "snapshots")

# The warehouse's clock: every login role's sessions start in UTC on any server (the
# readers through READER_SETTINGS). A client that sets PGTZ still gets its own time zone;
# the marts and the semantic layer do not depend on it.
ROLE_TIMEZONE = "UTC"
# Session defaults of the roles people query with (BI tools, notebooks). A default, not a
# cage: a session may change its own settings; what it may read or write is the grants'.
READER_SETTINGS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "5min",
    "idle_in_transaction_session_timeout": "15min",
    "timezone": ROLE_TIMEZONE,
}
CONNECTION_LIMITS = {"analyst": 20, "marketing": 5}

Statement = sql.SQL | sql.Composed


def _id(name: str) -> sql.Identifier:
    return sql.Identifier(names.plain_name(name, "a role or schema name"))


def _ids(*items: str) -> sql.Composable:
    return sql.SQL(", ").join(_id(item) for item in items)


def role_statements() -> list[Statement]:
    """Create the roles (once) and set their attributes, memberships and defaults."""
    statements: list[Statement] = []
    for name in (RAW_OWNER, *ROLES.values()):
        statements.append(
            sql.SQL(
                "do $$ begin\n"
                "    if not exists (select from pg_roles where rolname = {name}) then\n"
                "        create role {role};\n"
                "    end if;\n"
                "end $$"
            ).format(name=sql.Literal(name), role=_id(name))
        )
    statements.append(
        sql.SQL(
            "alter role {} nologin nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
        ).format(_id(RAW_OWNER))
    )
    for short, name in ROLES.items():
        statements.append(
            sql.SQL(
                "alter role {} login nosuperuser nocreatedb nocreaterole noreplication"
                " nobypassrls connection limit {}"
            ).format(_id(name), sql.SQL(str(int(CONNECTION_LIMITS.get(short, -1)))))
        )
    for short in ("loader", "transformer"):
        statements.append(
            sql.SQL("alter role {} set timezone = {}").format(
                _id(ROLES[short]), sql.Literal(ROLE_TIMEZONE)
            )
        )
    for short in ("analyst", "marketing"):
        for setting, value in READER_SETTINGS.items():
            statements.append(
                sql.SQL("alter role {} set {} = {}").format(
                    _id(ROLES[short]), sql.Identifier(setting), sql.Literal(value)
                )
            )
    statements.append(
        sql.SQL("grant {} to {}").format(_id(ROLES["analyst"]), _id(ROLES["marketing"]))
    )
    # An administrator who is no superuser (a managed server) acts as the raw owner
    # to prepare and scrub the raw tables.
    statements.append(
        sql.SQL(
            "do $$ begin\n"
            "    if not (select rolsuper from pg_roles where rolname = current_user) then\n"
            "        execute format('grant %I to %I', {owner}, current_user);\n"
            "    end if;\n"
            "end $$"
        ).format(owner=sql.Literal(RAW_OWNER))
    )
    return statements


def database_statements(database: str) -> list[Statement]:
    """Who may connect and create: only our roles connect; only the transformer creates
    (its schemas, and the temporary tables of incremental models)."""
    db = sql.Identifier(names.plain_name(database, "the database name (PGDATABASE)"))
    return [
        sql.SQL("revoke all on database {} from public").format(db),
        sql.SQL("grant connect on database {} to {}").format(db, _ids(*ROLES.values())),
        sql.SQL("grant create, temporary on database {} to {}").format(
            db, _id(ROLES["transformer"])
        ),
        sql.SQL(
            "do $$ begin\n"
            "    if exists (select from pg_namespace where nspname = 'public') then\n"
            "        revoke create on schema public from public;\n"
            "    end if;\n"
            "end $$"
        ),
    ]


def batch_index_sql(raw: str, table: str) -> Statement:
    """A raw table's B-tree on its batch moment: incremental models read only new batches
    through it, and the batch catalogue counts every batch's rows from it alone (an
    index-only scan of a small index: a batch's rows share one value, which the B-tree
    stores once) instead of reading the whole table each night: 0.40 instead of 1.07 s at
    10M events."""
    return sql.SQL("create index if not exists {} on {} (_extracted_at)").format(
        sql.Identifier(f"{table}__batch"), sql.Identifier(raw, table)
    )


def raw_statements(raw: str) -> list[Statement]:
    """The raw tables and the loader's bookkeeping, owned by the raw owner, with the
    loader's and the transformer's privileges. Existing objects (made by an older
    version) change owner; their rows stay."""
    schema = _id(names.plain_name(raw, "the raw schema (WEBSHOP_RAW_SCHEMA)"))
    meta = _id(META_SCHEMA)
    owner, loader, transformer = _id(RAW_OWNER), _id(ROLES["loader"]), _id(ROLES["transformer"])
    raw_tables = [sql.Identifier(raw, table) for table in contract.TABLES]
    statements: list[Statement] = []
    for name in (schema, meta):
        statements += [
            sql.SQL("create schema if not exists {} authorization {}").format(name, owner),
            sql.SQL("alter schema {} owner to {}").format(name, owner),
        ]
    for table, relation in zip(contract.TABLES, raw_tables, strict=True):
        statements += [
            contract.create_table_sql(raw, table),
            sql.SQL("alter table {} owner to {}").format(relation, owner),
            # The batch B-tree replaces the BRIN index of older versions.
            sql.SQL("drop index if exists {}").format(
                sql.Identifier(raw, f"{table}__extracted_at")
            ),
            batch_index_sql(raw, table),
        ]
    bookkeeping = {
        "config": "settings jsonb not null",
        "batch": (
            "day integer not null, delivery integer not null,"
            " extracted_at timestamptz not null, rows jsonb not null,"
            " loaded_at timestamptz not null default now(),"
            " primary key (day, delivery)"
        ),
        # The generator's snapshot after the last loaded day (one row).
        "state": "day integer not null, snapshot bytea not null",
    }
    for table, columns in bookkeeping.items():
        statements += [
            sql.SQL("create table if not exists {}.{} ({})").format(
                meta, sql.Identifier(table), sql.SQL(columns)
            ),
            sql.SQL("alter table {}.{} owner to {}").format(meta, sql.Identifier(table), owner),
        ]
    config, batch, state = (sql.Identifier(META_SCHEMA, t) for t in ("config", "batch", "state"))
    statements += [
        sql.SQL("grant usage on schema {} to {}, {}").format(schema, loader, transformer),
        sql.SQL("grant insert on table {} to {}").format(sql.SQL(", ").join(raw_tables), loader),
        sql.SQL("grant select on table {} to {}").format(
            sql.SQL(", ").join(raw_tables), transformer
        ),
        sql.SQL("grant usage on schema {} to {}, {}").format(meta, loader, transformer),
        sql.SQL("grant select, insert on table {}, {} to {}").format(config, batch, loader),
        sql.SQL("grant select, insert, delete on table {} to {}").format(state, loader),
        sql.SQL("grant select on table {}, {} to {}").format(config, batch, transformer),
    ]
    return statements


def script(database: str, raw: str) -> str:
    """Every statement, as SQL a DBA runs on their own server (psql, as a superuser)."""
    header = f"""\
-- The webshop warehouse's roles and privileges for database {database}, raw schema {raw}
-- (`webshop db roles --sql`). Run it in that database as a superuser, or as a role with
-- CREATEROLE that owns the database: psql -v ON_ERROR_STOP=1 -d {database} -f roles.sql
-- It is idempotent: run it again after an upgrade. Then give each login role a password
-- (psql: \\password webshop_loader, ...) and put them in the users' passfiles.
-- dbt grants what it builds (dbt_project.yml `grants`, macros/grants.sql).
"""
    parts = [
        ("roles", role_statements()),
        (f"database {database}", database_statements(database)),
        (f"raw tables (schema {raw}) and the loader's bookkeeping", raw_statements(raw)),
    ]
    body = "\n".join(
        f"\n-- {title}\n" + "".join(f"{statement.as_string()};\n" for statement in statements)
        for title, statements in parts
    )
    return header + body


# -- on a server -------------------------------------------------------------------------


def _execute(conn: psycopg.Connection[Any], statements: list[Statement]) -> None:
    with conn.transaction():
        for statement in statements:
            conn.execute(statement)


def create_roles(conn: psycopg.Connection[Any], passwords: dict[str, str]) -> None:
    """The roles, with the passwords given (by short name or role name) set as scram
    verifiers: the passwords themselves never reach the server."""
    _execute(conn, role_statements())
    for short, name in ROLES.items():
        password = passwords.get(short) or passwords.get(name)
        if password:
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    _id(name), sql.Literal(pg.scram_verifier(password))
                )
            )


def prepare_database(cluster: pg.Cluster, database: str) -> None:
    """Create `database` if missing and set who may connect and create in it."""
    cluster.ensure_database(database)
    with cluster.connect(database) as conn:
        _execute(conn, database_statements(database))


def raw_is_ready(conn: psycopg.Connection[Any], raw: str) -> bool:
    """Whether the raw tables and the bookkeeping tables all exist."""
    expected = [(raw, table) for table in contract.TABLES] + [
        (META_SCHEMA, table) for table in ("config", "batch", "state")
    ]
    row = conn.execute(
        "select count(*) from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
        " where c.relkind in ('r', 'p') and (n.nspname, c.relname) in"
        " (select * from unnest(%s::text[], %s::text[]))",
        ([s for s, _ in expected], [t for _, t in expected]),
    ).fetchone()
    return row is not None and row[0] == len(expected)


def prepare_raw(conn: psycopg.Connection[Any], raw: str) -> None:
    """Create (or take over) the raw tables and the bookkeeping, as an administrator."""
    _execute(conn, raw_statements(raw))


def raw_is_ours(conn: psycopg.Connection[Any], raw: str) -> bool:
    """Whether the raw schema exists and was made by webshop (it has our bookkeeping)."""
    row = conn.execute(
        "select to_regnamespace(%s) is not null and to_regclass(%s) is not null",
        (raw, f"{META_SCHEMA}.config"),
    ).fetchone()
    return bool(row and row[0])


def adopt_dbt_schemas(conn: psycopg.Connection[Any], dbt_schema: str) -> list[str]:
    """Give the transformer the dbt schemas an older version built as the superuser, with
    everything in them (their rows stay); returns the schemas that changed owner."""
    schema = names.plain_name(dbt_schema, "DBT_SCHEMA", MAX_DBT_SCHEMA)
    transformer = _id(ROLES["transformer"])
    wanted = [schema] + [f"{schema}_{layer}" for layer in DBT_LAYERS]
    found = conn.execute(
        "select nspname from pg_namespace where nspname = any(%s)"
        " and nspowner <> %s::regrole order by 1",
        (wanted, ROLES["transformer"]),
    ).fetchall()
    kinds = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "S": "sequence"}
    with conn.transaction():
        for (name,) in found:
            conn.execute(sql.SQL("alter schema {} owner to {}").format(_id(name), transformer))
            relations = conn.execute(
                "select c.relname, c.relkind from pg_class as c"
                " join pg_namespace as n on n.oid = c.relnamespace"
                " left join pg_depend as d on d.objid = c.oid and d.deptype in ('a', 'i')"
                "  and d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass"
                " where n.nspname = %s and c.relkind = any(%s) and d.objid is null",
                (name, list(kinds)),
            ).fetchall()
            for relname, relkind in relations:
                conn.execute(
                    sql.SQL("alter {} {} owner to {}").format(
                        sql.SQL(kinds[relkind]), sql.Identifier(name, relname), transformer
                    )
                )
            functions = conn.execute(
                "select p.oid::regprocedure::text from pg_proc as p"
                " join pg_namespace as n on n.oid = p.pronamespace where n.nspname = %s",
                (name,),
            ).fetchall()
            for (signature,) in functions:
                conn.execute(
                    sql.SQL("alter routine {} owner to {}").format(sql.SQL(signature), transformer)
                )
    return [name for (name,) in found]


# DBT_SCHEMA plus the longest layer suffix must stay a PostgreSQL identifier.
MAX_DBT_SCHEMA = names.MAX_LENGTH - len("_intermediate")


def setup(
    cluster: pg.Cluster, database: str, raw: str | None = None, dbt_schema: str | None = None
) -> None:
    """Everything the embedded server needs, idempotent (`webshop db start`, the test
    fixtures): the roles with the passfile's passwords (generated when missing),
    `database` with its privileges, and, when given, a raw schema made by an older
    version taken over by the raw owner and its dbt schemas by the transformer."""
    passwords = cluster.ensure_passwords([pg.SUPERUSER, *ROLES.values()])
    with cluster.connect("postgres") as conn:
        create_roles(conn, passwords)
    prepare_database(cluster, database)
    with cluster.connect(database) as conn:
        if raw is not None and raw_is_ours(conn, raw):
            prepare_raw(conn, raw)
        if dbt_schema is not None:
            adopt_dbt_schemas(conn, dbt_schema)
