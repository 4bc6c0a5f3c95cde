"""webshop.loader: generated daily batches appended to `raw` with COPY, one day at a time."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from webshop import contract, loader, pg
from webshop.generator import Batch, CopyBatch, Faults, GeneratorConfig, generate
from webshop.generator._output import Day
from webshop.generator._sim import Sim

from conftest import conninfo, fresh_database

pytestmark = pytest.mark.db

RAW = "raw"
CONFIG = GeneratorConfig(seed=7, scale=0.002, start_date=date(2026, 1, 5))
# Every day delivered twice: the batch log must number the deliveries 1 and 2.
TWICE = dataclasses.replace(CONFIG, faults=dataclasses.replace(Faults(), duplicate_batch=1.0))
# Held-back versions, late events and duplicate batches pending from one load to the next.
PENDING = dataclasses.replace(
    CONFIG,
    faults=dataclasses.replace(Faults(), out_of_order=0.2, late_event=0.2, duplicate_batch=0.4),
)


@pytest.fixture
def conn(embedded_cluster: pg.Cluster) -> Iterator[psycopg.Connection[Any]]:
    """A loader connection to a new, empty database."""
    with loader.connect(conninfo(embedded_cluster, fresh_database(embedded_cluster))) as conn:
        conn.execute("set timezone to 'UTC'")
        conn.commit()
        yield conn


def _load(
    conn: psycopg.Connection[Any],
    days: int,
    config: GeneratorConfig = CONFIG,
    overrides: frozenset[str] = frozenset(),
) -> list[loader.DayReport]:
    try:
        reports = loader.load(conn, RAW, days, config, set(overrides))
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return reports


def _batch_log(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "select day, delivery, extracted_at, rows, loaded_at from webshop_loader.batch"
        " order by day, delivery"
    ).fetchall()


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    for table in contract.TABLES:
        query = sql.SQL("select count(*) from {}.{}").format(
            sql.Identifier(RAW), sql.Identifier(table)
        )
        counts[table] = conn.execute(query).fetchone()[0]  # type: ignore[index]
    return counts


def _state(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    """Everything the loader writes, to check that a refused load changed nothing."""
    config = conn.execute("select settings from webshop_loader.config").fetchall()
    snapshot = conn.execute("select day, md5(snapshot) from webshop_loader.state").fetchall()
    return (_batch_log(conn), _counts(conn), config, snapshot)


def _snapshot_days(conn: psycopg.Connection[Any]) -> list[int]:
    return [day for (day,) in conn.execute("select day from webshop_loader.state")]


class SimulatedDays:
    """Every day the generator simulates from now on (replayed or new), in order, also
    those simulated in the loader's generator process (they are logged to a file)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
        self.log = log
        step = Sim.step

        def counting_step(sim: Sim, day: int) -> Day:
            with log.open("a") as out:
                out.write(f"{day}\n")
            return step(sim, day)

        monkeypatch.setattr(Sim, "step", counting_step)

    def __call__(self) -> list[int]:
        return [int(day) for day in self.log.read_text().split()] if self.log.exists() else []

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)


def _rows_by_batch(
    conn: psycopg.Connection[Any], table: str
) -> dict[Any, Counter[tuple[Any, ...]]]:
    query = sql.SQL("select * from {}.{}").format(sql.Identifier(RAW), sql.Identifier(table))
    grouped: dict[Any, Counter[tuple[Any, ...]]] = {}
    for row in conn.execute(query):
        grouped.setdefault(row[-1], Counter())[tuple(row)] += 1
    return grouped


def _expected_by_batch(batches: list[Batch], table: str) -> dict[Any, Counter[tuple[Any, ...]]]:
    grouped: dict[Any, Counter[tuple[Any, ...]]] = {}
    for batch in batches:
        rows = grouped.setdefault(batch.extracted_at, Counter())
        for row in batch.rows.get(table, ()):
            rows[(*row, batch.extracted_at)] += 1
    return grouped


def _deliveries(batches: list[Batch]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for batch in batches:
        same_day = [d for day, d in out if day == batch.day]
        out.append((batch.day, len(same_day) + 1))
    return out


def test_tables_have_exactly_the_contract_columns(conn: psycopg.Connection[Any]) -> None:
    _load(conn, 2)
    tables = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s", (RAW,)
    ).fetchall()
    assert sorted(t for (t,) in tables) == sorted(contract.TABLES)
    for table, expected in contract.TABLES.items():
        got = conn.execute(
            "select attname::text, format_type(atttypid, atttypmod), attnotnull"
            " from pg_attribute where attrelid = %s::regclass and attnum > 0"
            " and not attisdropped order by attnum",
            (f"{RAW}.{table}",),
        ).fetchall()
        assert [(name, pgtype) for name, pgtype, _ in got] == list(expected), table
        # Only _extracted_at is declared not null (the contract's data has nullable columns).
        assert [name for name, _, notnull in got if notnull] == ["_extracted_at"], table


