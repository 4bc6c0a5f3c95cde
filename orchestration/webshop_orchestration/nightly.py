"""The nightly batch: one daily partition = one night's EL batch, appended by the loader.

Partition `2026-03-04` is the activity day whose batch the EL job extracts shortly after
midnight UTC that night (generator day `2026-03-04 - start_date`, where start_date is the
one stored with the loaded data, or the partitions' first day for an empty database).

The loader appends days in order (the generator continues from the day before), so:
- a partition whose night is already loaded is a no-op (it is recorded, nothing is
  appended);
- a partition after a gap loads the missing nights first, in order, and records each of
  them as materialized too, so a backfill's runs can arrive in any order;
- a partition before the first loaded night fails with one line saying so.
Loads also take a PostgreSQL advisory lock: two runs never append at the same time, even
from two Dagster instances.
"""

import os
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg
import psycopg

from webshop import contract, loader, settings
from webshop.generator import Faults, GeneratorConfig

GROUP = "raw"
# Steps that write to the warehouse share this concurrency pool; orchestration/dagster.yaml
# gives each pool one slot, so two loads or builds never run at the same time.
POOL = "warehouse"
# One arbitrary key per database: the nightly loads of one warehouse take turns.
LOAD_LOCK = 7_461_023_115


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def first_night(default: date) -> date:
    """Where the partitions start: WEBSHOP_START_DATE when set, else the first night of the
    data already loaded (if the database answers), else `default`."""
    if os.environ.get("WEBSHOP_START_DATE"):
        return date.fromisoformat(os.environ["WEBSHOP_START_DATE"])
    try:
        with psycopg.connect(**settings.connection(), connect_timeout=3) as conn:  # type: ignore[arg-type]
            stored = loader.stored_config(conn, settings.raw_schema())
    except (psycopg.Error, loader.LoadError):
        stored = None
    return stored.start_date if stored else default


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    """One partition per night from `start` (day 0) to yesterday (UTC): a day's partition
    exists once the day is over, which is when its batch is extracted."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC")


class NightlyBatchConfig(dg.Config):
    """How an empty warehouse's data is generated (a loaded one keeps its own settings)."""

    scale: float = 0.01
    seed: int = 42
    faults: bool = True


def nightly_batch_asset(
    partitions: dg.DailyPartitionsDefinition, retry_policy: dg.RetryPolicy | None = None
) -> dg.AssetsDefinition:
    first_partition = partitions.start.date()

    @dg.multi_asset(
        name="nightly_batch",
        specs=[
            dg.AssetSpec(
                raw_key(table),
                group_name=GROUP,
                description=f"Raw table {table}: the nightly EL batches, appended as delivered.",
                kinds={"postgres"},
            )
            for table in contract.TABLES
        ],
        partitions_def=partitions,
        # A backfill of a date range is one run that appends the nights in order.
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=False,
        retry_policy=retry_policy,
        pool=POOL,
    )
    def nightly_batch(
        context: dg.AssetExecutionContext, config: NightlyBatchConfig
    ) -> Iterator[dg.MaterializeResult[Any]]:
        """Append the EL batches of the partitions' nights (and of any missing night before
        them) to the raw tables."""
        key_range = context.partition_key_range
        first, last = date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)
        requested = GeneratorConfig(
            seed=config.seed,
            scale=config.scale,
            start_date=first_partition,
            faults=Faults() if config.faults else Faults.none(),
        )
        raw = settings.raw_schema()
        conninfo = settings.connection()
        try:
            conn = loader.connect(conninfo)
        except loader.LoadError as exc:  # the server may be back by the next try
            raise dg.Failure(str(exc)) from None
        with conn:
            conn.execute("select pg_advisory_lock(%s)", (LOAD_LOCK,))
            try:
                stored = loader.stored_config(conn, raw)
                start = stored.start_date if stored else first_partition
                if first < start:
                    raise loader.LoadError(
                        f"partition {first} is before the first night of the loaded data "
                        f"({start}); unset WEBSHOP_START_DATE (or set it to {start}) so that "
                        "the partitions start there"
                    )
                loaded = loader.loaded_days(conn) if stored else 0
                wanted = (last - start).days + 1
                reports = loader.load(conn, raw, max(wanted - loaded, 0), requested, set())
            except loader.LoadError as exc:  # the data or the settings: trying again won't do
                raise dg.Failure(str(exc), allow_retries=False) from None

        nights = [start + timedelta(days=report.day) for report in reports]
        context.log.info(
            f"loaded nights {nights[0]} .. {nights[-1]} into {settings.describe(conninfo)}"
            if nights
            else f"nights {first} .. {last} were loaded already: nothing to append"
        )
        # A night loaded to fill a gap is recorded as its own partition's materialization.
        for night in nights:
            if night < first:
                for table in contract.TABLES:
                    context.log_event(
                        dg.AssetMaterialization(
                            raw_key(table),
                            partition=night.isoformat(),
                            description="loaded to fill the gap before a later night",
                        )
                    )
        for table in contract.TABLES:
            yield dg.MaterializeResult(
                asset_key=raw_key(table),
                metadata={
                    "rows_appended": sum(report.rows[table] for report in reports),
                    "nights_appended": [night.isoformat() for night in nights],
                    "nights_in_warehouse": max(loaded, wanted),
                },
            )

    return nightly_batch
