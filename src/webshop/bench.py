"""The benchmark: ingest, full build and one more day, against their floors, in one run.

Everything runs on a throw-away warehouse, so the user's is never touched: an embedded
PostgreSQL (temporary data directory, free port), or with `--engine spark` a local Spark
whose Parquet warehouse and Derby metastore live in a temporary directory (the profile's
paths are relative to where Spark starts, so the loader and dbt run there). Figures:

- ingest: generate + load D days with `webshop load`, rows/s, against the floor: COPY of
  the same rows from files written beforehand;
- full build: `dbt run --full-refresh` and `dbt build --full-refresh`, against the floor:
  one pass of PostgreSQL over every raw table (every column read, each event document
  parsed once);
- incremental night: load one more day and `dbt run` (models), then `dbt test` alone
  (the night's tests), and another day with `dbt build` (models and tests, the nightly
  job), at D and at 2D days of history;
- naive peer: the same models rebuilt as full-refresh tables on the same data;
- memory: the loader's peak RSS, the largest PostgreSQL process's peak RSS during the
  full build, and the temporary files (work_mem spills) it wrote.

On PostgreSQL each full build and each night (before its day is loaded) starts on a quiet
server: `VACUUM (ANALYZE)` first, as the hours between two nights leave it (autovacuum
done). Without it a night measured minutes after a full build shares the two cores with
autovacuum working through the millions of rows that build wrote, which no real night
does. The seconds those vacuums take are reported on their own.

On Spark the floors, the server's memory and its temporary files are PostgreSQL's and are
reported as not applicable, as is the loader's memory (Spark's JVM is not in its RSS).
`short` measures the models only: ingest (and PostgreSQL's floors), the full `dbt run`
and one nightly `dbt run` at D days (a Spark step costs minutes here, and the tests most
of a build).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from webshop import contract, pg, roles, settings

BIN = Path(sys.executable).parent
# The nightly job's dbt commands (README, `make load-day`, the orchestrator): unit tests
# check the code, which a night does not change; they run in CI and in the full build.
NIGHTLY_BUILD = ("build", "--exclude-resource-type", "unit_test")
NIGHTLY_TEST = ("test", "--exclude-resource-type", "unit_test")
ENGINES = ("postgres", "spark")
NOT_APPLICABLE = "n/a"


@dataclass
class Results:
    engine: str
    scale: float
    days: int
    repeat: int
    machine: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    memory_mb: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    # per dbt step: dbt's start-up (wall time minus the run's own), nodes, slowest nodes
    dbt_steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    short: bool = False


def machine() -> str:
    cpus = os.cpu_count()
    memory = psutil.virtual_memory().total / 2**30
    return f"{sys.platform}, {cpus} cores, {memory:.0f} GiB RAM, Python {sys.version.split()[0]}"


@contextmanager
def throwaway_cluster() -> Iterator[tuple[pg.Cluster, Path]]:
    workdir = Path(tempfile.mkdtemp(prefix="webshop-bench-"))
    cluster = pg.Cluster(pg.embedded_bin_dir(), workdir / "pgdata", pg.free_port())
    try:
        cluster.start()
        roles.setup(cluster, "bench")  # the roles `webshop load` and dbt connect as
        yield cluster, workdir
    finally:
        cluster.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


def environment(cluster: pg.Cluster, database: str, workdir: Path) -> dict[str, str]:
    return cluster.environment(database) | {
        "DBT_PROFILES_DIR": str(Path.cwd()),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
    }


@dataclass
class Warehouse:
    """A throw-away warehouse: where its commands run (environment, directory) and what
    they add to `dbt` and to `webshop load` to reach it; `cluster` on PostgreSQL."""

    workdir: Path
    env: dict[str, str]
    cwd: Path | None = None
    dbt_args: tuple[str, ...] = ()
    load_args: tuple[str, ...] = ()
    cluster: pg.Cluster | None = None


@contextmanager
def throwaway_postgres() -> Iterator[Warehouse]:
    with throwaway_cluster() as (cluster, workdir):
        yield Warehouse(workdir, environment(cluster, "bench", workdir), cluster=cluster)


@contextmanager
def throwaway_spark(project: Path) -> Iterator[Warehouse]:
    """A directory holding the project's profiles.yml and dbt_project.yml (for the
    loader's calendar), where Spark puts .warehouse/spark; dbt builds `project` there."""
    workdir = Path(tempfile.mkdtemp(prefix="webshop-bench-spark-"))
    try:
        shutil.copy(project / "profiles.yml", workdir)
        shutil.copy(project / "dbt_project.yml", workdir)
        env = {k: v for k, v in os.environ.items() if k not in ("WEBSHOP_RAW_SCHEMA", "DBT_SCHEMA")}
        env |= {
            "WEBSHOP_PROJECT_DIR": str(workdir),
            "DBT_PROFILES_DIR": str(workdir),
            "DBT_TARGET_PATH": str(workdir / "target"),
            "DBT_LOG_PATH": str(workdir / "logs"),
        }
        yield Warehouse(
            workdir,
            env,
            cwd=workdir,
            dbt_args=("--target", "spark", "--project-dir", str(project)),
            load_args=("--target", "spark"),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def execute(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    """Seconds the command took, and its output."""
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    return elapsed, proc.stdout


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    return execute(command, env, cwd)[0]


def loaded_rows(output: str) -> int:
    """The rows `webshop load` says it loaded ("loaded 4 days, 12,345 rows in 6.0s")."""
    found = re.search(r"loaded \d+ days, ([\d,]+) rows", output)
    if found is None:
        raise RuntimeError(f"webshop load did not say how many rows it loaded:\n{output[-2000:]}")
    return int(found[1].replace(",", ""))


def dbt_step(workdir: Path, wall: float) -> dict[str, Any]:
    """Where a dbt command's time went, from its run_results.json."""
    run_results = json.loads((workdir / "target" / "run_results.json").read_text())
    nodes = sorted(run_results["results"], key=lambda node: -node["execution_time"])
    return {
        "wall_s": round(wall, 1),
        "start_up_s": round(wall - run_results["elapsed_time"], 1),
        "nodes": len(nodes),
        "node_seconds": round(sum(node["execution_time"] for node in nodes), 1),
        "slowest": [
            [node_name(node["unique_id"]), round(node["execution_time"], 1)] for node in nodes[:8]
        ],
    }


def node_name(unique_id: str) -> str:
    """`model.webshop.fct_orders` -> fct_orders; a data test without its hash suffix."""
    resource, _, name = unique_id.split(".", 2)
    return name.rsplit(".", 1)[0] if resource == "test" else name


def best(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


class PeakRss:
    """Samples the largest resident set of the server's processes while in use."""

    def __init__(self, cluster: pg.Cluster) -> None:
        self.root = cluster.pid()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        if self.root is None:
            return
        server = psutil.Process(self.root)
        while not self._stop.wait(0.1):
            for process in [server, *server.children()]:
                try:
                    self.peak = max(self.peak, process.memory_info().rss)
                except psutil.Error:
                    continue

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def count_rows(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from raw.{}").format(sql.Identifier(table)))
    return int(row.fetchone()[0])  # type: ignore[index]


def temp_bytes(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "select temp_bytes from pg_stat_database where datname = current_database()"
    ).fetchone()
    return int(row[0]) if row else 0


def one_pass_floor(conn: psycopg.Connection[Any]) -> float:
    """Seconds PostgreSQL needs to read every raw row once, every column, events parsed."""
    started = time.perf_counter()
    for table in contract.TABLES:
        if table == "event":
            query = (
                "select count(*), sum(length(t::text)),"
                " count(jsonb_typeof(analytics.try_jsonb(t.event_data))) from raw.event as t"
            )
        else:
            query = f"select count(*), sum(length(t::text)) from raw.{table} as t"
        conn.execute(query).fetchone()
    return time.perf_counter() - started


def copy_floor(cluster: pg.Cluster, files: Path) -> tuple[int, float]:
    """COPY the pre-written batch files into a fresh database, into raw tables with the
    loader's index: rows and seconds."""
    roles.prepare_database(cluster, "copy_floor")
    with psycopg.connect(**cluster.conninfo("copy_floor"), autocommit=True) as conn:  # type: ignore[arg-type]
        with conn.cursor() as cur:
            cur.execute("create schema raw")
            for table in contract.TABLES:
                cur.execute(contract.create_table_sql("raw", table))
                cur.execute(roles.batch_index_sql("raw", table))
        rows = 0
        started = time.perf_counter()
        for folder in sorted(files.iterdir()):
            with conn.transaction(), conn.cursor() as cur:
                for table in contract.TABLES:
                    path = folder / f"{table}.tsv"
                    statement = sql.SQL("copy raw.{} from stdin").format(sql.Identifier(table))
                    with cur.copy(statement) as copy, path.open("rb") as handle:
                        while chunk := handle.read(1 << 20):
                            copy.write(chunk)
                    rows += cur.rowcount
        return rows, time.perf_counter() - started


def run(
    scale: float,
    days: int,
    repeat: int,
    echo: Callable[[str], None],
    engine: str = "postgres",
    short: bool = False,
) -> Results:
    results = Results(
        engine=engine, scale=scale, days=days, repeat=repeat, machine=machine(), short=short
    )
    seconds = results.seconds
    webshop, dbt = str(BIN / "webshop"), str(BIN / "dbt")
    start = date(2026, 1, 5)
    generator_args = ["--scale", str(scale), "--start-date", start.isoformat(), "--seed", "42"]
    warehouse = (
        throwaway_postgres() if engine == "postgres" else throwaway_spark(settings.PROJECT_DIR)
    )
    with warehouse as where:
        env, workdir, cluster = where.env, where.workdir, where.cluster

        echo(f"ingest on {engine}: generate + load {days} days at scale {scale}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # A fixed history on a throw-away server: its nights may lie after today.
        load = [webshop, "load", "--future", *where.load_args]
        seconds["ingest"], output = execute(
            [*load, "--days", str(days), *generator_args], env, where.cwd
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if cluster is None:
            # Spark's JVM is a process of its own, outside the loader's RSS: none measured
            results.rows["raw"] = loaded_rows(output)
        else:
            results.memory_mb["loader_peak_rss"] = max(before, after) / 1024
            with psycopg.connect(**cluster.conninfo("bench"), autocommit=True) as conn:  # type: ignore[arg-type]
                results.rows["raw"] = sum(count_rows(conn, table) for table in contract.TABLES)

            echo("ingest floor: COPY of the same rows from pre-written files")
            files = workdir / "files"
            generate = [webshop, "generate", "--days", str(days), "--out", str(files)]
            timed([*generate, *generator_args], env)
            results.rows["copy_floor"], seconds["copy_floor"] = copy_floor(cluster, files)
            shutil.rmtree(files)

        def quiet() -> None:
            """VACUUM (ANALYZE) the warehouse: autovacuum's work done, as between nights."""
            if cluster is None:
                return
            started = time.perf_counter()
            with psycopg.connect(**cluster.conninfo("bench"), autocommit=True) as conn:  # type: ignore[arg-type]
                conn.execute("vacuum (analyze)")
            seconds["vacuum"] = seconds.get("vacuum", 0.0) + time.perf_counter() - started

        def dbt_timed(step: str, *args: str) -> float:
            wall = timed([dbt, *args, *where.dbt_args], env, where.cwd)
            results.dbt_steps[step] = dbt_step(workdir, wall)
            return wall

        echo("full build")
        timed([webshop, "deps"], dict(os.environ))  # into the project, which dbt builds
        if cluster is None:
            seconds["full_run"] = dbt_timed("full_run", "run", "--full-refresh")
            if not short:
                seconds["full_build"] = dbt_timed("full_build", "build", "--full-refresh")
        else:
            with psycopg.connect(**cluster.conninfo("bench"), autocommit=True) as conn:  # type: ignore[arg-type]
                quiet()
                spilled = temp_bytes(conn)
                with PeakRss(cluster) as peak:
                    seconds["full_run"] = dbt_timed("full_run", "run", "--full-refresh")
                results.memory_mb["postgres_peak_rss"] = peak.peak / 2**20
                results.memory_mb["full_run_temp_files"] = (temp_bytes(conn) - spilled) / 2**20
                if not short:
                    quiet()
                    seconds["full_build"] = dbt_timed("full_build", "build", "--full-refresh")
                seconds["one_pass_floor"] = best(repeat, lambda: one_pass_floor(conn))

        def load_day() -> float:
            quiet()
            return timed([*load, "--days", "1"], env, where.cwd)

        def night_build(label: str) -> float:
            load_day()
            return dbt_timed(f"incremental_build_{label}", *NIGHTLY_BUILD)

        def one_more_day(label: str) -> None:
            tests: list[float] = []

            def night_run() -> float:
                seconds[f"load_day_{label}"] = load_day()
                elapsed = dbt_timed(f"incremental_run_{label}", "run")
                tests.append(dbt_timed(f"incremental_test_{label}", *NIGHTLY_TEST))
                return elapsed

            echo(f"incremental night at {label} days of history: dbt run, then dbt test")
            seconds[f"incremental_run_{label}"] = best(repeat, night_run)
            seconds[f"incremental_test_{label}"] = min(tests)
            echo(f"incremental night at {label} days of history: dbt build")
            seconds[f"incremental_build_{label}"] = best(repeat, lambda: night_build(label))
            echo(f"naive peer at {label} days: every model rebuilt in full")
            quiet()
            seconds[f"naive_run_{label}"] = dbt_timed(f"naive_run_{label}", "run", "--full-refresh")

        def night_models() -> float:
            load_day()
            return dbt_timed(f"incremental_run_{days}", "run")

        if short:
            echo(f"incremental night at {days} days of history: dbt run")
            seconds[f"incremental_run_{days}"] = best(repeat, night_models)
        else:
            one_more_day(str(days))
            loaded = days + 2 * repeat
            echo(f"loading up to {2 * days} days")
            timed([*load, "--days", str(2 * days - loaded)], env, where.cwd)
            timed([dbt, "run", *where.dbt_args], env, where.cwd)
            one_more_day(str(2 * days))

    results.ratios = ratios(results)
    return results


def ratios(results: Results) -> dict[str, float]:
    """The ratios of the figures measured (a floor or a step not measured: no ratio)."""
    s, rows, d, dd = results.seconds, results.rows, results.days, 2 * results.days
    found: dict[str, float] = {"ingest_rows_per_s": round(rows["raw"] / s["ingest"])}
    if "copy_floor" in s:
        floor_rate = rows["copy_floor"] / s["copy_floor"]
        found["copy_floor_rows_per_s"] = round(floor_rate)
        found["ingest_vs_copy_floor"] = round(rows["raw"] / s["ingest"] / floor_rate, 3)
    pairs = {
        "full_run_vs_one_pass_floor": ("full_run", "one_pass_floor", 2),
        "incremental_vs_full_run": (f"incremental_run_{d}", "full_run", 3),
        "incremental_2d_vs_d": (f"incremental_run_{dd}", f"incremental_run_{d}", 3),
        "nightly_build_vs_full_build": (f"incremental_build_{d}", "full_build", 3),
        "nightly_build_2d_vs_d": (f"incremental_build_{dd}", f"incremental_build_{d}", 3),
        "naive_vs_incremental": (f"naive_run_{d}", f"incremental_run_{d}", 1),
    }
    for name, (numerator, denominator, digits) in pairs.items():
        if numerator in s and denominator in s:
            found[name] = round(s[numerator] / s[denominator], digits)
    return found


def report(results: Results) -> str:
    """A readable table of the figures and the targets of the benchmark issue."""
    s, r, m, days = results.seconds, results.ratios, results.memory_mb, results.days
    postgres = results.engine == "postgres"
    # a figure not measured: PostgreSQL's own on another engine, else a step --short skips
    missing = "not run" if postgres else NOT_APPLICABLE

    def secs(key: str) -> str:
        return f"{s[key]:.1f}" if key in s else "not run"

    def floor(key: str, text: str) -> str:
        return text if key in s or key in m else missing

    lines = [
        f"engine: {results.engine}",
        f"machine: {results.machine}",
        f"scale {results.scale}, {days} + {days} days, best of {results.repeat}"
        + (" (short: full dbt run and one nightly dbt run)" if results.short else ""),
        "",
        f"{'measure':<44}{'value':>14}",
        f"{'-' * 44}{'-' * 14}",
    ]
    rows = [
        ("raw rows loaded", f"{results.rows['raw']:,}"),
        ("generate + load (s)", secs("ingest")),
        ("  rows/s", f"{r['ingest_rows_per_s']:,}"),
        ("COPY floor from files (s)", floor("copy_floor", secs("copy_floor"))),
        ("  rows/s", floor("copy_floor", f"{r.get('copy_floor_rows_per_s', 0):,}")),
        ("full build, models (s)", secs("full_run")),
        ("full build, models and tests (s)", secs("full_build")),
        ("one-pass floor (s)", floor("one_pass_floor", secs("one_pass_floor"))),
        (f"incremental day at {days} days, dbt run (s)", secs(f"incremental_run_{days}")),
        ("  dbt test alone (s)", secs(f"incremental_test_{days}")),
        ("  dbt build, next day (s)", secs(f"incremental_build_{days}")),
        (
            f"incremental day at {2 * days} days, dbt run (s)",
            secs(f"incremental_run_{2 * days}"),
        ),
        ("  dbt test alone (s)", secs(f"incremental_test_{2 * days}")),
        ("  dbt build, next day (s)", secs(f"incremental_build_{2 * days}")),
        (f"naive full-refresh day at {days} days (s)", secs(f"naive_run_{days}")),
        (f"naive full-refresh day at {2 * days} days (s)", secs(f"naive_run_{2 * days}")),
        ("VACUUM (ANALYZE) before those steps (s)", floor("vacuum", secs("vacuum"))),
        ("loader peak RSS (MB)", floor("loader_peak_rss", f"{m.get('loader_peak_rss', 0):.0f}")),
        (
            "largest PostgreSQL process RSS (MB)",
            floor("postgres_peak_rss", f"{m.get('postgres_peak_rss', 0):.0f}"),
        ),
        (
            "temp files written by full build (MB)",
            floor("full_run_temp_files", f"{m.get('full_run_temp_files', 0):.0f}"),
        ),
    ]
    lines += [f"{name:<44}{value:>14}" for name, value in rows]
    targets = [
        ("nightly dbt build / full dbt build", "nightly_build_vs_full_build", "<=", 0.10),
        (f"nightly dbt build at {2 * days} / at {days} days", "nightly_build_2d_vs_d", "<=", 1.2),
        ("nightly dbt run / full dbt run", "incremental_vs_full_run", "<=", 0.10),
        (f"incremental at {2 * days} / at {days} days", "incremental_2d_vs_d", "<=", 1.2),
        ("full build / one-pass floor", "full_run_vs_one_pass_floor", "<=", 4.0),
        ("generate + load / COPY floor", "ingest_vs_copy_floor", ">=", 0.5),
    ]
    lines += ["", "where the time of each dbt step went (dbt start-up, nodes, the slowest):"]
    for step, profile in results.dbt_steps.items():
        slowest = ", ".join(f"{name} {seconds}" for name, seconds in profile["slowest"][:4])
        lines.append(
            f"  {step}: {profile['wall_s']} s = start-up {profile['start_up_s']} s"
            f" + {profile['nodes']} nodes (adding up to {profile['node_seconds']} s); {slowest}"
        )
    lines += ["", f"{'target':<44}{'ratio':>8}{'goal':>10}  met"]
    for name, key, op, goal in targets:
        if key not in r:
            lines.append(f"{name:<44}{missing:>8}{op + ' ' + str(goal):>10}")
            continue
        value = r[key]
        met = value <= goal if op == "<=" else value >= goal
        lines.append(f"{name:<44}{value:>8}{op + ' ' + str(goal):>10}  {'yes' if met else 'NO'}")
    return "\n".join(lines)


def write_json(results: Results, path: Path) -> None:
    path.write_text(json.dumps(asdict(results), indent=2) + "\n")