def test_batch_log_counts_match_the_raw_rows(conn: psycopg.Connection[Any]) -> None:
    reports = _load(conn, 2, TWICE)
    log = _batch_log(conn)
    assert [(day, delivery) for day, delivery, *_ in log] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert [r.day for r in reports] == [0, 1]
    assert [r.deliveries for r in reports] == [2, 2]

    logged: Counter[tuple[str, Any]] = Counter()
    for _, _, extracted_at, rows, _ in log:
        assert set(rows) == set(contract.TABLES)
        for table, n in rows.items():
            logged[table, extracted_at] += n
    for table in contract.TABLES:
        in_db = conn.execute(
            sql.SQL("select _extracted_at, count(*) from {}.{} group by 1").format(
                sql.Identifier(RAW), sql.Identifier(table)
            )
        ).fetchall()
        by_batch = {(table, at): n for at, n in in_db}
        assert by_batch == {k: n for k, n in logged.items() if k[0] == table and n}
        total = sum(n for (t, _), n in logged.items() if t == table)
        assert sum(r.rows[table] for r in reports) == total
    assert sum(logged.values()) > 0
    # The duplicate delivery holds the same rows as the first one.
    assert log[0][2:4] == log[1][2:4]


def test_a_second_load_appends_the_next_day_only(conn: psycopg.Connection[Any]) -> None:
    first = _load(conn, 2)
    before = _batch_log(conn)
    second = _load(conn, 1)
    after = _batch_log(conn)

    assert [r.day for r in first] == [0, 1]
    assert [r.day for r in second] == [2]
    assert after[: len(before)] == before  # the earlier days are untouched
    expected = _deliveries(list(generate(CONFIG, 0, 3)))
    assert [(day, delivery) for day, delivery, *_ in after] == expected
    assert {day for day, _ in expected} == {0, 1, 2}
    assert all(delivery in (1, 2) for _, delivery in expected)
    # batch day d is extracted shortly after midnight of start_date + d + 1
    for day, _, extracted_at, *_ in after:
        assert extracted_at.date() == date(2026, 1, 6 + day)
    assert second[0].batch_date == date(2026, 1, 8)


def test_appended_days_with_duplicates_are_numbered(conn: psycopg.Connection[Any]) -> None:
    _load(conn, 1, TWICE)
    _load(conn, 2, TWICE)
    log = [(day, delivery) for day, delivery, *_ in _batch_log(conn)]
    assert log == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]


@pytest.mark.parametrize("config", [CONFIG, TWICE], ids=["default-faults", "duplicates"])
def test_loaded_rows_equal_the_generated_rows(
    conn: psycopg.Connection[Any], config: GeneratorConfig
) -> None:
    _load(conn, 2, config)
    _load(conn, 1, config)  # incremental: day 2 alone must equal day 2 of a 3-day run
    batches = list(generate(config, 0, 3))
    assert len({b.extracted_at for b in batches}) == 3
    for table in contract.TABLES:
        loaded = _rows_by_batch(conn, table)
        expected = _expected_by_batch(batches, table)
        for extracted_at, rows in expected.items():
            assert loaded.get(extracted_at, Counter()) == rows, (table, extracted_at)
        assert set(loaded) <= set(expected), table
    assert sum(_counts(conn).values()) == sum(
        len(rows) for b in batches for rows in b.rows.values()
    )


