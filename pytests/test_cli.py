"""The `webshop` command: options, its one-line error contract, and what it writes.

The command runs as a subprocess (the venv's `webshop` script, i.e. `webshop.cli:main`),
because the contract is about what a user sees: on any error, exactly one line
`webshop: error: ...` on stderr and a non-zero exit status.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from webshop import contract, copytext, nights, pg
from webshop.generator import Faults, GeneratorConfig, generate

from conftest import conninfo, fresh_database, pg_env

_SCRIPT = Path(sys.executable).with_name("webshop")
COMMAND = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [
        sys.executable,
        "-c",
        "import sys; sys.argv[0] = 'webshop'; from webshop.cli import main; main()",
    ]
)
TINY = ["--scale", "0.002", "--seed", "7", "--start-date", "2026-01-05"]
TINY_CONFIG = GeneratorConfig(seed=7, scale=0.002, start_date=date(2026, 1, 5))


def webshop(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single error line, after checking the contract."""
    assert proc.returncode != 0, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("webshop: error: "), lines[0]
    return lines[0]


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """No server: PGPORT is a closed port, the embedded data dir is a temporary path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WEBSHOP_"))}
    env.update(
        PGHOST="127.0.0.1",
        PGPORT=str(pg.free_port()),
        PGDATABASE="webshop",
        WEBSHOP_PGDATA=str(tmp_path / "pgdata"),
    )
    return env


@pytest.fixture
def db_env(embedded_cluster: pg.Cluster) -> dict[str, str]:
    """pg_env for a new, empty database on the embedded cluster."""
    return pg_env(embedded_cluster, fresh_database(embedded_cluster))


def _connect(env: dict[str, str]) -> psycopg.Connection[Any]:
    conn = psycopg.connect(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["PGUSER"],
        dbname=env["PGDATABASE"],
        passfile=env["PGPASSFILE"],
        autocommit=True,
    )
    conn.execute("set timezone to 'UTC'")
    return conn


def _state(env: dict[str, str]) -> tuple[Any, ...]:
    with _connect(env) as conn:
        log = conn.execute(
            "select day, delivery, extracted_at, rows, loaded_at from webshop_loader.batch"
            " order by day, delivery"
        ).fetchall()
        counts = {
            table: conn.execute(
                sql.SQL("select count(*) from raw.{}").format(sql.Identifier(table))
            ).fetchone()
            for table in contract.TABLES
        }
        config = conn.execute("select settings from webshop_loader.config").fetchall()
    return log, counts, config


def _days(env: dict[str, str]) -> list[tuple[int, int, date]]:
    with _connect(env) as conn:
        rows = conn.execute(
            "select day, delivery, extracted_at from webshop_loader.batch order by 1, 2"
        ).fetchall()
    return [(day, delivery, at.date()) for day, delivery, at in rows]


# -- parsing and the one-line error contract ---------------------------------------------


def test_help(offline_env: dict[str, str]) -> None:
    proc = webshop("--help", env=offline_env)
    assert proc.returncode == 0
    assert proc.stderr == ""
    for command in ("db", "deps", "load", "generate", "reset", "summary"):
        assert command in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["load", "--days", "1", "--bogus"],
        ["frobnicate"],
        ["generate", "--days", "1"],  # --out missing
    ],
)
def test_usage_errors_are_one_line(offline_env: dict[str, str], args: list[str]) -> None:
    proc = webshop(*args, env=offline_env)
    one_line_error(proc)
    assert proc.returncode == 2
    assert proc.stdout == ""


def test_bench_offers_the_engines(offline_env: dict[str, str]) -> None:
    proc = webshop("bench", "--help", env=offline_env)
    assert proc.returncode == 0, proc.stderr
    assert "--engine [postgres|spark]" in proc.stdout
    assert "--short" in proc.stdout


def test_bench_refuses_an_unknown_engine(offline_env: dict[str, str]) -> None:
    proc = webshop("bench", "--engine", "duckdb", env=offline_env)
    assert "--engine" in one_line_error(proc)
    assert proc.returncode == 2


@pytest.mark.parametrize(
    ("command", "days"),
    [
        ("load", ["--days", "-1"]),
        ("load", ["--days", "0"]),
        ("load", ["--days", "two"]),
        ("load", []),
        ("generate", ["--days", "0"]),
    ],
)
def test_bad_days_are_one_line(
    offline_env: dict[str, str], tmp_path: Path, command: str, days: list[str]
) -> None:
    out = ["--out", str(tmp_path / "out")] if command == "generate" else []
    line = one_line_error(webshop(command, *days, *out, env=offline_env))
    assert "--days" in line
    assert "cannot connect" not in line  # refused before going near a database
    assert not (tmp_path / "out").exists()


def test_unreachable_database_is_one_line_and_quick(offline_env: dict[str, str]) -> None:
    started = time.monotonic()
    proc = webshop("load", "--days", "1", env=offline_env, timeout=30)
    elapsed = time.monotonic() - started
    line = one_line_error(proc)
    assert "cannot connect" in line
    assert f"127.0.0.1:{offline_env['PGPORT']}" in line
    assert elapsed < 10


@pytest.mark.parametrize(
    ("command", "fault", "expected"),
    [
        ("load", "nonsense=0.1", "nonsense"),
        ("generate", "nonsense=0.1", "nonsense"),
        ("load", "duplicate_batch=2", "--fault"),
        ("generate", "duplicate_batch=lots", "--fault"),
        ("generate", "duplicate_batch", "--fault"),
    ],
)
def test_bad_faults_are_one_line(
    offline_env: dict[str, str], tmp_path: Path, command: str, fault: str, expected: str
) -> None:
    out = ["--out", str(tmp_path / "out")] if command == "generate" else []
    line = one_line_error(webshop(command, "--days", "1", "--fault", fault, *out, env=offline_env))
    assert expected in line
    assert "cannot connect" not in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scale", ["0", "big"])
def test_bad_scale_is_one_line(offline_env: dict[str, str], scale: str) -> None:
    assert "--scale" in one_line_error(
        webshop("load", "--days", "1", "--scale", scale, env=offline_env)
    )


# -- db url and the embedded server --------------------------------------------------------


@pytest.mark.parametrize("host", [None, "localhost"])
def test_db_url(offline_env: dict[str, str], host: str | None) -> None:
    env = {**offline_env, "PGPORT": "12345", "PGDATABASE": "shopdb"}
    if host is None:
        del env["PGHOST"]
    else:
        env["PGHOST"] = host
    proc = webshop("db", "url", env=env)
    assert proc.returncode == 0, proc.stderr
    # BI tools get the analyst, never the superuser; the password is in the passfile.
    # PGHOST=localhost without an embedded data directory is a server of your own.
    assert proc.stdout == f"postgresql://webshop_analyst@{host or '127.0.0.1'}:12345/shopdb\n"
    assert proc.stderr == ""


@pytest.mark.parametrize(
    ("role", "user"),
    [
        ("analyst", "webshop_analyst"),
        ("marketing", "webshop_marketing"),
        ("transformer", "webshop_transformer"),
        ("loader", "webshop_loader"),
    ],
)
def test_db_url_of_each_role(offline_env: dict[str, str], role: str, user: str) -> None:
    proc = webshop("db", "url", "--role", role, env=offline_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"postgresql://{user}@127.0.0.1:{offline_env['PGPORT']}/webshop\n"


def test_db_url_refuses_other_roles(offline_env: dict[str, str]) -> None:
    line = one_line_error(webshop("db", "url", "--role", "postgres", env=offline_env))
    assert "--role" in line


def test_db_url_defaults(offline_env: dict[str, str]) -> None:
    env = {k: v for k, v in offline_env.items() if not k.startswith("PG")}
    proc = webshop("db", "url", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "postgresql://webshop_analyst@127.0.0.1:54329/webshop\n"


def test_db_url_refuses_a_bad_port(offline_env: dict[str, str]) -> None:
    line = one_line_error(webshop("db", "url", env={**offline_env, "PGPORT": "abc"}))
    assert "PGPORT" in line
    line = one_line_error(webshop("db", "status", env={**offline_env, "PGHOST": "db.example"}))
    assert "PGHOST" in line


@pytest.mark.db
def test_db_start_status_stop(offline_env: dict[str, str], tmp_path: Path) -> None:
    env = {**offline_env, "PGDATABASE": "shopdb", "PGPASSFILE": str(tmp_path / "pgpass")}
    port = int(env["PGPORT"])
    cluster = pg.Cluster(pg.embedded_bin_dir(), tmp_path / "pgdata", port)
    try:
        status = webshop("db", "status", env=env)
        assert status.returncode == 3
        assert "stopped" in status.stdout

        start = webshop("db", "start", env=env)
        assert start.returncode == 0, start.stderr
        assert "created and started" in start.stdout
        assert f"postgresql://webshop_analyst@127.0.0.1:{port}/shopdb" in start.stdout
        assert cluster.passfile == tmp_path / "pgpass"
        assert cluster.is_initialised()

        status = webshop("db", "status", env=env)
        assert status.returncode == 0
        assert f"running (pid {cluster.pid()})" in status.stdout
        assert f"port {port}" in status.stdout
        with _connect({**env, "PGUSER": "postgres"}) as conn:
            assert conn.execute("select current_database()").fetchone() == ("shopdb",)

        again = webshop("db", "start", env=env)
        assert again.returncode == 0
        assert "already running" in again.stdout

        stop = webshop("db", "stop", env=env)
        assert stop.returncode == 0
        assert stop.stdout == "embedded PostgreSQL stopped\n"
        assert cluster.pid() is None
        status = webshop("db", "status", env=env)
        assert status.returncode == 3
        assert "stopped" in status.stdout
    finally:
        cluster.destroy()


def test_db_start_on_a_foreign_directory_is_one_line(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = Path(offline_env["WEBSHOP_PGDATA"])
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")
    line = one_line_error(webshop("db", "start", env=offline_env))
    assert "not a PostgreSQL data directory" in line
    assert [p.name for p in data_dir.iterdir()] == ["notes.txt"]


# -- generate ------------------------------------------------------------------------------


def _generated_files(out: Path) -> dict[str, dict[str, list[str]]]:
    """folder -> table -> lines"""
    return {
        folder.name: {
            f.name: f.read_text(encoding="utf-8").splitlines(keepends=True)
            for f in folder.iterdir()
        }
        for folder in out.iterdir()
    }


TWICE = dataclasses.replace(TINY_CONFIG, faults=dataclasses.replace(Faults(), duplicate_batch=1))


def test_generate_writes_one_file_per_table_and_delivery(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = webshop(
        "generate", "--days", "2", "--out", str(out), *TINY, "--fault", "duplicate_batch=1",
        env=offline_env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    files = _generated_files(out)

    batches = list(generate(TWICE, 0, 2))
    folders = ["day_0000_1", "day_0000_2", "day_0001_1", "day_0001_2"]
    assert sorted(files) == folders
    for folder, batch in zip(folders, batches, strict=True):
        assert int(folder[4:8]) == batch.day
        assert set(files[folder]) == {f"{table}.tsv" for table in contract.TABLES}
        for table in contract.TABLES:
            lines = files[folder][f"{table}.tsv"]
            assert len(lines) == len(batch.rows[table]), (folder, table)
            stamp = copytext.format_value(batch.extracted_at)
            for line in lines:
                fields = line.rstrip("\n").split("\t")
                assert len(fields) == len(contract.TABLES[table])
                assert fields[-1] == stamp
    assert sum(len(lines) for f in files.values() for lines in f.values()) > 0
    assert files["day_0000_1"] == files["day_0000_2"]


def test_generate_first_day_matches_a_longer_run(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    whole, tail = tmp_path / "whole", tmp_path / "tail"
    assert (
        webshop("generate", "--days", "3", "--out", str(whole), *TINY, env=offline_env).returncode
        == 0
    )
    proc = webshop(
        "generate", "--days", "1", "--first-day", "2", "--out", str(tail), *TINY, env=offline_env
    )
    assert proc.returncode == 0, proc.stderr
    tail_files = _generated_files(tail)
    assert sorted(tail_files) == sorted(
        f for f in _generated_files(whole) if f.startswith("day_0002")
    )
    for folder, tables in tail_files.items():
        assert tables == _generated_files(whole)[folder]


@pytest.mark.db
def test_generated_files_are_copy_text_of_the_generated_rows(
    offline_env: dict[str, str], tmp_path: Path, embedded_cluster: pg.Cluster
) -> None:
    out = tmp_path / "out"
    assert (
        webshop("generate", "--days", "2", "--out", str(out), *TINY, env=offline_env).returncode
        == 0
    )
    batches = list(generate(TINY_CONFIG, 0, 2))
    database = fresh_database(embedded_cluster)
    with psycopg.connect(**conninfo(embedded_cluster, database)) as conn:
        conn.execute("set timezone to 'UTC'")
        conn.execute("create schema files")
        for table in contract.TABLES:
            conn.execute(contract.create_table_sql("files", table))  # type: ignore[arg-type]
        for folder in sorted(out.iterdir()):
            for table in contract.TABLES:
                with conn.cursor().copy(
                    sql.SQL("copy files.{} from stdin").format(sql.Identifier(table))
                ) as copy:
                    copy.write((folder / f"{table}.tsv").read_bytes())
        for table in contract.TABLES:
            loaded = Counter(
                conn.execute(sql.SQL("select * from files.{}").format(sql.Identifier(table)))
            )
            expected = Counter(
                (*row, batch.extracted_at) for batch in batches for row in batch.rows[table]
            )
            assert loaded == expected, table


def test_generate_into_an_impossible_directory_is_one_line(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = webshop("generate", "--days", "1", "--out", str(blocker / "sub"), *TINY, env=offline_env)
    one_line_error(proc)


def test_generate_onto_a_file_is_one_line(offline_env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep")
    line = one_line_error(
        webshop("generate", "--days", "1", "--out", str(blocker), env=offline_env)
    )
    assert "--out" in line
    assert blocker.read_text() == "keep"


# -- load ----------------------------------------------------------------------------------


@pytest.mark.db
def test_load_only_if_empty_does_nothing_the_second_time(db_env: dict[str, str]) -> None:
    first = webshop("load", "--days", "2", *TINY, "--only-if-empty", env=db_env)
    assert first.returncode == 0, first.stderr
    assert "loaded 2 days" in first.stdout
    assert [(d, n) for d, n, _ in _days(db_env)] == [(0, 1), (1, 1)]
    before = _state(db_env)

    second = webshop("load", "--days", "3", "--only-if-empty", env=db_env)
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    assert second.stderr == ""
    assert _state(db_env) == before


@pytest.mark.db
def test_load_continues_with_the_stored_settings(db_env: dict[str, str]) -> None:
    assert webshop("load", "--days", "2", *TINY, env=db_env).returncode == 0
    # No --start-date: the implicit "today minus DAYS" must not clash with the stored one.
    more = webshop("load", "--days", "1", env=db_env)
    assert more.returncode == 0, more.stderr
    assert "loading days 2..2" in more.stdout
    assert _days(db_env) == [
        (0, 1, date(2026, 1, 6)),
        (1, 1, date(2026, 1, 7)),
        (2, 1, date(2026, 1, 8)),
    ]
    # Same explicit settings as stored: fine.
    same = webshop("load", "--days", "1", *TINY, env=db_env)
    assert same.returncode == 0, same.stderr
    assert [d for d, _, _ in _days(db_env)] == [0, 1, 2, 3]


@pytest.mark.db
@pytest.mark.parametrize(
    ("option", "name"),
    [
        (["--seed", "8"], "seed"),
        (["--scale", "0.003"], "scale"),
        (["--start-date", "2026-02-01"], "start_date"),
        (["--no-faults"], "faults"),
    ],
)
def test_load_with_other_settings_than_stored_is_refused(
    db_env: dict[str, str], option: list[str], name: str
) -> None:
    assert webshop("load", "--days", "1", *TINY, env=db_env).returncode == 0
    before = _state(db_env)
    line = one_line_error(webshop("load", "--days", "1", *option, env=db_env))
    assert name in line
    assert _state(db_env) == before


@pytest.mark.db
def test_load_without_start_date_ends_today(db_env: dict[str, str]) -> None:
    # today's batch date once its batch has landed (just after midnight, yesterday's)
    before = nights.due_date(datetime.now(timezone.utc))
    proc = webshop("load", "--days", "2", "--scale", "0.002", env=db_env)
    after = nights.due_date(datetime.now(timezone.utc))
    assert proc.returncode == 0, proc.stderr
    days = _days(db_env)
    assert [d for d, _, _ in days] == [0, 1]
    newest = days[-1][2]
    assert newest in (before, after)
    assert days[0][2] == newest - timedelta(days=1)


@pytest.mark.db
def test_load_into_a_foreign_raw_schema_is_one_line(db_env: dict[str, str]) -> None:
    with _connect(db_env) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.orders (id int)")
    line = one_line_error(webshop("load", "--days", "1", *TINY, env=db_env))
    assert "did not create" in line
    with _connect(db_env) as conn:
        assert conn.execute("select to_regnamespace('webshop_loader')").fetchone() == (None,)
        assert conn.execute("select count(*) from raw.orders").fetchone() == (0,)


@pytest.mark.db
def test_load_without_an_administrator_to_prepare_raw_is_one_line(
    db_env: dict[str, str], embedded_cluster: pg.Cluster
) -> None:
    """The loader may only append: on a database without raw tables, an administrator
    (PGUSER) must create them; one who cannot log in leaves one line and no raw schema."""
    role = f"reader_{db_env['PGDATABASE'][-8:]}"
    with _connect(db_env) as conn:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    proc = webshop("load", "--days", "1", *TINY, env={**db_env, "PGUSER": role})
    line = one_line_error(proc)
    assert "raw tables (schema raw) are not prepared" in line
    assert f"refused role {role}" in line
    with _connect(db_env) as conn:
        assert conn.execute("select to_regnamespace('raw')").fetchone() == (None,)


# -- summary and reset ---------------------------------------------------------------------


@pytest.mark.db
def test_summary_reports_the_loaded_rows(db_env: dict[str, str]) -> None:
    line = one_line_error(webshop("summary", env=db_env))
    assert "nothing loaded" in line
    assert webshop("load", "--days", "2", *TINY, env=db_env).returncode == 0
    proc = webshop("summary", env=db_env)
    assert proc.returncode == 0, proc.stderr
    _, counts, _ = _state(db_env)
    assert "loaded: 2 days (2 deliveries), batches 2026-01-06 .. 2026-01-07" in proc.stdout
    for table, (n,) in counts.items():
        assert f"raw.{table:<12} {n:>10,} rows" in proc.stdout


@pytest.mark.db
def test_reset(db_env: dict[str, str]) -> None:
    assert webshop("load", "--days", "1", *TINY, env=db_env).returncode == 0
    before = _state(db_env)
    declined = webshop("reset", env=db_env)  # stdin is empty: the question is not answered
    assert declined.returncode != 0
    assert declined.stderr == "webshop: aborted\n"
    assert _state(db_env) == before

    proc = webshop("reset", "--yes", env=db_env)
    assert proc.returncode == 0, proc.stderr
    with _connect(db_env) as conn:
        assert conn.execute(
            "select count(*) from pg_namespace where nspname in ('raw', 'webshop_loader')"
        ).fetchone() == (0,)
    nothing = webshop("reset", "--yes", env=db_env)
    assert nothing.returncode == 0
    assert "nothing to reset" in nothing.stdout


def test_every_fault_name_is_accepted(offline_env: dict[str, str], tmp_path: Path) -> None:
    args: list[str] = []
    for field in dataclasses.fields(Faults):
        args += ["--fault", f"{field.name}=0"]
    proc = webshop(
        "generate", "--days", "1", "--out", str(tmp_path / "o"), *TINY, *args, env=offline_env
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "day_0000_1").is_dir()
