"""Recovery: every mistake a person (or a nightly job) makes ends in one line saying what
to do, or in the right outcome.

- dbt before any load, and after raw was reset or restored from an older copy: one line
  from the on-run-start guard (macros/guards.sql); a copy restored as it was passes.
- `kill -9` of `dbt build` in the middle of an incremental model (its rows written, its
  ledger entry not yet), twice, then `dbt run`: every model and the ledger equal those of
  an uninterrupted run, EXCEPT ALL both ways.
- `kill -9` and Ctrl-C of `webshop load` in the middle of a night (its COPY blocked by a
  lock the test holds): whole nights only, Ctrl-C prints one line and leaves no process,
  and the rerun ends with exactly the raw rows and batch log of an uninterrupted load.
- `webshop load --until` (idempotent), nights in the future, the warehouse calendar,
  `--help` defaults; `webshop db status/url/start/destroy` on the server that really
  runs, from a subfolder, with your own server; `make clean`, `make help`,
  `make load-day`.

The tests use tiny data (scale 0.002) and a few nights; each database is throw-away.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
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

from webshop import contract, nights, pg, roles
from webshop.generator import HISTORY_DAYS, LATEST_EXTRACTION, GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from warehouse_helpers import DBT, NO_ARTIFACTS, model_tables

WEBSHOP = str(Path(sys.executable).with_name("webshop"))
TINY = ["--scale", "0.002", "--seed", "7"]
START = date(2026, 1, 5)
CALENDAR = (date(2000, 1, 1), date(2099, 12, 31))
NOW = datetime(2026, 11, 28, 22, 0, tzinfo=timezone.utc)


def webshop(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEBSHOP, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("webshop: error: "), lines[0]
    return lines[0]


def run_dbt(env: dict[str, str], target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dbt in the project (these tests read its output, never its artifacts)."""
    return subprocess.run(
        [
            *(DBT, *args, NO_ARTIFACTS),
            *("--target-path", str(target), "--log-path", str(target / "logs")),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def guard_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line of a run the on-run-start guard stopped: nothing was built."""
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "check_raw (macros/guards.sql)" in proc.stdout, proc.stdout[-3000:]
    assert "does not exist" not in proc.stdout
    assert " SKIP=" not in proc.stdout  # stopped before any model
    lines = proc.stdout.splitlines()
    return lines[lines.index(next(x for x in lines if "Compilation Error" in x)) + 1].strip()


def connect(cluster: pg.Cluster, database: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(**conninfo(cluster, database), autocommit=True)  # type: ignore[arg-type]
    conn.execute("set timezone to 'UTC'")
    return conn


# -- planning the nights (pure) --------------------------------------------------------------


def test_days_on_an_empty_database_end_with_the_newest_night_due() -> None:
    plan = nights.plan(
        stored_start=None, loaded=0, start=None, days=14, until=None,
        now=NOW, future=False, calendar=CALENDAR,
    )  # fmt: skip
    # 14 nights whose last batch lands on 2026-11-28 (at 22:00 it has landed)
    assert (plan.start, plan.first, plan.count) == (date(2026, 11, 14), 0, 14)
    assert plan.batch_date(13) == date(2026, 11, 28)
    # Before the latest extraction moment, today's batch may not have landed yet.
    early = datetime(2026, 11, 28, tzinfo=timezone.utc) + LATEST_EXTRACTION / 2
    plan = nights.plan(
        stored_start=None, loaded=0, start=None, days=14, until=None,
        now=early, future=False, calendar=CALENDAR,
    )  # fmt: skip
    assert plan.batch_date(13) == date(2026, 11, 27)


def test_until_loads_the_missing_nights_and_then_nothing() -> None:
    def plan(loaded: int, until: date, days: int | None = None) -> nights.Plan:
        return nights.plan(
            stored_start=START, loaded=loaded, start=None, days=days, until=until,
            now=NOW, future=False, calendar=CALENDAR,
        )  # fmt: skip

    # day d lands on START + d + 1: up to 2026-01-12 are days 0..6
    assert (plan(0, date(2026, 1, 12)).first, plan(0, date(2026, 1, 12)).count) == (0, 7)
    assert (plan(4, date(2026, 1, 12)).first, plan(4, date(2026, 1, 12)).count) == (4, 3)
    assert plan(7, date(2026, 1, 12)).count == 0
    assert plan(9, date(2026, 1, 12)).count == 0  # loaded beyond DATE: nothing, no error
    assert plan(4, date(2026, 1, 12), days=2).count == 2  # --days caps it
    # never a night whose batch lands after now: 2026-11-28 is day 326
    future = plan(300, date(2027, 3, 1))
    assert future.count == 27
    assert "not due yet" in future.note and "--future" in future.note


def test_days_into_the_future_are_refused_unless_asked() -> None:
    loaded = (NOW.date() - START).days  # every night up to today's batch
    with pytest.raises(nights.PlanError, match=r"land after now.*--until today.*--future"):
        nights.plan(
            stored_start=START, loaded=loaded, start=None, days=1, until=None,
            now=NOW, future=False, calendar=CALENDAR,
        )  # fmt: skip
    plan = nights.plan(
        stored_start=START, loaded=loaded, start=None, days=2, until=None,
        now=NOW, future=True, calendar=CALENDAR,
    )  # fmt: skip
    assert (plan.first, plan.count, plan.batch_date(plan.first)) == (loaded, 2, date(2026, 11, 29))


@pytest.mark.parametrize("days", [100000, 10**9])
def test_days_are_bounded_by_the_calendar(days: int) -> None:
    most = (NOW.date() - CALENDAR[0]).days - HISTORY_DAYS
    with pytest.raises(nights.PlanError, match=rf"calendar_start.*at most {most} nights"):
        nights.plan(
            stored_start=None, loaded=0, start=None, days=days, until=None,
            now=NOW, future=False, calendar=CALENDAR,
        )  # fmt: skip
    plan = nights.plan(
        stored_start=None, loaded=0, start=None, days=most, until=None,
        now=NOW, future=False, calendar=CALENDAR,
    )  # fmt: skip
    assert plan.start - timedelta(days=HISTORY_DAYS) == CALENDAR[0]
    with pytest.raises(nights.PlanError, match="calendar_end"):
        nights.plan(
            stored_start=START, loaded=0, start=None, days=days, until=None,
            now=NOW, future=True, calendar=CALENDAR,
        )  # fmt: skip


def test_a_start_before_the_calendar_is_refused() -> None:
    with pytest.raises(nights.PlanError, match="start on 2002-12-31 or later"):
        nights.plan(
            stored_start=None, loaded=0, start=date(2001, 6, 1), days=3, until=None,
            now=NOW, future=False, calendar=CALENDAR,
        )  # fmt: skip


# -- dbt before any load, after a reset, after a restore ----------------------------------------


@pytest.fixture(scope="module")
def guarded(embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Any:
    database = fresh_database(embedded_cluster)
    return database, pg_env(embedded_cluster, database), tmp_path_factory.mktemp("guarded")


@pytest.mark.db
@pytest.mark.slow
def test_dbt_before_any_load_says_load_first(embedded_cluster: pg.Cluster, guarded: Any) -> None:
    database, env, target = guarded
    line = guard_line(run_dbt(env, target, "run"))
    assert line == (
        f"nothing loaded yet: database {database} has no raw tables (schema raw); load first "
        "(`webshop load --days N`, or your EL job), then run dbt again"
    )
    # Raw tables that a DBA prepared, still empty: the same advice.
    with connect(embedded_cluster, database) as conn:
        roles.prepare_raw(conn, "raw")
    line = guard_line(run_dbt(env, target, "run", "--select", "base_webshop__batches"))
    assert line.startswith("nothing loaded yet: the raw tables in schema raw")
    assert "webshop load --days N" in line


@pytest.mark.db
@pytest.mark.slow
def test_a_reset_or_an_older_raw_is_stopped_before_the_build(
    embedded_cluster: pg.Cluster, guarded: Any
) -> None:
    database, env, target = guarded
    ok(webshop("load", "--days", "3", *TINY, "--start-date", "2026-03-02", env=env))
    ok(run_dbt(env, target, "run", "--select", "staging"))  # the models that read raw

    # Reset, then the same nights again at another scale: same batch moments, other rows.
    reset = ok(webshop("reset", "--yes", env=env))
    assert "`dbt build --full-refresh`" in reset.splitlines()[-1]
    ok(webshop("load", "--days", "3", "--scale", "0.003", "--seed", "7",
               "--start-date", "2026-03-02", env=env))  # fmt: skip
    line = guard_line(run_dbt(env, target, "run", "--select", "staging"))
    assert line.startswith("raw was reset or restored: schema raw no longer holds 3 batch(es)")
    assert "(2026-03-03 .. 2026-03-05;" in line
    assert line.endswith("rebuild them from what raw holds now: dbt build --full-refresh")
    # Rebuilding a part is not enough: the other models still hold the old rows.
    guard_line(run_dbt(env, target, "run", "--full-refresh", "--select", "stg_webshop__orders"))
    ok(run_dbt(env, target, "run", "--full-refresh", "--select", "staging"))

    # A copy of raw restored as it was (another table, the same rows) is accepted ...
    with connect(embedded_cluster, database) as conn:
        _replace_event_table(conn, "true")
    ok(run_dbt(env, target, "run", "--select", "base_webshop__batches"))
    # ... a copy older than what staging has read is not.
    with connect(embedded_cluster, database) as conn:
        _replace_event_table(conn, "_extracted_at < (select max(_extracted_at) from raw.event)")
    line = guard_line(run_dbt(env, target, "run", "--select", "base_webshop__batches"))
    assert "no longer holds 1 batch(es)" in line
    assert "(2026-03-05 .. 2026-03-05; tables event)" in line


def _replace_event_table(conn: psycopg.Connection[Any], keep: str) -> None:
    """raw.event replaced by a copy of the rows `keep` selects, as a restore would."""
    with conn.transaction():
        conn.execute(f"create table raw.event_copy as select * from raw.event where {keep}")
        conn.execute("drop table raw.event")
        conn.execute("alter table raw.event_copy rename to event")
        conn.execute("grant select on raw.event to webshop_transformer")


# -- kill -9 of dbt build -----------------------------------------------------------------------


@pytest.mark.db
@pytest.mark.slow
def test_dbt_build_killed_mid_model_then_rerun_equals_an_uninterrupted_run(
    embedded_cluster: pg.Cluster, tmp_path: Path
) -> None:
    """Three nights built, a fourth loaded; the database is copied, and the copy runs
    uninterrupted. The runs happen under the same database name (the databases swap
    names), so that dbt parses the project once."""
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database)
    target = tmp_path / "target"
    ok(webshop("load", "--days", "3", *TINY, "--start-date", "2026-04-06", env=env))
    ok(run_dbt(env, target, "run"))
    ok(webshop("load", "--days", "1", env=env))  # the next night
    with embedded_cluster.connect("postgres") as admin:
        admin.execute(f"create database {database}_copy template {database}")
    with embedded_cluster.connect(f"{database}_copy") as copy:
        for statement in roles.database_statements(f"{database}_copy"):
            copy.execute(statement)  # who may connect: not copied with the contents

    with connect(embedded_cluster, database) as conn:
        new_batch = conn.execute("select max(_extracted_at) from raw.event").fetchone()
        for model in ("stg_webshop__events", "fct_sessions"):
            _kill_build_at(embedded_cluster, database, env, target, model, new_batch[0])
            # Its rows and its ledger entry commit together: neither did.
            read = conn.execute(
                "select count(*) from analytics.batch_ledger where model_name = %s"
                " and source_table = 'event' and extracted_at = %s",
                (model, new_batch[0] if new_batch else None),
            ).fetchone()
            assert read == (0,), model
    ok(run_dbt(env, target, "run"))

    with embedded_cluster.connect("postgres") as admin:
        admin.execute(f"alter database {database} rename to {database}_killed")
        admin.execute(f"alter database {database}_copy rename to {database}")
    ok(run_dbt(env, target, "run"))  # uninterrupted

    with (
        connect(embedded_cluster, database) as uninterrupted,
        connect(embedded_cluster, f"{database}_killed") as killed,
    ):
        tables = model_tables(uninterrupted, "analytics")
        assert len(tables) >= 30, tables
        # The ledger without recorded_at: when each run read a batch differs.
        ledger = (
            "(select model_name, source_table, extracted_at, raw_rows from analytics.batch_ledger)"
        )
        for relation in [*sorted(tables.values()), ledger]:
            assert _differing_rows(uninterrupted, killed, relation) == 0, relation


def _differing_rows(
    one: psycopg.Connection[Any], other: psycopg.Connection[Any], relation: str
) -> int:
    """Rows of `relation` in one database and not the other, both ways (EXCEPT ALL, on
    each row's text: the same values have the same text)."""
    query = f"select cast(row_ as text) from {relation} as row_"
    left, right = Counter(one.execute(query)), Counter(other.execute(query))
    return sum((left - right).values()) + sum((right - left).values())


def _kill_build_at(
    cluster: pg.Cluster,
    database: str,
    env: dict[str, str],
    target: Path,
    model: str,
    new_batch: datetime,
) -> None:
    """Start the nightly `dbt build` (unit tests aside, as `make load-day` runs it) and
    kill -9 it while `model` is between writing its rows and recording them in its ledger
    (the test holds, uncommitted, the ledger entry the model is about to record: recording
    it waits for the test's transaction)."""
    locker = psycopg.connect(**conninfo(cluster, database))  # type: ignore[arg-type]
    watcher = connect(cluster, database)
    try:
        locker.execute(
            "insert into analytics.batch_ledger (model_name, source_table, extracted_at, raw_rows)"
            " values (%s, 'event', %s, 0)",
            (model, new_batch),
        )
        proc = subprocess.Popen(
            [DBT, "build", "--exclude-resource-type", "unit_test",
             "--target-path", str(target), "--log-path", str(target / "logs")],
            cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            backend = _wait_for(
                lambda: watcher.execute(
                    "select pid from pg_stat_activity where datname = %s"
                    " and wait_event_type = 'Lock' and query like %s",
                    (
                        database,
                        f"%\"analytics\".batch_ledger%model_name = '{model}'%",
                    ),
                ).fetchone(),
                proc,
            )
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        locker.rollback()
        # The server notices the client is gone and rolls its transaction back.
        _wait_for(
            lambda: watcher.execute(
                "select 1 where not exists (select from pg_stat_activity where pid = %s)",
                (backend[0],),
            ).fetchone()
        )
    finally:
        locker.close()
        watcher.close()


def _wait_for(probe: Any, proc: subprocess.Popen[Any] | None = None, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        assert proc is None or proc.poll() is None, "the process ended first"
        time.sleep(0.05)
    raise AssertionError("timed out")


# -- kill -9 and Ctrl-C of webshop load -----------------------------------------------------------

LOAD_FIRST = ["load", "--days", "1", *TINY, "--start-date", "2026-01-05"]
LOAD_REST = ["load", "--until", "2026-02-04"]  # days 1..29


def _raw_state(cluster: pg.Cluster, database: str) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every raw row and the batch log (without load times) and settings, as multisets."""
    with connect(cluster, database) as conn:
        state = {
            table: Counter(
                conn.execute(sql.SQL("select * from raw.{}").format(sql.Identifier(table)))
            )
            for table in contract.TABLES
        }
        state["batch"] = Counter(
            conn.execute("select day, delivery, extracted_at, rows::text from webshop_loader.batch")
        )
        state["config"] = Counter(conn.execute("select settings::text from webshop_loader.config"))
    return state


@pytest.fixture(scope="module")
def reference_load(embedded_cluster: pg.Cluster) -> dict[str, Counter[tuple[Any, ...]]]:
    """The raw rows of an uninterrupted load."""
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database)
    ok(webshop(*LOAD_FIRST, env=env))
    ok(webshop(*LOAD_REST, env=env))
    state = _raw_state(embedded_cluster, database)
    assert sorted(day for day, _, _, _ in state["batch"])[-1] == 29
    return state


@pytest.mark.db
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_load_interrupted_mid_night_then_rerun_equals_an_uninterrupted_load(
    embedded_cluster: pg.Cluster,
    reference_load: dict[str, Counter[tuple[Any, ...]]],
    sig: signal.Signals,
) -> None:
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database)
    ok(webshop(*LOAD_FIRST, env=env))
    locker = psycopg.connect(**conninfo(embedded_cluster, database))  # type: ignore[arg-type]
    watcher = connect(embedded_cluster, database)
    try:
        # The next night's COPY into raw.event waits for this lock, after the night's
        # other tables were copied in the same transaction.
        locker.execute("lock table raw.event in share mode")
        proc = subprocess.Popen(
            [WEBSHOP, *LOAD_REST], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            _wait_for(
                lambda: watcher.execute(
                    "select pid from pg_stat_activity where datname = %s and usename ="
                    " 'webshop_loader' and wait_event_type = 'Lock' and query like 'copy%%event%%'",
                    (database,),
                ).fetchone(),
                proc,
            )
            # The generator process is still alive (it runs ahead, up to a full pipe).
            assert len(_group(proc.pid)) == 2
        finally:
            os.killpg(proc.pid, sig)
            _, err = proc.communicate(timeout=180)  # the Spark JVM may run beside it
        locker.rollback()
        if sig == signal.SIGINT:
            assert err == "webshop: aborted\n"  # one line: no traceback, no blank line
            assert proc.returncode == 130
        else:
            assert proc.returncode == -signal.SIGKILL
        _wait_for(lambda: not _group(proc.pid))  # no process left behind
        _wait_for(
            lambda: watcher.execute(
                "select 1 where not exists (select from pg_stat_activity where datname = %s"
                " and usename = 'webshop_loader')",
                (database,),
            ).fetchone()
        )
        # Whole nights only: raw holds exactly the rows of the nights in the batch log.
        state = _raw_state(embedded_cluster, database)
        assert [day for day, _, _, _ in state["batch"]] == [0]
        for table in contract.TABLES:
            logged = sum(json.loads(rows).get(table, 0) for _, _, _, rows in state["batch"])
            assert sum(state[table].values()) == logged, table
    finally:
        locker.close()
        watcher.close()

    ok(webshop(*LOAD_REST, env=env))
    assert _raw_state(embedded_cluster, database) == reference_load
    again = ok(webshop(*LOAD_REST, env=env))  # idempotent
    assert again.startswith("nothing to load: every night up to 2026-02-04 is loaded")
    assert _raw_state(embedded_cluster, database) == reference_load


def _group(pgid: int) -> list[int]:
    """The live processes of process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


# -- webshop load: --until, the future, the calendar, --help ----------------------------------


@pytest.fixture
def db_env(embedded_cluster: pg.Cluster) -> dict[str, str]:
    return pg_env(embedded_cluster, fresh_database(embedded_cluster))


def _batch_dates(embedded_cluster: pg.Cluster, env: dict[str, str]) -> list[date]:
    with connect(embedded_cluster, env["PGDATABASE"]) as conn:
        rows = conn.execute(
            "select extracted_at from webshop_loader.batch where delivery = 1 order by day"
        ).fetchall()
    return [at.date() for (at,) in rows]


@pytest.mark.db
def test_load_until_is_idempotent_and_never_loads_the_future(
    embedded_cluster: pg.Cluster, db_env: dict[str, str]
) -> None:
    today = datetime.now(timezone.utc).date()
    until = today - timedelta(days=7)
    # On an empty database: the 3 nights whose batches land up to `until`.
    first = ok(webshop("load", "--until", until.isoformat(), "--days", "3", *TINY, env=db_env))
    assert f"(batches {until - timedelta(days=2)} .. {until})" in first
    assert _batch_dates(embedded_cluster, db_env) == [until - timedelta(days=d) for d in (2, 1, 0)]
    again = ok(webshop("load", "--until", until.isoformat(), env=db_env))
    assert again == f"nothing to load: every night up to {until} is loaded\n"
    ok(webshop("load", "--until", (until + timedelta(days=2)).isoformat(), env=db_env))
    assert _batch_dates(embedded_cluster, db_env)[-1] == until + timedelta(days=2)

    # Up to now, and no further: what `make load-day` runs, once the last night is in.
    ok(webshop("load", "--until", "today", env=db_env))
    newest = _batch_dates(embedded_cluster, db_env)[-1]
    assert newest in (today, today - timedelta(days=1))  # before 00:20 UTC: yesterday's
    nothing = ok(webshop("load", "--days", "1", "--until", "today", env=db_env))
    assert nothing.startswith(f"nothing to load: every night up to {newest} is loaded")
    line = one_line_error(webshop("load", "--days", "1", env=db_env))
    assert "land after now" in line and "--future" in line
    assert _batch_dates(embedded_cluster, db_env)[-1] == newest
    ok(webshop("load", "--days", "1", "--future", env=db_env))
    assert _batch_dates(embedded_cluster, db_env)[-1] == newest + timedelta(days=1)


@pytest.mark.db
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--days", "100000"], "reaches back before the warehouse calendar"),
        (["--days", "3", "--start-date", "1753-01-01"], "start on 2002-12-31 or later"),
        (["--days", "3", "--start-date", "2099-12-30", "--future"], "calendar_end"),
    ],
)
def test_load_outside_the_calendar_is_one_line_and_loads_nothing(
    embedded_cluster: pg.Cluster, db_env: dict[str, str], args: list[str], expected: str
) -> None:
    assert expected in one_line_error(webshop("load", *args, "--scale", "0.002", env=db_env))
    with connect(embedded_cluster, db_env["PGDATABASE"]) as conn:
        assert conn.execute("select to_regnamespace('raw')").fetchone() == (None,)


def test_help_shows_the_real_defaults(offline_env: dict[str, str]) -> None:
    default = GeneratorConfig().start_date.isoformat()
    load = ok(webshop("load", "--help", env=offline_env))
    assert default not in load  # on an empty database day 0 is DAYS nights before today
    assert "before today" in " ".join(load.split())
    assert f"(default {default})" in ok(webshop("generate", "--help", env=offline_env))


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """No server: PGPORT is a closed port, the embedded data dir is a temporary path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WEBSHOP_", "DBT_"))}
    env.update(PGPORT=str(pg.free_port()), WEBSHOP_PGDATA=str(tmp_path / "pgdata"))
    return env


# -- webshop db: the server that runs, your own server, destroy -------------------------------


@pytest.mark.db
def test_db_status_and_url_describe_the_running_server(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    port = int(offline_env["PGPORT"])
    data = Path(offline_env["WEBSHOP_PGDATA"])
    cluster = pg.Cluster(pg.embedded_bin_dir(), data, port)
    try:
        ok(webshop("db", "start", env=offline_env))
        other = {**offline_env, "PGPORT": str(pg.free_port())}
        status = ok(webshop("db", "status", env=other))
        assert f"running (pid {cluster.pid()})" in status
        assert f"data {data.resolve()}; port {port} " in status
        assert f"PGPORT is {other['PGPORT']}" in status and f"export PGPORT={port}" in status
        url = ok(webshop("db", "url", env=other))
        assert url == f"postgresql://webshop_analyst@127.0.0.1:{port}/webshop\n"
        assert f"port     {port}\n" in ok(webshop("db", "credentials", "analyst", env=other))
        again = ok(webshop("db", "start", env=other)).splitlines()[0]
        assert again.startswith(f"embedded PostgreSQL already running: {url.strip()} (PGPORT is")

        # Deleting the data asks; nothing answered, nothing deleted.
        declined = webshop("db", "destroy", env=offline_env)
        assert declined.returncode == 1 and declined.stderr == "webshop: aborted\n"
        assert cluster.pid() is not None
        ok(webshop("db", "destroy", "--yes", env=offline_env))
        assert not data.exists() and not cluster.passfile.exists()
        assert cluster.pid() is None
    finally:
        cluster.destroy()


def test_db_start_on_a_taken_port_creates_nothing(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**offline_env, "PGHOST": "localhost", "PGPORT": str(port)}
        line = one_line_error(webshop("db", "start", env=env))
    assert f"port {port} on 127.0.0.1 is taken" in line
    assert "PGHOST=localhost" in line
    assert not (tmp_path / "pgdata").exists() and not (tmp_path / "pgpass").exists()


def test_webshop_finds_the_project_from_a_subfolder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "WEBSHOP_"))}
    env["PGPORT"] = str(pg.free_port())
    status = webshop("db", "status", env=env, cwd=project / "models" / "staging")
    assert status.returncode == 3
    assert f"data {project / '.warehouse' / 'pgdata'};" in status.stdout
    assert not (project / "models" / ".warehouse").exists()


def test_db_url_of_your_own_server(offline_env: dict[str, str]) -> None:
    env = {**offline_env, "PGHOST": "db.example.internal", "PGPORT": "6543", "PGUSER": "dba"}
    assert ok(webshop("db", "url", env=env)) == (
        "postgresql://webshop_analyst@db.example.internal:6543/webshop\n"
    )
    assert ok(webshop("db", "url", "--role", "admin", env=env)) == (
        "postgresql://dba@db.example.internal:6543/webshop\n"
    )


@pytest.mark.db
def test_hints_fit_your_own_server(
    embedded_cluster: pg.Cluster, offline_env: dict[str, str], tmp_path: Path
) -> None:
    """PGHOST set and no embedded data directory: your server; no hint to start ours."""
    passfile = tmp_path / "empty-pgpass"
    passfile.touch(mode=0o600)
    env = {**offline_env, "PGHOST": "127.0.0.1", "PGPORT": str(embedded_cluster.port),
           "PGPASSFILE": str(passfile)}  # fmt: skip
    line = one_line_error(webshop("load", "--days", "1", env=env))
    assert "refused role webshop_loader" in line and "a DBA sets it" in line
    assert "db start" not in line
    closed = {**env, "PGPORT": offline_env["PGPORT"]}
    line = one_line_error(webshop("load", "--days", "1", env=closed))
    assert line.endswith("check PGHOST, PGPORT and PGDATABASE")
    # The embedded server (PGHOST unset): start it.
    embedded = {k: v for k, v in closed.items() if k != "PGHOST"}
    assert "webshop db start" in one_line_error(webshop("load", "--days", "1", env=embedded))


# -- make ---------------------------------------------------------------------------------------


def test_make_clean_keeps_the_data(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("target", "dbt_packages", "logs", ".warehouse/pgdata"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "file").write_text("x")
    ok(subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".warehouse", "Makefile"]
    assert (tmp_path / ".warehouse" / "pgdata" / "file").exists()


def test_make_help_lists_the_targets_in_one_screen() -> None:
    proc = subprocess.run(["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True)
    lines = ok(proc).splitlines()
    assert len(lines) <= 24 and all(len(line) <= 100 for line in lines)
    listed = {line.split()[1] for line in lines}
    assert {"demo", "test", "load-day", "clean", "db-destroy", "help"} <= listed


def test_make_load_day_loads_no_night_ahead_of_time() -> None:
    def commands(*args: str) -> str:
        proc = subprocess.run(
            ["make", "-n", "load-day", *args], cwd=REPO_ROOT, capture_output=True, text=True,
            env={**os.environ, "PGHOST": "db.example"},  # no setup, no server: just print
        )  # fmt: skip
        return ok(proc)

    assert "webshop load --days 1 --until today\n" in commands()
    assert "webshop load --days 1 --future\n" in commands("FUTURE=1")
