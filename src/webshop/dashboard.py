"""Build the Evidence dashboards (`dashboards/`) from the current marts and serve them.

`make dashboard` runs `python -m webshop.dashboard`: it installs the locked npm packages
(`npm ci`, only when `package-lock.json` or the patches changed), points Evidence's
PostgreSQL source at the warehouse, runs `npm run sources` (the marts into Parquet files)
and `npm run build` (the static site in `dashboards/build`), then serves that directory on
127.0.0.1.

The source connects as the read-only analyst role: the credentials come from
`webshop db credentials analyst` when that command works, else from the libpq variables
(PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD). They reach Evidence as environment
variables (`EVIDENCE_SOURCE__warehouse__<option>`) and are never written to a file.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from webshop import pg, settings

SOURCE = "warehouse"  # dashboards/sources/warehouse
DEFAULT_PORT = 3001
PAGES = {
    "": "Webshop dashboards",
    "shipping-time": "Shipping time",
    "last-session-carts": "Last-session carts",
    "discount": "Discount",
    "product-funnel": "Product funnel",
    "signup-cohorts": "Sign-up cohorts",
    "engagement": "Engagement",
    "inventory-and-prices": "Inventory and prices",
}
MARKER = ".installed-lock"  # in node_modules: the hash of what `npm ci` installed
CREDENTIAL_KEYS = {
    "host": "host",
    "port": "port",
    "database": "database",
    "dbname": "database",
    "user": "user",
    "username": "user",
    "password": "password",
}
PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class DashboardError(RuntimeError):
    """The dashboards could not be built or served; the message says why."""


def project_dir() -> Path:
    return settings.PROJECT_DIR / "dashboards"


# -- where the data comes from -----------------------------------------------------------


def parse_credentials(text: str) -> dict[str, str]:
    """host, port, database, user and password from `webshop db credentials` output:
    `key: value` or `key=value` lines, or a postgresql:// URL."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("postgresql://", "postgres://")):
            url = urlsplit(line)
            pairs = {
                "host": url.hostname,
                "port": str(url.port) if url.port else None,
                "database": url.path.lstrip("/") or None,
                "user": unquote(url.username) if url.username else None,
                "password": unquote(url.password) if url.password else None,
            }
            found.update({k: v for k, v in pairs.items() if v and k not in found})
            continue
        key, sep, value = line.partition(":") if ":" in line else line.partition("=")
        key = key.strip().lower()
        if sep and key in CREDENTIAL_KEYS:
            found.setdefault(CREDENTIAL_KEYS[key], value.strip())
    return found


