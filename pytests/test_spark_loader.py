"""`webshop load --target spark` (issue 14): the nightly batches in a local Spark warehouse.

Skipped unless the Spark extra is installed (`make spark-setup`) and Java is on PATH; not
part of `make test` yet (marker `spark`; run it with `pytest -m spark`). About 2 minutes:
a load by the command, then a night and the checks in this process (a JVM each).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from webshop import contract
from webshop.generator import GeneratorConfig, generate
from webshop.loader import LoadError

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or 21) on PATH", allow_module_level=True)

from webshop import spark_loader

pytestmark = pytest.mark.spark

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = GeneratorConfig(scale=0.002, start_date=date(2026, 1, 5))


def _load(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WEBSHOP_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": str(project)}
    env.pop("WEBSHOP_RAW_SCHEMA", None)
    webshop = Path(sys.executable).parent / "webshop"
    return subprocess.run(
        [str(webshop), "load", "--target", "spark", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _utc(moment: datetime) -> datetime:
    """Spark hands timestamps back naive, in the session's time zone (UTC here)."""
    return moment.replace(tzinfo=timezone.utc)


def test_nightly_batches_land_in_spark_as_generated(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "dbt_project.yml", tmp_path)
    shutil.copy(REPO_ROOT / "profiles.yml.example", tmp_path / "profiles.yml")

    first = _load(tmp_path, "--days", "2", "--scale", "0.002", "--start-date", "2026-01-05")
    assert first.returncode == 0, first.stderr
    assert "loaded 2 days" in first.stdout
    assert (tmp_path / ".warehouse" / "spark" / "metastore_db").is_dir()
    assert not (tmp_path / "metastore_db").exists()
    assert not (tmp_path / "spark-warehouse").exists()

    expected = {table: Counter[datetime]() for table in contract.TABLES}
    for batch in generate(CONFIG, 0, 3):
        for table in contract.TABLES:
            expected[table][batch.extracted_at] += len(batch.rows.get(table, ()))

    parameters = spark_loader.profile_parameters(tmp_path)
    with spark_loader.spark_session(tmp_path, parameters) as spark:
        assert spark_loader.stored_config(spark, "raw") == CONFIG
        assert spark_loader.loaded_days(spark) == 2
        # the next night resumes from the stored snapshot, with the stored settings
        (report,) = spark_loader.load(spark, "raw", 1, GeneratorConfig(scale=1), set())
        assert report.day == 2
        assert spark_loader.loaded_days(spark) == 3
        spark_loader.check_contract(spark, "raw")
        for table in contract.TABLES:
            found = Counter(
                _utc(row["_extracted_at"])
                for row in spark.table(f"raw.{table}").select("_extracted_at").collect()
            )
            assert found == +expected[table], table
        day0 = next(iter(generate(CONFIG, 0, 1)))
        events = spark.table("raw.event").where(
            f"_extracted_at = timestamp'{day0.extracted_at.isoformat()}'"
        )
        rows = sorted(
            (r["id"], r["event_type"], _utc(r["event_timestamp"]), r["event_data"])
            for r in events.collect()
        )
        assert rows == sorted(day0.rows["event"])

        # rows of a batch that no finished load recorded: the next load refuses to go on
        spark.sql(
            "INSERT INTO raw.voucher (id, _extracted_at) VALUES (1, timestamp'2099-01-01 00:00:00')"
        )
        with pytest.raises(LoadError, match="interrupted"):
            spark_loader.check_complete(spark, "raw")
