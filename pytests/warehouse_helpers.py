"""Helpers for the end-to-end tests that run dbt against a throw-away PostgreSQL.

- ``dbt(env, target_path, *args)``: run dbt in the project; fail the test with dbt's output
  when it exits non-zero; return stdout.
- ``NO_ARTIFACTS``: dbt's ``--no-write-json``, for runs whose manifest.json and
  run_results.json nothing reads (writing them is about 2 s of CPU per run); partial
  parsing keeps its own file.
- ``assert_clean(output)``: no deprecation, no warning, WARN=0 in a dbt run's output.
- ``model_tables(conn, prefix)``: model name -> qualified relation for the dbt schemas
  ``<prefix>_*`` (tables and views).
- ``differing_rows(conn, left, right)``: rows in one relation and not the other (EXCEPT ALL
  both ways).
- ``contents(conn, tables)``: every relation's rows, sorted, for before/after comparisons.
- ``append_batch(conn, rows, extracted_at, raw="raw")``: append hand-made raw rows (tuples in
  contract column order, without ``_extracted_at``) as one batch stamped ``extracted_at``.
- ``CHROMIUM`` (the browser's path: $CHROMIUM, else found on PATH, or None),
  ``headless_chromium(profile, *args)`` and ``page_dom(url, profile)``: a page's DOM after
  its scripts ran, read by headless Chromium.
- ``customer_row(customer_id, email, created_at, updated_at)``: a raw customer row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from webshop import contract

from conftest import REPO_ROOT

DBT = str(Path(sys.executable).parent / "dbt")
NO_ARTIFACTS = "--no-write-json"
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


def dbt(env: dict[str, str], target_path: Path, *args: str) -> str:
    """Run dbt in the project; fail the test with dbt's output when it fails."""
    proc = subprocess.run(
        [DBT, *args, "--target-path", str(target_path), "--log-path", str(target_path / "logs")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}"
    return proc.stdout


def assert_clean(output: str) -> None:
    lowered = output.lower()
    assert "deprecat" not in lowered, output[-4000:]
    assert "[warning]" not in lowered, output[-4000:]
    assert " WARN=0 " in output, output[-2000:]


def model_tables(conn: psycopg.Connection[Any], prefix: str) -> dict[str, str]:
    """model name -> schema-qualified relation, for the dbt schemas starting with prefix."""
    rows = conn.execute(
        "select table_schema, table_name from information_schema.tables where table_schema like %s",
        (prefix + "\\_%",),
    ).fetchall()
    return {name: f"{schema}.{name}" for schema, name in rows}


def differing_rows(conn: psycopg.Connection[Any], left: str, right: str) -> int:
    query = "select count(*) from (select * from {} except all select * from {}) as d"
    total = 0
    for one, other in ((left, right), (right, left)):
        row = conn.execute(query.format(one, other)).fetchone()
        assert row is not None
        total += int(row[0])
    return total


def contents(conn: psycopg.Connection[Any], tables: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: sorted(map(str, conn.execute(f"select * from {relation}").fetchall()))
        for name, relation in tables.items()
    }


def append_batch(
    conn: psycopg.Connection[Any],
    rows: dict[str, list[tuple[Any, ...]]],
    extracted_at: datetime,
    raw: str = "raw",
) -> None:
    """Append hand-made rows to the raw tables as one batch (one transaction)."""
    with conn.transaction(), conn.cursor() as cur:
        for table, values in rows.items():
            columns = sql.SQL(", ").join(map(sql.Identifier, contract.columns(table)))
            statement = sql.SQL("copy {}.{} ({}) from stdin").format(
                sql.Identifier(raw), sql.Identifier(table), columns
            )
            with cur.copy(statement) as copy:
                for row in values:
                    copy.write_row((*row, extracted_at))


def customer_row(
    customer_id: int, email: str, created_at: datetime, updated_at: datetime
) -> tuple[Any, ...]:
    """A raw customer row (contract order, without _extracted_at): Ada Lovelace in Amsterdam."""
    return (
        customer_id,
        "Ada",
        "Lovelace",
        email,
        None,
        "Main 1",
        "1000 AA",
        "Amsterdam",
        "NL",
        created_at,
        updated_at,
        None,
    )


def headless_chromium(
    profile: Path, *args: str, budget_ms: int = 20_000, timeout: int = 120
) -> str:
    """Run headless Chromium (user data in `profile`) on `args` (the page's URL last),
    letting the page's scripts run for `budget_ms` of virtual time; fail the test when it
    fails; return its stdout (the DOM, with --dump-dom)."""
    proc = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def page_dom(url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran (headless Chromium, user data in `profile`)."""
    return headless_chromium(profile, "--dump-dom", url)