def analyst_credentials(env: Mapping[str, str]) -> tuple[dict[str, str] | None, str]:
    """The analyst role's connection from `webshop db credentials analyst`, or None and
    the reason it is not available."""
    search = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    webshop = shutil.which("webshop", path=search)
    if webshop is None:
        return None, "the webshop command is not on the path"
    proc = subprocess.run(
        [webshop, "db", "credentials", "analyst"],
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        return None, reason.removeprefix("webshop: error: ")
    found = parse_credentials(proc.stdout)
    missing = {"host", "port", "database", "user"} - found.keys()
    if missing:
        return None, f"its output names no {', '.join(sorted(missing))}"
    return found, "webshop db credentials analyst"


def source_environment(env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """EVIDENCE_SOURCE__warehouse__* for the analyst role (else the PG* variables), and a
    line saying who connects to what."""
    credentials, origin = analyst_credentials(env)
    if credentials is None:
        # The defaults are the embedded warehouse's, as in profiles.yml.
        conn = {
            "host": env.get("PGHOST", "127.0.0.1"),
            "port": env.get("PGPORT", str(pg.DEFAULT_PORT)),
            "database": env.get("PGDATABASE", "webshop"),
            "user": env.get("PGUSER", pg.SUPERUSER),
            "password": env.get("PGPASSWORD", ""),
        }
        origin = f"PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD; no analyst role: {origin}"
    else:
        conn = {"password": "", **credentials}
    schema = f"{env.get('DBT_SCHEMA', 'analytics')}_marts"
    if not PLAIN_NAME.fullmatch(schema):
        raise DashboardError(f"DBT_SCHEMA must be a plain lower-case name, not {schema[:-6]!r}")
    prefix = f"EVIDENCE_SOURCE__{SOURCE}__"
    variables = {prefix + key: value for key, value in conn.items()}
    variables[prefix + "schema"] = schema
    said = (
        f"dashboards read {schema} on {conn['host']}:{conn['port']}/{conn['database']} "
        f"as {conn['user']} (from {origin})"
    )
    return variables, said


# -- building ----------------------------------------------------------------------------


def _lock_hash(project: Path) -> str:
    digest = hashlib.sha256((project / "package-lock.json").read_bytes())
    for patch in sorted((project / "patches").glob("*.patch")):
        digest.update(patch.read_bytes())
    return digest.hexdigest()


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise DashboardError("npm not found: install Node.js 18 or newer (with npm)")
    return npm


def _npm_run(
    args: list[str], cwd: Path, env: Mapping[str, str], echo: Callable[[str], None]
) -> None:
    echo(f"$ npm {' '.join(args)}")
    proc = subprocess.run([_npm(), *args], cwd=cwd, env=dict(env), check=False)
    if proc.returncode != 0:
        raise DashboardError(f"`npm {' '.join(args)}` failed (exit code {proc.returncode})")


def install(project: Path, echo: Callable[[str], None] = print) -> bool:
    """`npm ci` unless node_modules holds what package-lock.json and the patches ask for;
    return whether it ran."""
    marker = project / "node_modules" / MARKER
    wanted = _lock_hash(project)
    if marker.exists() and marker.read_text() == wanted:
        return False
    _npm_run(["ci"], project, os.environ, echo)
    marker.write_text(wanted)
    return True


def build_environment(env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The environment of `npm run sources` and `npm run build`."""
    variables, said = source_environment(env)
    return {
        **env,
        **variables,
        # node-postgres turns a date into a local midnight: keep that midnight UTC.
        "TZ": "UTC",
        # Evidence's telemetry: off (evidence.settings.json says so too).
        "SEND_ANONYMOUS_USAGE_STATS": "no",
    }, said


def build(project: Path, env: Mapping[str, str], echo: Callable[[str], None] = print) -> Path:
    """Read the marts and build the static site; return its directory."""
    install(project, echo)
    build_env, said = build_environment(env)
    echo(said)
    _npm_run(["run", "sources"], project, build_env, echo)
    _npm_run(["run", "build"], project, build_env, echo)
    return project / "build"


# -- serving -----------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that goes away mid-download is no error of ours.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def server(site: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for the built site (call serve_forever on it)."""
    if not (site / "index.html").exists():
        raise DashboardError(f"{site} holds no built site: run `make dashboard`")
    handler = functools.partial(_QuietHandler, directory=str(site))
    try:
        return _Server((host, port), handler)
    except OSError as exc:
        raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m webshop.dashboard",
        description="Build the dashboards from the current marts and serve them.",
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("DASHBOARD_PORT", DEFAULT_PORT))
    )
    parser.add_argument("--no-build", action="store_true", help="Serve the last build.")
    parser.add_argument("--no-serve", action="store_true", help="Only build.")
    args = parser.parse_args(argv)
    project = project_dir()
    try:
        if not args.no_serve and not pg.port_is_free(args.port):
            raise DashboardError(
                f"port {args.port} is in use: set DASHBOARD_PORT (make) or --port to another"
            )
        site = project / "build" if args.no_build else build(project, os.environ)
        if args.no_serve:
            print(f"built {site}")
            return
        httpd = server(site, args.port)
    except (DashboardError, OSError) as exc:
        print(f"webshop: error: {exc}", file=sys.stderr)
        sys.exit(1)
    url = f"http://127.0.0.1:{args.port}"
    print(f"\ndashboards at {url}/ (Ctrl-C stops)", flush=True)
    for page, title in PAGES.items():
        if page:
            print(f"  {title:<22} {url}/{page}/", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
