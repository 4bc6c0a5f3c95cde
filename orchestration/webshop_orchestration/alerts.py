"""The alert: each failed run appends one line per failed step to a log file in the project.

    <time> run_failed run=<id> job=<job> partition=<night|first..last|-> step=<step> error=<text>

<time> is UTC (2026-11-28T00:31:07Z). Fields are `name=value`, separated by one space;
`error=` comes last and holds the first line of the step's error (for a failed `dbt build`:
which tests failed, which models errored). No network: point a log shipper, or `tail -F`,
at the file.
"""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


def step_error(event: dg.DagsterEvent) -> str:
    """The first line of a step failure: the Failure's description, else the exception's."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return first_line(data.user_failure_data.description)
    if data.error is not None:
        return first_line(data.error.message)
    return first_line(event.message or "")


def failure_lines(context: dg.RunFailureSensorContext, now: datetime) -> list[str]:
    run = context.dagster_run
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    partition = run.tags.get("dagster/partition") or "-"
    if "dagster/asset_partition_range_start" in run.tags:
        partition = (
            f"{run.tags['dagster/asset_partition_range_start']}.."
            f"{run.tags['dagster/asset_partition_range_end']}"
        )
    head = f"{stamp} run_failed run={run.run_id} job={run.job_name} partition={partition}"
    steps = [
        (event.step_key or "-", step_error(event)) for event in context.get_step_failure_events()
    ]
    if not steps:  # the run failed outside any step (launch, resources, ...)
        steps = [("-", first_line(context.failure_event.message or "run failed"))]
    return [f"{head} step={step} error={error}" for step, error in steps]


def failure_sensor(log_file: Path) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="record_failed_runs",
        description=f"Appends each failed run's failed steps to {log_file}.",
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )
    def record_failed_runs(context: dg.RunFailureSensorContext) -> None:
        lines = failure_lines(context, datetime.now(timezone.utc))
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a", encoding="utf-8") as log:
            log.writelines(line + "\n" for line in lines)
        context.log.info(f"recorded in {log_file}: {lines[0]}")

    return record_failed_runs
