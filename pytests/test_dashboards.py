"""The dashboards (dashboards/, Evidence) as `make dashboard` builds them, opened in a browser.

A throw-away database gets 15 days that end today (so the week before the current one is
complete) and `dbt run`; the Evidence project, copied to a temporary directory beside the
repository's npm packages (`npm ci` once, kept between runs), reads the marts and builds
its static site through `webshop.dashboard.build`, which a local HTTP server serves.
Headless Chromium opens every page: it shows its title, and the three assessment pages
show for the latest complete week (the ISO week before the current one, UTC) the numbers
that the marts hold, computed here from the marts' rows. The build reads the marts as a
role that may read every mart column except those marked `contains_pii` (as the analyst
role), so a dashboard that selects an e-mail address fails it; no page shows one.

The parsing of `webshop db credentials` output needs no database.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from webshop import cli, dashboard, loader, pg
from webshop.generator import GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from warehouse_helpers import CHROMIUM, page_dom

DBT = str(Path(sys.executable).parent / "dbt")
PROJECT = REPO_ROOT / "dashboards"
MARTS = "analytics_marts"
READER = "dashboards_test_reader"  # no personal data, like the analyst role
needs_browser_and_node = pytest.mark.skipif(
    CHROMIUM is None or shutil.which("npm") is None,
    reason="needs Chromium and Node.js with npm (.ci/run installs `chromium`, `nodejs`, `npm`)",
)


# -- the credentials of the analyst role -------------------------------------------------


def test_credentials_as_key_value_lines() -> None:
    text = (
        "host: 127.0.0.1\nport: 54329\ndatabase: webshop\nuser: webshop_analyst\npassword: s3:c=r\n"
    )
    assert dashboard.parse_credentials(text) == {
        "host": "127.0.0.1",
        "port": "54329",
        "database": "webshop",
        "user": "webshop_analyst",
        "password": "s3:c=r",
    }


def test_credentials_as_assignments_and_as_a_url() -> None:
    assert dashboard.parse_credentials("PGHOST=db\nPGPORT=5432\ndbname=w\nusername=a\n") == {
        "database": "w",
        "user": "a",
    }, "PGHOST is not a key of the output"
    assert dashboard.parse_credentials("postgresql://webshop_analyst:p%40ss@db:5433/webshop") == {
        "host": "db",
        "port": "5433",
        "database": "webshop",
        "user": "webshop_analyst",
        "password": "p@ss",
    }


def test_source_environment_falls_back_to_the_libpq_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard, "analyst_credentials", lambda env: (None, "no such role"))
    env = {
        "PATH": "/nonexistent",
        "PGHOST": "10.1.2.3",
        "PGPORT": "6543",
        "PGDATABASE": "shop",
        "PGUSER": "bi",
        "PGPASSWORD": "pw",
        "DBT_SCHEMA": "dev",
    }
    variables, said = dashboard.source_environment(env)
    prefix = "EVIDENCE_SOURCE__warehouse__"
    assert variables == {
        prefix + "host": "10.1.2.3",
        prefix + "port": "6543",
        prefix + "database": "shop",
        prefix + "user": "bi",
        prefix + "password": "pw",
        prefix + "schema": "dev_marts",
    }
    assert "pw" not in said and "as bi" in said and "no such role" in said


def test_source_environment_prefers_the_analyst_role(monkeypatch: pytest.MonkeyPatch) -> None:
    analyst = {"host": "h", "port": "1", "database": "d", "user": "webshop_analyst"}
    monkeypatch.setattr(dashboard, "analyst_credentials", lambda env: (analyst, "its command"))
    variables, _ = dashboard.source_environment({"PGUSER": "postgres", "PGPASSWORD": "x"})
    assert variables["EVIDENCE_SOURCE__warehouse__user"] == "webshop_analyst"
    assert variables["EVIDENCE_SOURCE__warehouse__password"] == ""
    assert variables["EVIDENCE_SOURCE__warehouse__schema"] == "analytics_marts"


def test_a_schema_that_is_not_a_plain_name_is_refused() -> None:
    with pytest.raises(dashboard.DashboardError, match="plain lower-case name"):
        dashboard.source_environment({"PATH": "", "DBT_SCHEMA": "x; drop table raw.event"})


# -- the built site in a browser ---------------------------------------------------------


@dataclass(frozen=True)
class Site:
    url: str
    directory: Path
    days: tuple[date, date]  # today (UTC) before and after the build
    conninfo: dict[str, str]
    password: str  # the one the build connected with


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def latest_complete_week(weeks: list[date], today: date) -> date:
    """The week before today's, or the latest week with data when the data ends earlier."""
    return min(monday(today) - timedelta(days=7), max(weeks))


