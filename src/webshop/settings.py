"""Where things are: the connection (libpq variables, as profiles.yml reads them) and paths."""

from __future__ import annotations

import os
from pathlib import Path

from webshop.pg import DEFAULT_PORT, SUPERUSER

PROJECT_DIR = Path(os.environ.get("WEBSHOP_PROJECT_DIR", Path.cwd()))


def connection() -> dict[str, str]:
    """libpq keywords from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, with the
    embedded warehouse's values as defaults (the same defaults as profiles.yml)."""
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", str(DEFAULT_PORT)),
        "user": os.environ.get("PGUSER", SUPERUSER),
        "password": os.environ.get("PGPASSWORD", ""),
        "dbname": os.environ.get("PGDATABASE", "webshop"),
    }


def raw_schema() -> str:
    return os.environ.get("WEBSHOP_RAW_SCHEMA", "raw")


def dbt_schema() -> str:
    """The dbt target schema; layers build into `<it>_staging`, `<it>_marts`, ..."""
    return os.environ.get("DBT_SCHEMA", "analytics")


def pgdata() -> Path:
    return Path(os.environ.get("WEBSHOP_PGDATA", PROJECT_DIR / ".warehouse" / "pgdata")).resolve()


def describe(conn: dict[str, str]) -> str:
    return f"{conn['host']}:{conn['port']} (database {conn['dbname']}, user {conn['user']})"