def test_each_load_resumes_where_the_last_one_stopped(
    embedded_cluster: pg.Cluster,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    simulated = SimulatedDays(monkeypatch, tmp_path / "simulated")
    for days, loaded in ((3, 3), (1, 4), (2, 6)):
        _load(conn, days, PENDING)
        assert _snapshot_days(conn) == [loaded] == [loader.loaded_days(conn)]
    assert simulated() == list(range(6))  # each day simulated once: nothing replayed

    simulated.clear()
    with loader.connect(conninfo(embedded_cluster, fresh_database(embedded_cluster))) as once:
        _load(once, 6, PENDING)
        assert simulated() == list(range(6))
        assert [row[:4] for row in _batch_log(conn)] == [row[:4] for row in _batch_log(once)]
        for table in contract.TABLES:
            assert _rows_by_batch(conn, table) == _rows_by_batch(once, table), table
    twice = Counter(day for day, _, *_ in _batch_log(conn))
    assert 2 in twice.values()  # some duplicate batches among them


@pytest.mark.parametrize("snapshot", ["missing table", "interrupted load", "damaged"])
def test_without_a_snapshot_of_the_loaded_days_a_load_replays(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch, snapshot: str, tmp_path: Path
) -> None:
    _load(conn, 2, PENDING)
    if snapshot == "missing table":  # a database loaded before snapshots were stored
        conn.execute("drop table webshop_loader.state")
    elif snapshot == "damaged":
        conn.execute("update webshop_loader.state set snapshot = 'junk'::bytea")
    else:  # day 2 is loaded, day 3 fails: the snapshot stays the one after day 1
        real_copy_batch = loader.copy_batch

        def fail_on_day_3(cur: psycopg.Cursor[Any], raw: str, batch: CopyBatch) -> dict[str, int]:
            if batch.day == 3:
                raise RuntimeError("boom")
            return real_copy_batch(cur, raw, batch)

        with monkeypatch.context() as patch:
            patch.setattr(loader, "copy_batch", fail_on_day_3)
            with pytest.raises(RuntimeError, match="boom"):
                _load(conn, 2, PENDING)
        assert (loader.loaded_days(conn), _snapshot_days(conn)) == (3, [2])
    conn.commit()
    first = loader.loaded_days(conn)
    simulated = SimulatedDays(monkeypatch, tmp_path / "simulated")
    _load(conn, 1, PENDING)
    assert simulated() == list(range(first + 1))
    assert _snapshot_days(conn) == [first + 1]
    batches = list(generate(PENDING, 0, first + 1))
    for table in contract.TABLES:
        assert _rows_by_batch(conn, table) == {
            k: v for k, v in _expected_by_batch(batches, table).items() if v
        }, table


def test_text_values_survive_the_copy(conn: psycopg.Connection[Any]) -> None:
    """Non-ASCII text, NULLs and JSON documents arrive byte for byte."""
    _load(conn, 1)
    batch = next(generate(CONFIG, 0, 1))
    emails = {row[3] for row in batch.rows["customer"]}
    cities = {row[7] for row in batch.rows["customer"]}
    docs = {row[3] for row in batch.rows["event"]}
    assert conn.execute("select count(*) from raw.customer where email is null").fetchone() == (
        sum(1 for row in batch.rows["customer"] if row[3] is None),
    )
    assert {e for (e,) in conn.execute("select email from raw.customer")} == emails
    assert {c for (c,) in conn.execute("select city from raw.customer")} == cities
    assert {d for (d,) in conn.execute("select event_data from raw.event")} == docs


def test_a_raw_schema_made_by_someone_else_is_left_alone(conn: psycopg.Connection[Any]) -> None:
    conn.execute("create schema raw")
    conn.execute("create table raw.customer (id int, note text)")
    conn.execute("insert into raw.customer values (1, 'theirs')")
    conn.commit()

    with pytest.raises(loader.LoadError, match=r"raw.*did not create"):
        _load(conn, 1)

    assert conn.execute("select * from raw.customer").fetchall() == [(1, "theirs")]
    columns = conn.execute(
        "select column_name from information_schema.columns"
        " where table_schema = 'raw' and table_name = 'customer' order by ordinal_position"
    ).fetchall()
    assert columns == [("id",), ("note",)]
    tables = conn.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    )
    assert tables.fetchall() == [("customer",)]
    assert conn.execute("select to_regnamespace('webshop_loader')").fetchone() == (None,)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("seed", 8),
        ("scale", 0.003),
        ("start_date", date(2026, 2, 1)),
        ("faults", Faults.none()),
    ],
)
def test_a_different_explicit_setting_is_refused(
    conn: psycopg.Connection[Any], setting: str, value: Any
) -> None:
    _load(conn, 1)
    before = _state(conn)
    other = dataclasses.replace(CONFIG, **{setting: value})
    with pytest.raises(loader.LoadError, match=setting):
        _load(conn, 1, other, frozenset({setting}))
    assert _state(conn) == before


def test_an_explicit_setting_equal_to_the_stored_one_is_accepted(
    conn: psycopg.Connection[Any],
) -> None:
    _load(conn, 1)
    _load(conn, 1, CONFIG, frozenset({"seed", "scale", "start_date", "faults"}))
    assert [day for day, *_ in _batch_log(conn)] == [0, 1]