def personal_columns(manifest: Path) -> dict[str, set[str]]:
    """{relation: columns marked `meta: {contains_pii: true}`} of the models dbt built."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["alias"]: {
            name
            for name, column in node["columns"].items()
            if (column.get("meta") or column.get("config", {}).get("meta") or {}).get(
                "contains_pii"
            )
        }
        for node in nodes
        if node["resource_type"] == "model"
    }


def reader_without_personal_data(cluster: pg.Cluster, database: str, target: Path) -> str:
    """Create READER: it reads every column of the marts except those marked personal
    (as the analyst role will); return its password."""
    password = secrets.token_hex(16)
    personal = personal_columns(target / "manifest.json")
    with psycopg.connect(**conninfo(cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f"create role {READER} login password '{password}'")
        conn.execute(f'grant connect on database "{database}" to {READER}')
        conn.execute(f"grant usage on schema {MARTS} to {READER}")
        tables = conn.execute(
            "select table_name, array_agg(column_name::text) from information_schema.columns"
            " where table_schema = %s group by 1",
            (MARTS,),
        ).fetchall()
        for table, columns in tables:
            allowed = [c for c in columns if c not in personal.get(table, set())]
            conn.execute(f"grant select ({', '.join(allowed)}) on {MARTS}.{table} to {READER}")
    assert personal["mart_last_session_cart"] == {"email"}, personal
    return password


@dataclass(frozen=True)
class Warehouse:
    env: dict[str, str]  # pg_env
    reader_env: dict[str, str]  # the same, as READER
    conninfo: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
def warehouse(embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """15 days that end today in a fresh database, `dbt run`, and READER."""
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database)
    tmp = tmp_path_factory.mktemp("dashboards")
    today = datetime.now(timezone.utc).date()
    started = time.monotonic()
    with psycopg.connect(**conninfo(embedded_cluster, database), autocommit=True) as conn:  # type: ignore[arg-type]
        config = GeneratorConfig(seed=12, scale=0.01, start_date=today - timedelta(days=15))
        loader.load(conn, "raw", 15, config, set())
    dbt = subprocess.run(
        [DBT, "run", "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert dbt.returncode == 0, dbt.stdout[-4000:]
    reader = reader_without_personal_data(embedded_cluster, database, tmp / "target")
    print(f"\ndashboards test: load + dbt run {time.monotonic() - started:.0f}s")
    reader_env = {**env, "PGUSER": READER, "PGPASSWORD": reader}
    return Warehouse(env, reader_env, conninfo(embedded_cluster, database), tmp)


@pytest.fixture(scope="module")
def site(warehouse: Warehouse) -> Iterator[Site]:
    if CHROMIUM is None or shutil.which("npm") is None:
        pytest.skip("needs Chromium and Node.js with npm")
    loaded = time.monotonic()
    dashboard.install(PROJECT)  # npm ci, unless node_modules has the locked packages
    installed = time.monotonic()
    project = warehouse.tmp / "dashboards"
    shutil.copytree(
        PROJECT, project, ignore=shutil.ignore_patterns("node_modules", "build", ".evidence")
    )
    (project / "node_modules").symlink_to(PROJECT / "node_modules", target_is_directory=True)
    before = datetime.now(timezone.utc).date()
    directory = dashboard.build(project, warehouse.reader_env)
    after = datetime.now(timezone.utc).date()
    built = time.monotonic()
    print(
        f"\ndashboards test: npm ci {installed - loaded:.0f}s,"
        f" sources + build {built - installed:.0f}s"
    )

    httpd = dashboard.server(directory, pg.free_port())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(
            url=f"http://127.0.0.1:{httpd.server_address[1]}",
            directory=directory,
            days=(before, after),
            conninfo=warehouse.conninfo,
            password=warehouse.reader_env["PGPASSWORD"],
        )
    finally:
        httpd.shutdown()
        httpd.server_close()


def dom(site: Site, page: str, profile: Path) -> str:
    """The page's DOM after its scripts ran (headless Chromium, no network but ours)."""
    return page_dom(f"{site.url}/{page}/" if page else f"{site.url}/", profile)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def shown(document: str, attribute: str) -> str:
    """The text of the page's <b ATTRIBUTE>...</b> (the latest week's figures)."""
    match = re.search(rf"<b {attribute}[^>]*>(.*?)</b>", document, re.S)
    assert match, f"no <b {attribute}> on the page"
    return text_of(match.group(1))


