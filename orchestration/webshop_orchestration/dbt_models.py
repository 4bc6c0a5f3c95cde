"""The dbt project as Dagster assets: every model and snapshot from the manifest, dbt's
data tests as asset checks, and `dbt source freshness` as a check on each raw table.

The manifest is parsed (`dbt parse`) when it is missing or older than a file of the
project, so a fresh clone, and a model changed while `dagster dev` runs, need no step.
dbt connects as profiles.yml says: the PG* variables of the environment.
"""

import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from webshop_orchestration.nightly import POOL, raw_key

# The dbt of this Python environment, whatever PATH says.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
# What `dbt parse` reads: a newer file in one of these makes the manifest stale.
PROJECT_FILES = (
    "dbt_project.yml",
    "packages.yml",
    "package-lock.yml",
    "models",
    "macros",
    "tests",
    "snapshots",
    "seeds",
    "analyses",
)


def dbt_project(project_dir: Path) -> DbtProject:
    """The project, with its manifest parsed if missing or stale. Artifacts go where dbt
    puts them (DBT_TARGET_PATH, default target/); profiles.yml is found as dbt finds it
    (DBT_PROFILES_DIR, default the project directory)."""
    project = DbtProject(
        project_dir=project_dir,
        target_path=os.environ.get("DBT_TARGET_PATH", "target"),
        profiles_dir=os.environ.get("DBT_PROFILES_DIR", project_dir),
    )
    if _stale(project.manifest_path, project_dir):
        _parse(project)
    return project


def _parse(project: DbtProject) -> None:
    """`dbt parse` into a directory of its own, then the manifest moved into place in one
    step: two processes loading the code location at once (test workers, `dagster dev`
    and a run) never read a manifest the other is still writing."""
    target = project.manifest_path.parent
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=target) as parsed:
        dbt_resource(project).cli(["parse", "--quiet"], target_path=Path(parsed)).wait()
        os.replace(Path(parsed) / "manifest.json", project.manifest_path)


def _stale(manifest: Path, project_dir: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in PROJECT_FILES:
        path = project_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.stat().st_mtime > built for f in files if f.is_file()):
            return True
    return False


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)


class Translator(DagsterDbtTranslator):
    """dbt sources are the raw tables the nightly batch fills; models are grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_key(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "snapshot":
            return "snapshots"
        folders = list(dbt_resource_props["fqn"][1:-1])
        if folders[:2] == ["marts", "warehouse"]:
            return "warehouse"
        return folders[0] if folders else None


class BuildConfig(dg.Config):
    """full_tests: the tests of the incremental models read every row, not only the units
    tonight's build wrote, and the unit tests run too (the schedule sets it once a week)."""

    full_tests: bool = False


def dbt_models_asset(
    project: DbtProject, partitions: dg.PartitionsDefinition, retry_policy: dg.RetryPolicy
) -> dg.AssetsDefinition:
    """The models share the nightly partitions: partition 2026-11-27 of a model is the build
    that took that night in. The models are incremental on what is new, so the build is the
    same whichever partition it runs for, and a range of nights is built once."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=Translator(),
        name="dbt_build",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=retry_policy,
        pool=POOL,
    )
    def dbt_build(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: BuildConfig
    ) -> Iterator[Any]:
        """`dbt build`: models, snapshots and data tests (as asset checks); unit tests (they
        check the code, which a night does not change) only with full_tests."""
        args = ["build"]
        if config.full_tests:
            args += ["--vars", "{full_tests: true}"]
        else:
            args += ["--exclude-resource-type", "unit_test"]
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        yield from invocation.stream()
        if not invocation.is_successful():
            raise failure(invocation.target_path / "run_results.json")

    return dbt_build


def failure(run_results: Path) -> dg.Failure:
    """The failure of a `dbt build`, in one line naming what failed. A failed data test is
    not retried (the data will not change by itself); an error may be passing (a dropped
    connection, a restarted server) and is."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return dg.Failure("dbt build failed before it ran a node; see the step's logs")
    # unique_id: <resource type>.<package>.<name>[.<hash of a generic test's arguments>]
    failed = [r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"]
    errors = [r["unique_id"].split(".")[2] for r in results if r["status"] == "error"]
    parts = []
    if errors:
        parts.append(f"{len(errors)} node(s) with errors: {', '.join(errors)}")
    if failed:
        parts.append(f"{len(failed)} test(s) failed: {', '.join(failed)}")
    return dg.Failure(
        "dbt build: " + ("; ".join(parts) or "failed; see the step's logs"),
        allow_retries=bool(errors) or not failed,
    )


def source_freshness_check(
    tables: list[str], retry_policy: dg.RetryPolicy
) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                "source_freshness",
                asset=raw_key(table),
                description="`dbt source freshness`: the newest batch against the source's "
                "warn_after / error_after (models/staging/webshop/_webshop__sources.yml).",
            )
            for table in tables
        ],
        name="dbt_source_freshness",
        retry_policy=retry_policy,
    )
    def dbt_source_freshness(
        context: dg.AssetCheckExecutionContext, dbt: DbtCliResource
    ) -> Iterator[dg.AssetCheckResult]:
        invocation = dbt.cli(["source", "freshness"], raise_on_error=False).wait()
        try:
            results = invocation.get_artifact("sources.json")["results"]
        except OSError:
            raise dg.Failure("dbt source freshness failed; see the step's logs") from None
        by_table = {r["unique_id"].split(".")[-1]: r for r in results}
        for table in tables:
            result = by_table.get(table)
            status = result["status"] if result else "not run"
            metadata: dict[str, Any] = {"dbt_status": status}
            if result and "max_loaded_at" in result:
                metadata["newest_batch_at"] = result["max_loaded_at"]
                metadata["age_hours"] = round(result["max_loaded_at_time_ago_in_s"] / 3600, 1)
            yield dg.AssetCheckResult(
                asset_key=raw_key(table),
                check_name="source_freshness",
                passed=status == "pass",
                severity=dg.AssetCheckSeverity.WARN
                if status == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata=metadata,
            )

    return dbt_source_freshness
