"""The code location: the nightly batch, the dbt project, the schedule and the alert.

`make orchestrate` serves it (`dagster dev -m webshop_orchestration.definitions`).

Environment (read when the code location loads):
- WEBSHOP_START_DATE: the first night (day 0) of the partitions; by default the first night
  of the data already loaded, or, for an empty warehouse, 2026-01-05 (the generator's
  default day 0).
- WEBSHOP_ALERT_LOG: the failure log (default logs/orchestration-failures.log).
- the PG* variables, WEBSHOP_RAW_SCHEMA, DBT_SCHEMA, DBT_PROFILES_DIR, DBT_TARGET_PATH:
  read by the loader and dbt at run time, as everywhere in the project.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg

from webshop import contract
from webshop.generator import GeneratorConfig
from webshop_orchestration.alerts import failure_sensor
from webshop_orchestration.dbt_models import (
    dbt_models_asset,
    dbt_project,
    dbt_resource,
    source_freshness_check,
)
from webshop_orchestration.nightly import daily_partitions, first_night, nightly_batch_asset

PROJECT_DIR = Path(__file__).resolve().parents[2]

# A step that fails is tried twice more, 1 then 2 minutes later: long enough for a
# restarted server or a dropped connection. A failed dbt test is not retried (see
# dbt_models.failure), nor is a partition that cannot be loaded. Set on the assets, so
# that it holds in every run: the schedule's, a backfill's, one started by hand.
RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.LINEAR)


def build_definitions(
    start_date: date | None = None,
    alert_log: Path | None = None,
    retry_policy: dg.RetryPolicy = RETRY_POLICY,
) -> dg.Definitions:
    """The definitions, with the environment's defaults for what is not given."""
    if start_date is None:
        start_date = first_night(default=GeneratorConfig().start_date)
    if alert_log is None:
        alert_log = Path(
            os.environ.get("WEBSHOP_ALERT_LOG", PROJECT_DIR / "logs" / "orchestration-failures.log")
        )
    project = dbt_project(PROJECT_DIR)
    partitions = daily_partitions(start_date)
    nightly = dg.define_asset_job(
        "nightly",
        selection=dg.AssetSelection.all(),
        description="Load the night's EL batch, then `dbt build` (models, snapshots, tests) "
        "and `dbt source freshness`.",
    )
    return dg.Definitions(
        assets=[
            nightly_batch_asset(partitions, retry_policy),
            dbt_models_asset(project, partitions, retry_policy),
        ],
        asset_checks=[source_freshness_check(list(contract.TABLES), retry_policy)],
        jobs=[nightly],
        schedules=[
            dg.build_schedule_from_partitioned_job(
                nightly,
                name="nightly_at_0030_utc",
                description="Every night at 00:30 UTC: the night that just ended.",
                hour_of_day=0,
                minute_of_hour=30,
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        ],
        sensors=[failure_sensor(alert_log)],
        resources={"dbt": dbt_resource(project)},
    )


defs = build_definitions()
