"""The benchmark's report and ratios on each engine, from figures made up here (a run
costs minutes, and is what `webshop bench` is for)."""

from __future__ import annotations

from webshop import bench


def results(engine: str, short: bool) -> bench.Results:
    made_up = bench.Results(engine=engine, scale=0.01, days=4, repeat=1, machine="m", short=short)
    made_up.rows["raw"] = 1000
    made_up.seconds |= {"ingest": 10.0, "full_run": 80.0, "incremental_run_4": 10.0}
    if not short:
        made_up.seconds |= {
            "full_build": 100.0,
            "incremental_build_4": 20.0,
            "incremental_test_4": 5.0,
            "incremental_run_8": 12.0,
            "incremental_test_8": 5.0,
            "incremental_build_8": 22.0,
            "naive_run_4": 80.0,
            "naive_run_8": 90.0,
        }
    made_up.ratios = bench.ratios(made_up)
    return made_up


def test_spark_reports_postgres_floors_as_not_applicable() -> None:
    found = results("spark", short=False)
    assert found.ratios == {
        "ingest_rows_per_s": 100,
        "incremental_vs_full_run": 0.125,
        "incremental_2d_vs_d": 1.2,
        "nightly_build_vs_full_build": 0.2,
        "nightly_build_2d_vs_d": 1.1,
        "naive_vs_incremental": 8.0,
    }
    text = bench.report(found)
    assert text.startswith("engine: spark\n")
    for line in (
        "COPY floor",
        "one-pass floor",
        "loader peak RSS",
        "PostgreSQL process RSS",
        "temp",
    ):
        assert any(line in row and row.endswith("n/a") for row in text.splitlines()), line
    assert "not run" not in text


def test_short_reports_the_steps_it_skips_as_not_run() -> None:
    found = results("spark", short=True)
    assert found.ratios == {"ingest_rows_per_s": 100, "incremental_vs_full_run": 0.125}
    text = bench.report(found)
    assert "(short: full dbt run and one nightly dbt run)" in text
    assert any(
        r.startswith("full build, models and tests (s)") and r.endswith("not run")
        for r in text.splitlines()
    )


def test_loaded_rows_reads_the_loaders_summary() -> None:
    assert bench.loaded_rows("Spark started in 9.1s\nloaded 4 days, 12,345 rows in 6.0s\n") == 12345
