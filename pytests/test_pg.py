"""webshop.pg: a PostgreSQL data directory run by a set of server binaries on 127.0.0.1."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import tempfile
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


# -- passwords only, and root in places its OS user cannot reach -----------------------------


def test_hba_conf_asks_for_a_password_everywhere() -> None:
    local = pg.hba_conf(["127.0.0.1"])
    rules = [line.split() for line in local.splitlines() if not line.startswith("#")]
    assert [rule[-1] for rule in rules] == ["scram-sha-256"] * 3
    assert not any("trust" in rule or "replication" in rule for rule in rules)
    assert not any(rule[0] == "host" and rule[3] == "all" for rule in rules)  # loopback only
    wide = pg.hba_conf(["0.0.0.0"])
    rules = [line.split() for line in wide.splitlines() if not line.startswith("#")]
    # from elsewhere: the superuser never, the others with a password
    assert rules[-2:] == [
        ["host", "all", pg.SUPERUSER, "all", "reject"],
        ["host", "all", "all", "all", "scram-sha-256"],
    ]


@pytest.mark.parametrize("value", ["127.0.0.1", "0.0.0.0", "*", "localhost", "127.0.0.1,::1"])
def test_listen_addresses_accepts_addresses(value: str) -> None:
    assert pg.listen_addresses(value) == value.split(",")


@pytest.mark.parametrize("value", ["0.0.0.0 -c ssl=off", "host.example", "1.2.3.4;id", ""])
def test_listen_addresses_refuses_anything_else(value: str) -> None:
    with pytest.raises(pg.PgError, match="--listen"):
        pg.listen_addresses(value)


def test_passfile_round_trip(tmp_path: Path) -> None:
    passfile = tmp_path / "sub" / "pgpass"
    pg.write_passfile(passfile, {"postgres": "a", "webshop_analyst": "b-c_d"}, 5433)
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert pg.read_passfile(passfile) == {"postgres": "a", "webshop_analyst": "b-c_d"}
    assert "127.0.0.1:5433:*:webshop_analyst:b-c_d" in passfile.read_text().splitlines()
    assert pg.read_passfile(tmp_path / "absent") == {}


def test_scram_verifier_has_postgresql_format() -> None:
    verifier = pg.scram_verifier("secret")
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    assert "secret" not in verifier
    assert pg.scram_verifier("secret") != verifier  # salted


@pytest.mark.db
def test_a_new_cluster_asks_for_passwords(embedded_cluster: pg.Cluster) -> None:
    hba = (embedded_cluster.data_dir / "pg_hba.conf").read_text()
    assert "trust" not in hba
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host="127.0.0.1",
            port=embedded_cluster.port,
            user=pg.SUPERUSER,
            password="",
            passfile=os.devnull,
            dbname="postgres",
        )
    assert pg.SUPERUSER in embedded_cluster.passwords()
    assert stat.S_IMODE(embedded_cluster.passfile.stat().st_mode) == 0o600


@pytest.mark.db
@pytest.mark.skipif(os.geteuid() != 0, reason="root runs the server as another OS user")
def test_an_existing_data_dir_out_of_reach_is_one_clear_error(tmp_path: Path) -> None:
    """As root, the server's OS user must reach the data directory; where it cannot (a
    parent closed since), start says so, and changes no permission."""
    holder = Path(tempfile.mkdtemp(prefix="webshop-holder-", dir="/var/tmp"))
    holder.chmod(0o755)
    cluster = pg.Cluster(pg.embedded_bin_dir(), holder / "pgdata", pg.free_port())
    try:
        cluster.init()
        assert not cluster.data_dir.is_symlink()  # reachable: the data stays where asked
        holder.chmod(0o700)
        with pytest.raises(pg.PgError, match=f"cannot reach .*{holder}") as info:
            cluster.start()
        assert "\n" not in str(info.value)
        assert stat.S_IMODE(holder.stat().st_mode) == 0o700
    finally:
        holder.chmod(0o755)
        cluster.destroy()
        shutil.rmtree(holder, ignore_errors=True)


@pytest.mark.db
@pytest.mark.skipif(os.geteuid() != 0, reason="root runs the server as another OS user")
def test_root_keeps_data_its_os_user_cannot_reach_under_the_shared_home(tmp_path: Path) -> None:
    """pytest's tmp_path is inside a mode-0700 directory: the data goes to SHARED_HOME, the
    requested path becomes a symlink, and no parent changes mode."""
    parents = {p: p.stat().st_mode for p in tmp_path.parents}
    cluster = pg.Cluster(pg.embedded_bin_dir(), tmp_path / "pgdata", pg.free_port())
    try:
        cluster.init()
        assert cluster.data_dir.is_symlink()
        real = cluster.data_dir.resolve()
        assert real.parent.parent == pg.SHARED_HOME
        assert real.stat().st_uid == pwd.getpwnam(pg.OS_USER).pw_uid
        assert {p: p.stat().st_mode for p in tmp_path.parents} == parents
    finally:
        cluster.destroy()
    assert not real.parent.exists()
