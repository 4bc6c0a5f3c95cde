"""The Dagster code location (orchestration/) on a real PostgreSQL, with Dagster's test API.

One story, run once for the module, on five nights ending yesterday:
- the nightly job runs for nights 0 and 1 (one run per partition: load, `dbt build`,
  `dbt source freshness`);
- a row is duplicated in an incremental staging table, so night 2's `dbt build` fails the
  unique tests on it: those asset checks fail, the step is not retried (a failed test is
  not transient), and the failure sensor appends one line naming run, job, partition,
  step and the failed tests to the alert log;
- the row is removed and the failed run re-executed from its failure: it succeeds without
  loading night 2 again;
- nights 3 and 4, missed, are backfilled in one run (the nightly batch's backfill policy);
- the same five nights are loaded by hand (`webshop.loader.load`) into another database
  and built with `dbt build` (unit tests aside: they check the code, not the nights):
  every table of the marts and of the warehouse layer holds the same rows (EXCEPT ALL
  both ways).
The freshness checks are compared with dbt's thresholds on the age of each table's newest
batch. The UI test serves the code location with `dagster-webserver` and reads the asset
graph with headless Chromium (screenshot and DOM).
"""

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from webshop import contract, loader, pg
from webshop.generator import GeneratorConfig
from webshop_orchestration.definitions import build_definitions
from webshop_orchestration.nightly import daily_partitions, first_night, nightly_batch_asset

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from test_analytics import expected_status
from warehouse_helpers import CHROMIUM, dbt, headless_chromium

pytestmark = [pytest.mark.db, pytest.mark.slow]

BIN = Path(sys.executable).parent
TODAY = datetime.now(timezone.utc).date()
START = TODAY - timedelta(days=5)
NIGHTS = [(START + timedelta(days=day)).isoformat() for day in range(5)]
SCALE = 0.002
RUN_CONFIG = {"ops": {"nightly_batch": {"config": {"scale": SCALE}}}}
# As on Sundays: the tests of the incremental models read every row.
FULL_TESTS_CONFIG = {"ops": {**RUN_CONFIG["ops"], "dbt_build": {"config": {"full_tests": True}}}}
# Retries without waiting: a retry that should not happen must not slow the test down.
NO_WAIT = dg.RetryPolicy(max_retries=1, delay=0)
FAULTY_MODEL = "stg_webshop__vouchers"
FAULTY_ASSET = f"staging/{FAULTY_MODEL}"
BACKFILL = f"{NIGHTS[3]}..{NIGHTS[4]}"
# The last night each run loaded (the retry loads nothing).
LAST_NIGHT = {NIGHTS[0]: 0, NIGHTS[1]: 1, NIGHTS[2]: 2, BACKFILL: 4}

SEVERITY = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}
Checks = dict[tuple[str, str], tuple[dg.AssetCheckEvaluation, float]]


@dataclass
class Run:
    success: bool
    run_id: str
    parent_run_id: str | None
    tags: dict[str, str]
    steps_started: list[str]
    retried_steps: list[str]
    checks: Checks  # (asset, check) -> (evaluation, unix time)
    materialized: dict[str, list[tuple[str | None, dict[str, Any]]]]  # asset -> (partition, meta)


@dataclass
class Story:
    runs: dict[str, Run]  # by partition, range, or "retry"
    alert_lines: list[str]
    differences: dict[str, int]
    batches: list[tuple[int, datetime, dict[str, int]]]  # (day, extracted_at, rows) load order
    manifest: dict[str, Any]


def nightly_job() -> dg.JobDefinition:
    """The job as the story builds it (module level, so that Dagster can reconstruct it)."""
    return build_definitions(
        start_date=START, alert_log=Path(os.environ["TEST_ALERT_LOG"]), retry_policy=NO_WAIT
    ).resolve_job_def("nightly")