def test_settings_not_asked_for_come_from_the_stored_config(
    conn: psycopg.Connection[Any],
) -> None:
    _load(conn, 1)
    other = GeneratorConfig(seed=99, scale=0.004, start_date=date(2025, 6, 1))
    _load(conn, 1, other)  # no overrides: continue the stored data set
    stored = loader.stored_config(conn, RAW)
    assert stored == CONFIG
    batches = list(generate(CONFIG, 0, 2))
    for table in contract.TABLES:
        assert _rows_by_batch(conn, table) == {
            k: v for k, v in _expected_by_batch(batches, table).items() if v
        }


def test_a_failure_in_the_middle_of_a_day_leaves_no_partial_day(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(conn, 1)
    before = _state(conn)
    real_copy_batch = loader.copy_batch
    copied: list[dict[str, int]] = []

    def copy_then_fail(cur: psycopg.Cursor[Any], raw: str, batch: CopyBatch) -> dict[str, int]:
        counts = real_copy_batch(cur, raw, batch)
        copied.append(counts)
        # the rows are in the table (inside the day's transaction) ...
        assert cur.execute("select count(*) from raw.event").fetchone()[0] > before[1]["event"]  # type: ignore[index]
        raise RuntimeError("disk on fire")  # ... when the day fails

    monkeypatch.setattr(loader, "copy_batch", copy_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        loader.load(conn, RAW, 2, CONFIG, set())
    assert copied and sum(copied[0].values()) > 0
    # Nothing of the failed day is visible, not even in the failing session ...
    assert _state(conn) == before
    conn.commit()
    # ... nor after it committed whatever it still had.
    assert _state(conn) == before

    monkeypatch.undo()
    _load(conn, 2)
    assert [(d, n) for d, n, *_ in _batch_log(conn)] == _deliveries(list(generate(CONFIG, 0, 3)))


def test_a_failure_on_a_later_day_keeps_whole_days(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days are loaded one transaction each: a failure on day 2 keeps days 0 and 1 whole
    or drops them whole, and the batch log agrees with the raw tables either way."""
    real_copy_batch = loader.copy_batch

    def fail_on_day_2(cur: psycopg.Cursor[Any], raw: str, batch: CopyBatch) -> dict[str, int]:
        counts = real_copy_batch(cur, raw, batch)
        if batch.day == 2:
            raise RuntimeError("boom")
        return counts

    monkeypatch.setattr(loader, "copy_batch", fail_on_day_2)
    with pytest.raises(RuntimeError, match="boom"):
        loader.load(conn, RAW, 3, CONFIG, set())
    conn.commit()
    log = _batch_log(conn)
    assert {day for day, *_ in log} in ({0, 1}, set())
    counts = _counts(conn)
    for table in contract.TABLES:
        assert counts[table] == sum(rows[table] for _, _, _, rows, _ in log)


def test_a_changed_raw_table_is_refused(conn: psycopg.Connection[Any]) -> None:
    _load(conn, 1)
    conn.execute("alter table raw.event add column extra int")
    conn.commit()
    before = _batch_log(conn)
    with pytest.raises(loader.LoadError, match=r"raw\.event does not match"):
        _load(conn, 1)
    assert _batch_log(conn) == before


def test_loaded_days_and_stored_config(conn: psycopg.Connection[Any]) -> None:
    assert loader.stored_config(conn, RAW) is None
    conn.rollback()
    _load(conn, 2, TWICE)
    assert loader.loaded_days(conn) == 2
    assert loader.stored_config(conn, RAW) == TWICE
    assert loader.config_from_json(loader.config_to_json(TWICE)) == TWICE


def test_connect_to_a_closed_port_raises_load_error() -> None:
    info = {
        "host": "127.0.0.1",
        "port": str(pg.free_port()),
        "user": "postgres",
        "password": "",
        "dbname": "webshop",
    }
    with pytest.raises(loader.LoadError, match=rf"cannot connect .*127\.0\.0\.1:{info['port']}"):
        loader.connect(info)


def test_load_on_postgresql_15(pg15_cluster: pg.Cluster) -> None:
    with loader.connect(conninfo(pg15_cluster, fresh_database(pg15_cluster))) as conn:
        _load(conn, 2, TWICE)
        for table, expected in contract.TABLES.items():
            got = conn.execute(
                "select attname::text, format_type(atttypid, atttypmod) from pg_attribute"
                " where attrelid = %s::regclass and attnum > 0 and not attisdropped"
                " order by attnum",
                (f"{RAW}.{table}",),
            ).fetchall()
            assert got == list(expected), table
        batches = list(generate(TWICE, 0, 2))
        for table in contract.TABLES:
            assert _rows_by_batch(conn, table) == {
                k: v for k, v in _expected_by_batch(batches, table).items() if v
            }
