"""Where things are: the connection (libpq variables, as profiles.yml reads them) and paths.

Each job connects as its own role (roles.py): `webshop load` as the loader, the commands
that read what dbt built as the transformer (dbt's own role), and the administrative
ones (`reset`, `scrub-closed-accounts`, preparing raw) as PGUSER, by default the
superuser `postgres`. Passwords come from libpq's passfile: PGPASSFILE, else the embedded
server's `.warehouse/pgpass` when it exists, else ~/.pgpass.

Every name that reaches SQL (PGDATABASE, DBT_SCHEMA, WEBSHOP_RAW_SCHEMA) must be a plain
name; anything else is refused with one line before a connection is made.

The project is the directory holding dbt_project.yml: the current one or the nearest
parent (WEBSHOP_PROJECT_DIR overrides), so `webshop` works from any subfolder.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import yaml

from webshop import names
from webshop.pg import DEFAULT_PORT, SUPERUSER
from webshop.roles import MAX_DBT_SCHEMA, ROLES

LOCAL_HOSTS = ("127.0.0.1", "localhost")
# The warehouse calendar when dbt_project.yml does not say (vars calendar_start/_end).
CALENDAR = (date(2000, 1, 1), date(2099, 12, 31))


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line."""


def find_project(start: Path) -> Path:
    """The nearest directory holding dbt_project.yml, `start` included; `start` if none."""
    for directory in (start, *start.parents):
        if (directory / "dbt_project.yml").is_file():
            return directory
    return start


PROJECT_DIR = (
    Path(os.environ["WEBSHOP_PROJECT_DIR"])
    if os.environ.get("WEBSHOP_PROJECT_DIR")
    else find_project(Path.cwd())
)


def connection(role: str = "admin") -> dict[str, str]:
    """libpq keywords from PGHOST, PGPORT, PGDATABASE, with the embedded warehouse's values
    as defaults (the same defaults as profiles.yml), for `role`: "admin" (PGUSER and
    PGPASSWORD, default postgres) or a short name of ROLES (its password from the passfile)."""
    conn = {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", str(DEFAULT_PORT)),
        "user": os.environ.get("PGUSER", SUPERUSER) if role == "admin" else ROLES[role],
        # An explicit empty password: libpq then looks in the passfile, never at PGPASSWORD.
        "password": os.environ.get("PGPASSWORD", "") if role == "admin" else "",
        "dbname": database(),
    }
    passfile = embedded_passfile()
    if "PGPASSFILE" not in os.environ and conn["host"] in LOCAL_HOSTS and passfile.exists():
        conn["passfile"] = str(passfile)
    return conn


def database() -> str:
    return names.plain_name(os.environ.get("PGDATABASE", "webshop"), "PGDATABASE")


def raw_schema() -> str:
    return names.plain_name(os.environ.get("WEBSHOP_RAW_SCHEMA", "raw"), "WEBSHOP_RAW_SCHEMA")


def dbt_schema() -> str:
    """The dbt target schema; layers build into `<it>_staging`, `<it>_marts`, ..."""
    return names.plain_name(os.environ.get("DBT_SCHEMA", "analytics"), "DBT_SCHEMA", MAX_DBT_SCHEMA)


def pgdata() -> Path:
    """The embedded server's data directory (a symlink is kept as it is: as root it may
    point to where the server's OS user can reach the data)."""
    return Path(os.environ.get("WEBSHOP_PGDATA", PROJECT_DIR / ".warehouse" / "pgdata")).absolute()


def embedded_passfile() -> Path:
    """The embedded server's passfile (pg.Cluster.passfile)."""
    return pgdata().parent / "pgpass"


def uses_embedded() -> bool:
    """Whether libpq's variables point at the embedded server: PGHOST unset, or a local
    host where the embedded data directory exists. Otherwise it is a server of your own,
    and no hint suggests `webshop db start`."""
    host = os.environ.get("PGHOST")
    if not host:
        return True
    return host in LOCAL_HOSTS and (pgdata() / "PG_VERSION").exists()


def calendar() -> tuple[date, date]:
    """The first and last day the warehouse covers (dbt vars calendar_start and
    calendar_end in dbt_project.yml; a raw row outside them is quarantined)."""
    project = PROJECT_DIR / "dbt_project.yml"
    try:
        found = (yaml.safe_load(project.read_text()) or {}).get("vars") or {}
    except (OSError, yaml.YAMLError):
        found = {}
    bounds = []
    for name, default in zip(("calendar_start", "calendar_end"), CALENDAR, strict=True):
        value = found.get(name, default)
        try:
            bounds.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            raise SettingsError(
                f"var {name} in {project} is not a date (YYYY-MM-DD): {value!r}"
            ) from None
    return bounds[0], bounds[1]


def describe(conn: dict[str, str]) -> str:
    return f"{conn['host']}:{conn['port']} (database {conn['dbname']}, user {conn['user']})"