def record(instance: dg.DagsterInstance, run_id: str) -> Run:
    """What the instance's event log says about a run."""
    run = instance.get_run_by_id(run_id)
    assert run is not None
    records = instance.all_logs(run_id)
    events = [(entry.dagster_event, entry.timestamp) for entry in records if entry.dagster_event]
    checks: Checks = {}
    materialized: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
    for event, stamp in events:
        data = event.event_specific_data
        if isinstance(data, dg.AssetCheckEvaluation):
            checks[(data.asset_key.to_user_string(), data.check_name)] = (data, stamp)
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.step_materialization_data.materialization
            values = {key: value.value for key, value in mat.metadata.items()}
            materialized.setdefault(mat.asset_key.to_user_string(), []).append(
                (mat.partition, values)
            )
    return Run(
        success=run.is_success,
        run_id=run_id,
        parent_run_id=run.parent_run_id,
        tags=dict(run.tags),
        steps_started=[e.step_key or "" for e, _ in events if e.event_type_value == "STEP_START"],
        retried_steps=[
            e.step_key or "" for e, _ in events if e.event_type_value == "STEP_UP_FOR_RETRY"
        ],
        checks=checks,
        materialized=materialized,
    )


def copy_table(source: psycopg.Connection[Any], target: psycopg.Connection[Any], name: str) -> None:
    """Table `name` (schema.table) of the source database into by_hand.<table> of the target."""
    schema, table = map(sql.Identifier, name.split("."))
    target.execute(
        sql.SQL("create table by_hand.{} as select * from {}.{} with no data").format(
            table, schema, table
        )
    )
    with (
        source.cursor().copy(sql.SQL("copy {}.{} to stdout").format(schema, table)) as out,
        target.cursor().copy(sql.SQL("copy by_hand.{} from stdin").format(table)) as into,
    ):
        for block in out:
            into.write(block)


def differing_rows(conn: psycopg.Connection[Any], left: str, right: str) -> int:
    total = 0
    for one, other in ((left, right), (right, left)):
        row = conn.execute(
            f"select count(*) from (select * from {one} except all select * from {other}) as d"
        ).fetchone()
        assert row is not None
        total += int(row[0])
    return total


def unique_tests_of(manifest: dict[str, Any], model: str) -> set[str]:
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("attached_node") == f"model.webshop.{model}"
        and (node.get("test_metadata") or {}).get("name") == "unique"
    }


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's target directory for the code location (the manifest is parsed there once)."""
    return tmp_path_factory.mktemp("dagster-target")