def rows(info: dict[str, str], query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(**info) as conn:  # type: ignore[arg-type]
        return conn.execute(query).fetchall()


def money(value: object) -> str:
    return f"{Decimal(str(value)):,.2f}"


def shown_week(document: str, weeks: list[date], site: Site) -> date:
    week = date.fromisoformat(shown(document, 'data-latest-week=""'))
    assert week in {latest_complete_week(weeks, day) for day in site.days}, (week, weeks)
    return week


@pytest.fixture(scope="module")
def pages(site: Site, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    profile = tmp_path_factory.mktemp("chromium")
    return {page: dom(site, page, profile) for page in dashboard.PAGES}


@needs_browser_and_node
@pytest.mark.db
@pytest.mark.slow
def test_every_page_shows_its_title_and_charts(pages: dict[str, str]) -> None:
    for page, title in dashboard.PAGES.items():
        titles = [text_of(h1) for h1 in re.findall(r"<h1[^>]*>(.*?)</h1>", pages[page], re.S)]
        assert titles == [title], (page, titles)
        assert "Loading" not in text_of(pages[page]), page
        assert not re.search(r"\berror\b", text_of(pages[page]), re.I), page
        if page:
            assert "<canvas" in pages[page], f"{page}: no chart was drawn"


@needs_browser_and_node
@pytest.mark.db
@pytest.mark.slow
def test_shipping_time_shows_the_latest_complete_weeks_median_and_p90(
    site: Site, pages: dict[str, str]
) -> None:
    marts = {
        week: (median, p90)
        for week, median, p90 in rows(
            site.conninfo,
            "select placed_week, median_hours_placed_to_shipped, p90_hours_placed_to_shipped"
            f" from {MARTS}.mart_weekly_shipping_time",
        )
    }
    document = pages["shipping-time"]
    week = shown_week(document, list(marts), site)  # type: ignore[arg-type]
    median, p90 = marts[week]
    assert shown(document, 'data-latest-value="median_hours_placed_to_shipped"') == f"{median:.2f}"
    assert shown(document, 'data-latest-value="p90_hours_placed_to_shipped"') == f"{p90:.2f}"


@needs_browser_and_node
@pytest.mark.db
@pytest.mark.slow
def test_discount_shows_the_latest_complete_weeks_discount_and_share(
    site: Site, pages: dict[str, str]
) -> None:
    marts = {
        week: (discount, gross, share)
        for week, discount, gross, share in rows(
            site.conninfo,
            "select placed_week, discount_amount, gross_amount, discount_share_of_gross"
            f" from {MARTS}.mart_weekly_discount",
        )
    }
    document = pages["discount"]
    week = shown_week(document, list(marts), site)  # type: ignore[arg-type]
    discount, gross, share = marts[week]
    assert shown(document, 'data-latest-value="discount_share_of_gross"') == f"{share * 100:.2f}%"
    assert shown(document, 'data-latest-value="discount_amount"') == money(discount)
    assert shown(document, 'data-latest-value="gross_amount"') == money(gross)


@needs_browser_and_node
@pytest.mark.db
@pytest.mark.slow
def test_last_session_carts_counts_the_latest_complete_weeks_carts(
    site: Site, pages: dict[str, str]
) -> None:
    carts = [
        (monday(started.astimezone(timezone.utc).date()), net, ordered)
        for started, net, ordered in rows(
            site.conninfo,
            "select session_start, cart_value_net, order_value"
            f" from {MARTS}.mart_last_session_cart",
        )
    ]
    document = pages["last-session-carts"]
    week = shown_week(document, [c[0] for c in carts], site)  # type: ignore[misc]
    in_week = [c for c in carts if c[0] == week]
    assert shown(document, 'data-latest-value="customers"') == str(len(in_week))
    assert shown(document, 'data-latest-value="cart_value_net"') == money(
        sum((Decimal(str(c[1])) for c in in_week), Decimal(0))
    )
    assert shown(document, 'data-latest-value="order_value"') == money(
        sum((Decimal(str(c[2])) for c in in_week), Decimal(0))
    )


@needs_browser_and_node
@pytest.mark.db
@pytest.mark.slow
def test_no_page_shows_an_email_address(site: Site, pages: dict[str, str]) -> None:
    emails = [
        email
        for (email,) in rows(
            site.conninfo,
            "select email from analytics_warehouse.dim_customer where email is not null",
        )
    ]
    assert emails
    for email in emails:
        assert all(email not in document for document in pages.values()), email


# -- `webshop marts` on the same warehouse -------------------------------------------------


def test_marts_lists_every_mart_the_project_builds() -> None:
    models = {path.stem for path in (REPO_ROOT / "models" / "marts").rglob("mart_*.sql")}
    assert set(cli.MARTS) == models


def test_marts_refuses_an_unknown_mart_in_one_line() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "webshop"), "marts", "mart_nope"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("webshop: error: no mart 'mart_nope'; the marts are: ")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.db
@pytest.mark.slow
def test_marts_prints_each_question_and_rows(warehouse: Warehouse) -> None:
    env = warehouse.env
    webshop = str(Path(sys.executable).parent / "webshop")
    proc = subprocess.run(
        [webshop, "marts", "--rows", "2"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for name, mart in cli.MARTS.items():
        which = "latest" if mart.descending else "first"
        assert f"\n{mart.question}\n{MARTS}.{name} ({which} 2 rows)\n" in proc.stdout, name
    one = subprocess.run(
        [webshop, "marts", "mart_weekly_discount", "--rows", "1"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert one.returncode == 0, one.stderr
    assert one.stdout.count(f"{MARTS}.") == 1
    (latest,) = rows(
        warehouse.conninfo, f"select max(placed_week) from {MARTS}.mart_weekly_discount"
    )
    assert one.stdout.strip().splitlines()[-1].startswith(str(latest[0]))


@needs_browser_and_node
@pytest.mark.db
@pytest.mark.slow
def test_the_built_site_holds_no_password(site: Site) -> None:
    secret = site.password.encode()
    leaks = [p for p in site.directory.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert not leaks
