"""webshop.pg: a PostgreSQL data directory run by a set of server binaries on 127.0.0.1."""

from __future__ import annotations

import os
import pwd
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from webshop import pg

from conftest import conninfo


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[pg.Cluster]:
    """A not yet initialised embedded cluster in this test's temporary directory."""
    cluster = pg.Cluster(pg.embedded_bin_dir(), tmp_path / "pgdata", pg.free_port())
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def stopped_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pg.Cluster]:
    """An initialised embedded cluster, not running, shared by this module's tests."""
    data_dir = tmp_path_factory.mktemp("stopped") / "pgdata"
    cluster = pg.Cluster(pg.embedded_bin_dir(), data_dir, pg.free_port())
    cluster.init()
    yield cluster
    cluster.destroy()


def _server_info(cluster: pg.Cluster) -> tuple[str, int, int]:
    with psycopg.connect(**conninfo(cluster, "postgres"), connect_timeout=5) as conn:
        row = conn.execute(
            "select host(inet_server_addr()), inet_server_port(),"
            " current_setting('server_version_num')::int"
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_embedded_bin_dir_holds_the_server_binaries() -> None:
    bin_dir = pg.embedded_bin_dir()
    for exe in ("initdb", "pg_ctl", "postgres", "psql"):
        assert (bin_dir / exe).is_file(), exe


def test_free_port_is_free() -> None:
    port = pg.free_port()
    assert 1024 < port < 65536
    assert pg.port_is_free(port)


def test_url() -> None:
    cluster = pg.Cluster(Path("/nowhere/bin"), Path("/nowhere/data"), 6543)
    assert cluster.url() == "postgresql://postgres@127.0.0.1:6543/webshop"
    assert cluster.url("shop") == "postgresql://postgres@127.0.0.1:6543/shop"


@pytest.mark.db
def test_init_creates_data_dir_and_is_idempotent(cluster: pg.Cluster) -> None:
    assert not cluster.is_initialised()
    assert cluster.init() is True
    assert cluster.is_initialised()
    assert (cluster.data_dir / "PG_VERSION").is_file()
    assert stat.S_IMODE(cluster.data_dir.stat().st_mode) == 0o700
    if os.geteuid() == 0:
        # PostgreSQL refuses root: the data dir belongs to the unprivileged server user.
        assert cluster.data_dir.stat().st_uid == pwd.getpwnam(pg.OS_USER).pw_uid
    auto_conf = (cluster.data_dir / "postgresql.auto.conf").read_text()
    version = (cluster.data_dir / "PG_VERSION").read_text()

    assert cluster.init() is False
    # The second call touched nothing: the settings were not appended twice.
    assert (cluster.data_dir / "postgresql.auto.conf").read_text() == auto_conf
    assert (cluster.data_dir / "PG_VERSION").read_text() == version
    assert cluster.pid() is None  # init does not start the server


@pytest.mark.db
def test_start_stop_pid_round_trip(stopped_cluster: pg.Cluster) -> None:
    cluster = stopped_cluster
    assert cluster.pid() is None
    assert cluster.stop() is False  # not running: nothing to stop

    assert cluster.start() is True
    pid = cluster.pid()
    assert pid is not None and pid > 0
    os.kill(pid, 0)  # the process exists
    assert cluster.start() is False  # already running
    assert cluster.pid() == pid
    assert _server_info(cluster)[1] == cluster.port

    assert cluster.stop() is True
    assert cluster.pid() is None
    assert pg.port_is_free(cluster.port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(**conninfo(cluster, "postgres"), connect_timeout=2)
    assert cluster.stop() is False

    # A restart on the existing data directory works and keeps the data.
    assert cluster.start() is True
    cluster.ensure_database("kept")
    assert cluster.stop() is True
    assert cluster.start() is True
    assert cluster.psql("postgres", "select 1 from pg_database where datname = 'kept'") == "1\n"
    cluster.ensure_database("kept")  # idempotent
    assert cluster.stop() is True
    assert cluster.pid() is None


@pytest.mark.db
def test_start_initialises_a_new_data_dir(embedded_cluster: pg.Cluster) -> None:
    """The session fixture only calls start(): it created the data directory too."""
    assert embedded_cluster.is_initialised()
    assert embedded_cluster.pid() is not None


@pytest.mark.db
def test_server_listens_on_loopback_tcp(embedded_cluster: pg.Cluster) -> None:
    host, port, _ = _server_info(embedded_cluster)
    assert (host, port) == ("127.0.0.1", embedded_cluster.port)
    with psycopg.connect(**conninfo(embedded_cluster)) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("select current_database()").fetchone() == ("webshop",)
    assert not pg.port_is_free(embedded_cluster.port)


@pytest.mark.db
def test_server_runs_with_the_warehouse_settings(embedded_cluster: pg.Cluster) -> None:
    """Passed at every start: no replication, so tables built in one transaction skip
    the WAL; memory for a build's sorts."""
    with psycopg.connect(**conninfo(embedded_cluster)) as conn:
        assert conn.execute("show wal_level").fetchone() == ("minimal",)
        assert conn.execute("show max_wal_senders").fetchone() == ("0",)
        assert conn.execute("show work_mem").fetchone() == ("256MB",)


@pytest.mark.db
def test_embedded_server_is_at_least_15(embedded_cluster: pg.Cluster) -> None:
    assert _server_info(embedded_cluster)[2] >= 150000


@pytest.mark.db
def test_pg15_cluster_runs_postgresql_15(pg15_cluster: pg.Cluster) -> None:
    host, port, version = _server_info(pg15_cluster)
    assert (host, port) == ("127.0.0.1", pg15_cluster.port)
    assert 150000 <= version < 160000
    assert pg15_cluster.psql("postgres", "select 1 from pg_database where datname = 'webshop'")


def test_init_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "mine"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("precious\n")
    cluster = pg.Cluster(pg.embedded_bin_dir(), data_dir, pg.free_port())
    with pytest.raises(pg.PgError, match="not a PostgreSQL data directory") as info:
        cluster.init()
    assert str(data_dir) in str(info.value)
    assert sorted(p.name for p in data_dir.iterdir()) == ["notes.txt"]
    assert (data_dir / "notes.txt").read_text() == "precious\n"
    with pytest.raises(pg.PgError, match="not a PostgreSQL data directory"):
        cluster.start()
    assert sorted(p.name for p in data_dir.iterdir()) == ["notes.txt"]


def test_missing_binaries_raise_pg_error(tmp_path: Path) -> None:
    cluster = pg.Cluster(tmp_path / "no-bin", tmp_path / "pgdata", pg.free_port())
    with pytest.raises(pg.PgError, match="initdb not found"):
        cluster.init()


def test_pid_and_stop_of_a_missing_data_dir(tmp_path: Path) -> None:
    cluster = pg.Cluster(pg.embedded_bin_dir(), tmp_path / "absent", pg.free_port())
    assert not cluster.is_initialised()
    assert cluster.pid() is None
    assert cluster.stop() is False
    assert not cluster.data_dir.exists()


@pytest.mark.db
def test_start_on_a_port_with_a_listener_raises(stopped_cluster: pg.Cluster) -> None:
    cluster = pg.Cluster(stopped_cluster.bin_dir, stopped_cluster.data_dir, pg.free_port())
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", cluster.port))
        other.listen()
        with pytest.raises(pg.PgError, match=rf"\bport {cluster.port}\b"):
            cluster.start()
        assert cluster.pid() is None


@pytest.mark.db
def test_start_on_a_bound_port_raises_naming_the_port(stopped_cluster: pg.Cluster) -> None:
    cluster = pg.Cluster(stopped_cluster.bin_dir, stopped_cluster.data_dir, pg.free_port())
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", cluster.port))
        with pytest.raises(pg.PgError) as info:
            cluster.start()
        assert cluster.pid() is None
    assert str(cluster.port) in str(info.value)