@pytest.fixture(scope="module")
def story(
    embedded_cluster: pg.Cluster, dbt_target: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("orchestration")
    alert_log = tmp / "failures.log"
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database) | {
        "DBT_TARGET_PATH": str(dbt_target),
        "TEST_ALERT_LOG": str(alert_log),
    }
    runs: dict[str, Run] = {}
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.ephemeral() as instance:
        for name, value in env.items():
            patch.setenv(name, value)
        defs = build_definitions(start_date=START, alert_log=alert_log, retry_policy=NO_WAIT)
        job = defs.resolve_job_def("nightly")
        # The code location parsed the project into dbt_target, keeping only manifest.json.
        # With dbt's partial-parse file beside it (dagster-dbt copies it into each run's
        # target directory), the runs' dbt commands skip parsing the project again, each.
        dbt(env, dbt_target, "parse")
        for night in NIGHTS[:2]:
            result = job.execute_in_process(RUN_CONFIG, instance, partition_key=night)
            runs[night] = record(instance, result.run_id)

        # A row counted twice in an incremental table, outside what a night writes: the
        # Sunday run, whose tests read every row, fails its unique tests.
        faulty = f"analytics_staging.{FAULTY_MODEL}"
        with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(f"insert into {faulty} select * from {faulty} limit 1")
        failed = job.execute_in_process(
            FULL_TESTS_CONFIG, instance, partition_key=NIGHTS[2], raise_on_error=False
        )
        runs[NIGHTS[2]] = record(instance, failed.run_id)
        sensor = next(iter(defs.sensors or []))
        assert isinstance(sensor, dg.RunStatusSensorDefinition)
        sensor(
            dg.build_run_status_sensor_context(
                sensor_name=sensor.name,
                dagster_event=failed.get_run_failure_event(),
                dagster_instance=instance,
                dagster_run=failed.dagster_run,
            ).for_run_failure()
        )

        # Fixed: the copy removed. The failed run is re-executed from its failure.
        with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(
                f"delete from {faulty} where ctid = (select max(ctid) from {faulty}"
                f" where voucher_version_id in (select voucher_version_id from {faulty}"
                " group by 1 having count(*) > 1))"
            )
        retry = dg.execute_job(
            dg.reconstructable(nightly_job),
            instance,
            run_config={**RUN_CONFIG, "execution": {"config": {"in_process": {}}}},
            tags={"dagster/partition": NIGHTS[2]},  # as the UI's re-execution keeps it
            reexecution_options=dg.ReexecutionOptions.from_failure(failed.run_id, instance),
        )
        runs["retry"] = record(instance, retry.run_id)

        # Nights 3 and 4 were missed: a backfill of the range is one run.
        backfill = job.execute_in_process(
            RUN_CONFIG,
            instance,
            tags={
                "dagster/asset_partition_range_start": NIGHTS[3],
                "dagster/asset_partition_range_end": NIGHTS[4],
            },
        )
        runs[BACKFILL] = record(instance, backfill.run_id)

    # The same five nights by hand, in another database.
    by_hand = fresh_database(embedded_cluster)
    with psycopg.connect(**conninfo(embedded_cluster, by_hand), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", 5, GeneratorConfig(scale=SCALE, start_date=START), set())
    proc = subprocess.run(
        [
            str(BIN / "dbt"),
            "build",
            "--exclude-resource-type",
            "unit_test",
            "--no-write-json",  # nothing reads its artifacts
            "--target-path",
            str(tmp / "by-hand"),
        ],
        cwd=REPO_ROOT,
        env=pg_env(embedded_cluster, by_hand),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert " WARN=0 " in proc.stdout, proc.stdout[-4000:]
    assert "deprecat" not in proc.stdout.lower(), proc.stdout[-4000:]

    differences = {}
    with (
        psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn,  # type: ignore[arg-type]
        psycopg.connect(**conninfo(embedded_cluster, by_hand), autocommit=True) as hand,  # type: ignore[arg-type]
    ):
        conn.execute("create schema by_hand")
        tables = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in ('analytics_marts', 'analytics_warehouse')"
            " and table_type = 'BASE TABLE'"
        ).fetchall()
        for (name,) in tables:
            copy_table(hand, conn, name)
            differences[name] = differing_rows(conn, name, f"by_hand.{name.split('.')[1]}")
        batches = conn.execute(
            f"select day, extracted_at, rows from {loader.META_SCHEMA}.batch"
            " order by loaded_at, day, delivery"
        ).fetchall()
    yield Story(
        runs=runs,
        alert_lines=alert_log.read_text().splitlines() if alert_log.exists() else [],
        differences=differences,
        batches=batches,
        manifest=json.loads((dbt_target / "manifest.json").read_text()),
    )


def test_nightly_runs_and_a_backfill_give_the_marts_of_the_same_nights_run_by_hand(
    story: Story,
) -> None:
    assert {label: run.success for label, run in story.runs.items()} == {
        NIGHTS[0]: True,
        NIGHTS[1]: True,
        NIGHTS[2]: False,
        "retry": True,
        BACKFILL: True,
    }
    assert len(story.differences) >= 10
    assert {"analytics_marts.mart_weekly_shipping_time", "analytics_warehouse.fct_sessions"} <= (
        story.differences.keys()
    )
    assert story.differences == dict.fromkeys(story.differences, 0)


def test_each_night_is_loaded_once_in_order(story: Story) -> None:
    days = [day for day, _, _ in story.batches]
    assert sorted(set(days)) == [0, 1, 2, 3, 4]
    assert days == sorted(days)  # a twice-delivered batch repeats its day, in place
    for day, extracted_at, _ in story.batches:  # night d's batch: shortly after its midnight
        midnight = datetime.combine(START + timedelta(days=day + 1), datetime.min.time())
        assert (
            timedelta(0) < extracted_at - midnight.replace(tzinfo=timezone.utc) < timedelta(hours=1)
        )


def test_a_backfill_of_missed_nights_is_one_run_that_records_each_night(story: Story) -> None:
    backfill = story.runs[BACKFILL]
    assert backfill.tags["dagster/asset_partition_range_start"] == NIGHTS[3]
    for table in contract.TABLES:
        materialized = backfill.materialized[f"raw/{table}"]
        assert sorted(partition or "" for partition, _ in materialized) == NIGHTS[3:]
        for _, metadata in materialized:
            assert metadata["nights_appended"] == NIGHTS[3:]
            assert metadata["nights_in_warehouse"] == 5
    # The models share the partitions: the backfill built them once, for both nights.
    assert (
        sorted(p or "" for p, _ in backfill.materialized["warehouse/fct_sessions"]) == (NIGHTS[3:])
    )
    assert backfill.steps_started.count("dbt_build") == 1
    for night in NIGHTS[:2]:
        [(partition, metadata)] = story.runs[night].materialized["raw/event"]
        assert partition == night
        assert metadata["nights_appended"] == [night]
        [(partition, _)] = story.runs[night].materialized["warehouse/fct_sessions"]
        assert partition == night


def test_a_failing_dbt_test_fails_its_asset_check_and_is_not_retried(story: Story) -> None:
    failed = story.runs[NIGHTS[2]]
    assert failed.steps_started[0] == "nightly_batch"
    assert "dbt_build" in failed.steps_started
    assert failed.retried_steps == []
    unique_tests = unique_tests_of(story.manifest, FAULTY_MODEL)
    assert unique_tests  # the model's key is tested
    failing = {
        check
        for (asset, check), (evaluation, _) in failed.checks.items()
        if not evaluation.passed and not asset.startswith("raw/")
    }
    assert unique_tests <= failing
    for test in unique_tests:
        evaluation, _ = failed.checks[(FAULTY_ASSET, test)]
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    # Nothing else failed but the tests that see every staging row (reconcile_raw_rows).
    assert failing - unique_tests <= {"reconcile_raw_rows"}


def test_the_failed_run_is_recorded_in_the_alert_log(story: Story) -> None:
    failed = story.runs[NIGHTS[2]]
    [line] = story.alert_lines
    match = re.fullmatch(
        r"(\S+) run_failed run=(\S+) job=(\S+) partition=(\S+) step=(\S+) error=(.+)", line
    )
    assert match is not None, line
    stamp, run_id, job, partition, step, error = match.groups()
    assert abs(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z") - datetime.now(timezone.utc)) < (
        timedelta(hours=1)
    )
    assert (run_id, job, partition, step) == (failed.run_id, "nightly", NIGHTS[2], "dbt_build")
    assert error.startswith("dbt build: ")
    for test in unique_tests_of(story.manifest, FAULTY_MODEL):
        assert test in error


def test_a_retry_after_the_fix_succeeds_without_loading_again(story: Story) -> None:
    retry = story.runs["retry"]
    assert retry.parent_run_id == story.runs[NIGHTS[2]].run_id
    assert retry.steps_started == ["dbt_build"]
    for test in unique_tests_of(story.manifest, FAULTY_MODEL):
        evaluation, _ = retry.checks[(FAULTY_ASSET, test)]
        assert evaluation.passed


def test_source_freshness_checks_follow_the_thresholds_of_dbt(story: Story) -> None:
    """Each table's check: dbt's status for the age of its newest batch with rows."""
    seen = 0
    for label, last_night in LAST_NIGHT.items():
        for table in contract.TABLES:
            newest = max(
                (at for day, at, rows in story.batches if day <= last_night and rows[table]),
                default=None,
            )
            evaluation, stamp = story.runs[label].checks[(f"raw/{table}", "source_freshness")]
            if newest is None:  # no row yet: dbt cannot tell the age
                assert not evaluation.passed
                continue
            status = expected_status(table, stamp - newest.timestamp())
            assert evaluation.passed == (status == "pass"), (label, table, status)
            if status != "pass":
                assert evaluation.severity == SEVERITY[status], (label, table)
            seen += 1
    # After two nights the events' newest batch is three days old; after the backfill, fresh.
    assert not story.runs[NIGHTS[1]].checks[("raw/event", "source_freshness")][0].passed
    assert story.runs[BACKFILL].checks[("raw/event", "source_freshness")][0].passed
    assert seen >= 20


# -- the nightly batch alone -------------------------------------------------------------


def loaded_days(cluster: pg.Cluster, database: str) -> list[int]:
    with psycopg.connect(**conninfo(cluster, database)) as conn:  # type: ignore[arg-type]
        rows = conn.execute(
            f"select day from {loader.META_SCHEMA}.batch where delivery = 1 order by loaded_at, day"
        ).fetchall()
    return [day for (day,) in rows]


def test_a_partition_loads_the_nights_missing_before_it_and_only_once(
    embedded_cluster: pg.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = fresh_database(embedded_cluster)
    for name, value in pg_env(embedded_cluster, database).items():
        monkeypatch.setenv(name, value)
    nightly = nightly_batch_asset(daily_partitions(START))
    with dg.DagsterInstance.ephemeral() as instance:
        # Night 2 on an empty warehouse: nights 0 and 1 first, each recorded as materialized.
        result = dg.materialize(
            [nightly], instance=instance, partition_key=NIGHTS[2], run_config=RUN_CONFIG
        )
        assert loaded_days(embedded_cluster, database) == [0, 1, 2]
        partitions = sorted(
            event.step_materialization_data.materialization.partition or ""
            for event in result.get_asset_materialization_events()
            if event.asset_key == dg.AssetKey(["raw", "event"])
        )
        assert partitions == NIGHTS[:3]
        # Night 1 again: loaded already, nothing appended.
        again = dg.materialize(
            [nightly], instance=instance, partition_key=NIGHTS[1], run_config=RUN_CONFIG
        )
        assert again.success
        assert loaded_days(embedded_cluster, database) == [0, 1, 2]
    # The partitions now start where the loaded data does.
    monkeypatch.delenv("WEBSHOP_START_DATE", raising=False)
    assert first_night(default=START - timedelta(days=100)) == START


def test_a_partition_before_the_first_loaded_night_fails_in_one_line(
    embedded_cluster: pg.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = fresh_database(embedded_cluster)
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        loader.load(conn, "raw", 1, GeneratorConfig(scale=SCALE, start_date=START), set())
    for name, value in pg_env(embedded_cluster, database).items():
        monkeypatch.setenv(name, value)
    earlier = START - timedelta(days=2)
    nightly = nightly_batch_asset(daily_partitions(earlier))
    result = dg.materialize(
        [nightly], partition_key=earlier.isoformat(), run_config=RUN_CONFIG, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    description = failure.step_failure_data.user_failure_data
    assert description is not None
    assert description.description == (
        f"partition {earlier} is before the first night of the loaded data ({START}); unset "
        f"WEBSHOP_START_DATE (or set it to {START}) so that the partitions start there"
    )
    assert loaded_days(embedded_cluster, database) == [0]


@pytest.mark.parametrize(
    ("ticked", "night", "full_tests"),
    [
        (datetime(2026, 11, 24, 0, 30, tzinfo=timezone.utc), "2026-11-23", False),  # Tuesday
        (datetime(2026, 11, 29, 0, 30, tzinfo=timezone.utc), "2026-11-28", True),  # Sunday
        (datetime(2026, 11, 30, 0, 30, tzinfo=timezone.utc), "2026-11-29", False),  # Monday
    ],
)
def test_the_schedule_builds_the_night_that_ended_with_every_row_tested_on_sundays(
    ticked: datetime, night: str, full_tests: bool
) -> None:
    defs = build_definitions(start_date=START, alert_log=Path("unused.log"))
    schedule = defs.resolve_schedule_def("nightly_at_0030_utc")
    assert schedule.cron_schedule == "30 0 * * *"
    assert schedule.execution_timezone == "UTC"
    run = schedule(dg.build_schedule_context(scheduled_execution_time=ticked))
    assert isinstance(run, dg.RunRequest)
    assert run.partition_key == night
    assert run.run_config == {"ops": {"dbt_build": {"config": {"full_tests": full_tests}}}}


def test_the_first_night_is_the_one_given_or_the_default_without_a_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBSHOP_START_DATE", "2026-02-01")
    assert first_night(default=START) == datetime(2026, 2, 1).date()
    monkeypatch.delenv("WEBSHOP_START_DATE")
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(pg.free_port()))  # nothing listens there
    assert first_night(default=START) == START


# -- the UI ------------------------------------------------------------------------------

# The lineage of fct_sessions down to the raw tables that the nightly batch fills.
GRAPH_PAGE = "/assets/warehouse/fct_sessions?view=lineage&lineageScope=upstream&lineageDepth=4"


def graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def wait_for_assets(port: int, server: subprocess.Popen[bytes], log: Path) -> list[list[str]]:
    """The asset keys the webserver serves, once its code location has loaded."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            nodes = graphql(port, "{ assetNodes { assetKey { path } } }")["data"]["assetNodes"]
        except (urllib.error.URLError, ConnectionError, KeyError, TypeError):
            nodes = []
        if nodes:
            return [node["assetKey"]["path"] for node in nodes]
        time.sleep(1)
    raise AssertionError(f"dagster-webserver did not serve the assets:\n{log.read_text()[-3000:]}")


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def test_the_ui_shows_the_asset_graph(dbt_target: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (`make system-deps` installs it, as .ci/run does)")
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(home),
        "DBT_TARGET_PATH": str(dbt_target),
        "DBT_PROFILES_DIR": str(REPO_ROOT),
    }
    # Given, so the code location does not look for loaded data (PG* are not set here).
    started_on = datetime.now(timezone.utc).date()  # not TODAY: the suite may cross midnight
    first_night = started_on - timedelta(days=30)
    env["WEBSHOP_START_DATE"] = first_night.isoformat()
    port = pg.free_port()
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                str(BIN / "dagster-webserver"),
                *("-w", "orchestration/workspace.yaml", "-h", "127.0.0.1", "-p", str(port)),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server too is stopped with the group
        )
    try:
        keys = wait_for_assets(port, server, log)
        assert ["warehouse", "fct_sessions"] in keys
        raw_keys = sorted(["raw", table] for table in contract.TABLES)
        assert sorted(key for key in keys if key[0] == "raw") == raw_keys

        screenshot = tmp_path / "asset-graph.png"
        dom = headless_chromium(
            tmp_path / "chromium",
            "--window-size=3200,1800",
            f"--screenshot={screenshot}",
            "--dump-dom",
            f"http://127.0.0.1:{port}{GRAPH_PAGE}",
            budget_ms=30_000,
            timeout=180,
        )
        assert png_size(screenshot) == (3200, 1800)
        assert screenshot.stat().st_size > 30_000  # a drawn graph, not a blank page
        text = visible_text(dom)
        for name in ("fct_sessions", "int_events__sessionized", "stg_webshop__events", "event"):
            assert f" {name} " in text, text[:3000]
        # The raw table on the graph is the nightly batch's asset: one partition per night
        # from the first night to yesterday (31 if midnight passed since the start).
        assert 'href="/assets/raw/event' in dom
        yesterdays = {started_on, datetime.now(timezone.utc).date()}
        counts = [f" {(day - first_night).days} partitions " for day in yesterdays]
        assert any(count in text for count in counts), text[:3000]
    finally:
        stop_group(server)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, and what it started."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue
