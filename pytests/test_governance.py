"""What analysts and BI tools rely on: docs that start with the questions, owners and
areas, the marts as contracts, and one clock.

One throw-away database gets three weeks from the generator (Monday 2026-03-02 to Sunday
2026-03-22) and a hand-made customer whose session and order fall late on Sunday
2026-03-08 (UTC), when it is already Monday 2026-03-09 in Auckland. `dbt build` runs in
a session whose time zone is Pacific/Auckland. Then:

- the project (its manifest): every model has a group and its owner, an area or layer
  tag and the access its layer calls for; the public models have enforced contracts with a
  data type for every column; a data test is off on PostgreSQL only where the enforced
  contract's constraint does its work (not_null); each replace_from model has an index on
  (unique_key, replace_from_column); every snapshot column is described, a mart's columns
  as in the mart; dashboards' exposures link to a dashboard page; every macro is
  documented and lateral_rows is called with keyword arguments;
- the database: a comment on every column of every relation BI reads (pg_description);
  the embedded server and every role run in UTC; snapshots stamp UTC times;
- `dbt docs generate`, served over HTTP and opened in headless Chromium: the landing page
  is the overview (its first heading), a mart's page lists every column with its type and
  description;
- contracts: in a copy of the project, a public mart whose column changes type and another
  whose column is renamed fail `dbt run` with contract errors, and their tables stay as
  they were, while an unchanged mart builds;
- MetricFlow (`.venv-mf`, `make metricflow`), as the analyst role: weekly orders, revenue,
  discount and the funnel's steps and conversion from `mf query` equal the marts and a
  computation here in UTC, with PGTZ=UTC and with PGTZ=Pacific/Auckland.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import yaml

from webshop import dashboard, loader, pg, roles
from webshop.generator import GeneratorConfig

from conftest import REPO_ROOT, conninfo, fresh_database, pg_env
from warehouse_helpers import (
    CHROMIUM,
    append_batch,
    assert_clean,
    customer_row,
    dbt,
    page_dom,
)

DBT = str(Path(sys.executable).parent / "dbt")
MF = REPO_ROOT / ".venv-mf" / "bin" / "mf"
AUCKLAND = "Pacific/Auckland"
START = date(2026, 3, 2)  # a Monday
DAYS = 21
PUBLISHED_SCHEMAS = ("analytics_warehouse", "analytics_marts", "analytics_snapshots")

# The hand-made customer, product, session and order (ids the generator never reaches).
CUSTOMER = 900_001
PRODUCT = 900_001
ORDER = 900_001
SUNDAY_EVENING = datetime(2026, 3, 8, 20, 0, tzinfo=timezone.utc)  # Monday 09:00 in Auckland


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def utc_week(moment: datetime) -> date:
    return monday(moment.astimezone(timezone.utc).date())


def event(event_id: int, kind: str, minutes: float, **data: Any) -> tuple[Any, ...]:
    document = {"user-agent": "pytest", "ip": "127.0.0.1", "customer-id": CUSTOMER, **data}
    return (event_id, kind, SUNDAY_EVENING + timedelta(minutes=minutes), json.dumps(document))


def boundary_rows() -> dict[str, list[tuple[Any, ...]]]:
    """A product page view, a cart add of 2 x 10.00 and the checkout 2 minutes later, and
    the order it placed (10% off), late on a Sunday (UTC)."""
    created = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    placed = SUNDAY_EVENING + timedelta(minutes=2, seconds=1)
    shop = "https://www.xccelerated-shop.com"
    return {
        "customer": [customer_row(CUSTOMER, "ada@example.com", created, created)],
        "product": [
            (
                PRODUCT,
                "SKU-T",
                "Test kettle",
                "kitchen",
                Decimal("10.00"),
                50,
                True,
                created,
                created,
            )
        ],
        "event": [
            event(9_000_000_001, "PAGE_VIEW", 0, page=f"{shop}/product/{PRODUCT}"),
            event(9_000_000_002, "ADD_PRODUCT_TO_CART", 1, product=PRODUCT, quantity=2),
            event(9_000_000_003, "PAGE_VIEW", 2, page=f"{shop}/checkout/confirmation"),
        ],
        "orders": [(ORDER, CUSTOMER, None, "placed", placed, placed)],
        "order_line": [
            (ORDER, ORDER, PRODUCT, 2, Decimal("10.00"), Decimal("2.00"), placed, placed)
        ],
    }


@dataclass(frozen=True)
class Built:
    env: dict[str, str]  # pg_env, PGTZ=Pacific/Auckland
    target: Path
    conninfo: dict[str, str]
    tmp: Path

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(**self.conninfo) as conn:  # type: ignore[arg-type]
            return conn.execute(query).fetchall()

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.target / "manifest.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def built(embedded_cluster: pg.Cluster, tmp_path_factory: pytest.TempPathFactory) -> Built:
    database = fresh_database(embedded_cluster)
    env = pg_env(embedded_cluster, database) | {"PGTZ": AUCKLAND}
    tmp = tmp_path_factory.mktemp("governance")
    info = conninfo(embedded_cluster, database)
    started = time.monotonic()
    with psycopg.connect(**info, autocommit=True) as conn:  # type: ignore[arg-type]
        config = GeneratorConfig(seed=21, scale=0.004, start_date=START)
        loader.load(conn, "raw", DAYS, config, set())
        last = conn.execute("select max(_extracted_at) from raw.event").fetchone()
        assert last is not None
        append_batch(conn, boundary_rows(), last[0] + timedelta(minutes=5))
    output = dbt(env, tmp / "target", "build")
    assert_clean(output)
    print(f"\ngovernance test: load + dbt build {time.monotonic() - started:.0f}s")
    return Built(env, tmp / "target", info, tmp)


# -- the project: owners, areas, access, contracts, descriptions ---------------------------


def project_models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "webshop"
    }


def layer(node: dict[str, Any]) -> str:
    """staging, intermediate, semantic or published (the marts and the warehouse)."""
    parts = Path(node["original_file_path"]).parts
    if parts[1] == "marts":
        return "semantic" if parts[2] == "semantic" else "published"
    return parts[1]


AREAS = {"fulfilment", "finance", "marketing", "product", "customer", "data_quality"}
LAYER_TAGS = {"staging", "intermediate", "warehouse", "semantic"}


@pytest.mark.db
@pytest.mark.slow
def test_every_model_has_a_group_its_owner_and_an_area(built: Built) -> None:
    manifest = built.manifest()
    owners = {group["name"]: group["owner"]["email"] for group in manifest["groups"].values()}
    assert {"analytics_engineering", *AREAS - {"data_quality"}} <= set(owners)
    models = project_models(manifest)
    assert len(models) > 30
    for name, node in models.items():
        group = node["config"]["group"]
        assert group in owners, name
        assert node["config"]["meta"].get("owner") == owners[group], name
        assert set(node["tags"]) & (AREAS | LAYER_TAGS), name
    # A mart's area is its folder: `--select tag:product` finds every product mart.
    for name, node in models.items():
        folder = Path(node["original_file_path"]).parts[2:3]
        if name.startswith("mart_"):
            assert folder[0] in node["tags"], name
    for snapshot in (n for n in manifest["nodes"].values() if n["resource_type"] == "snapshot"):
        assert snapshot["config"]["meta"].get("owner"), snapshot["name"]
        assert set(snapshot["tags"]) & AREAS, snapshot["name"]


@pytest.mark.db
@pytest.mark.slow
def test_what_bi_reads_is_public_with_an_enforced_contract(built: Built) -> None:
    expected_access = {
        "staging": "private",
        "intermediate": "protected",
        "semantic": "protected",
        "published": "public",
    }
    for name, node in project_models(built.manifest()).items():
        assert node["access"] == expected_access[layer(node)], name
        enforced = node["contract"]["enforced"]
        assert enforced == (layer(node) == "published"), name
        if enforced:
            untyped = [c for c, column in node["columns"].items() if not column.get("data_type")]
            assert untyped == [], name
            # numeric without precision and scale would round silently (and dbt warns).
            naked = [
                c
                for c, column in node["columns"].items()
                if column["data_type"].replace(" ", "").lower() in ("numeric", "decimal")
            ]
            assert naked == [], name
    published = {
        relation
        for (relation,) in built.rows(
            "select table_name from information_schema.tables"
            " where table_schema in ('analytics_marts', 'analytics_warehouse')"
        )
    }
    models = project_models(built.manifest())
    public = {name for name, node in models.items() if node["access"] == "public"}
    assert published - {"time_spine_daily"} == public


@pytest.mark.db
@pytest.mark.slow
def test_a_test_is_off_on_postgresql_only_where_a_constraint_does_its_work(built: Built) -> None:
    # not_null tests disabled on PostgreSQL (the YAML anchor not_null_unless_enforced) sit
    # on a column whose enforced contract declares it not null: the table refuses the null.
    manifest = built.manifest()
    disabled = [node for [node] in manifest["disabled"].values() if node["resource_type"] == "test"]
    assert len(disabled) >= 40
    for test in disabled:
        assert test["test_metadata"]["name"] == "not_null", test["name"]
        model = manifest["nodes"][test["attached_node"]]
        assert model["contract"]["enforced"], test["name"]
        constraints = model["columns"][test["column_name"]]["constraints"]
        assert {"not_null", "primary_key"} & {c["type"] for c in constraints}, test["name"]


@pytest.mark.db
@pytest.mark.slow
def test_each_replace_from_model_has_the_index_its_lookups_use(built: Built) -> None:
    # The strategy deletes, and the night's tests read, each unit's rows from a point on:
    # one lookup per unit in an index on (unique_key, replace_from_column).
    models = project_models(built.manifest())
    replacing = {
        n: m for n, m in models.items() if m["config"].get("incremental_strategy") == "replace_from"
    }
    assert len(replacing) >= 10
    for name, node in replacing.items():
        config = node["config"]
        lookup = [config["unique_key"], config["replace_from_column"]]
        assert any(i["columns"][:2] == lookup for i in config.get("indexes") or []), name


@pytest.mark.db
@pytest.mark.slow
def test_snapshot_columns_are_described_as_in_their_mart(built: Built) -> None:
    manifest = built.manifest()
    models = project_models(manifest)
    snapshots = [n for n in manifest["nodes"].values() if n["resource_type"] == "snapshot"]
    assert len(snapshots) == 4
    for snapshot in snapshots:
        built_columns = {
            name
            for (name,) in built.rows(
                "select column_name from information_schema.columns where table_schema ="
                f" 'analytics_snapshots' and table_name = '{snapshot['name']}'"
            )
        }
        described = {c: col["description"] for c, col in snapshot["columns"].items()}
        assert built_columns == set(described), snapshot["name"]
        assert all(text.strip() for text in described.values()), snapshot["name"]
        mart = models[snapshot["name"].removeprefix("snap_")]
        for column, spec in mart["columns"].items():
            assert described[column] == spec["description"], (snapshot["name"], column)


def test_dashboard_exposures_link_to_a_dashboard_page() -> None:
    exposures = [
        exposure
        for path in REPO_ROOT.glob("models/marts/**/_exposures.yml")
        for exposure in yaml.safe_load(path.read_text())["exposures"]
    ]
    dashboards = [e for e in exposures if e["type"] == "dashboard"]
    assert len(dashboards) >= 5
    for exposure in dashboards:
        page = re.fullmatch(r"http://localhost:3001/([a-z-]+)/", exposure.get("url", ""))
        assert page and page.group(1) in dashboard.PAGES, exposure["name"]


def test_every_macro_is_documented_and_lateral_rows_takes_keywords() -> None:
    documented = {
        m["name"]: m
        for m in yaml.safe_load((REPO_ROOT / "macros/_macros.yml").read_text())["macros"]
    }
    sources = {path: path.read_text() for path in (REPO_ROOT / "macros").glob("*.sql")}
    defined = {name for text in sources.values() for name in re.findall(r"macro (\w+)\(", text)}
    assert defined - set(documented) == set()
    assert all(documented[name]["description"].strip() for name in defined)
    calls = 0
    for path in [*REPO_ROOT.glob("models/**/*.sql"), *REPO_ROOT.glob("macros/*.sql")]:
        for match in re.finditer(
            r"(?<!macro )\blateral_rows\((.*?)\)\s*\}\}", path.read_text(), re.S
        ):
            arguments = [a.strip() for a in match.group(1).split(",") if a.strip()]
            assert all(re.match(r"\w+\s*=", a) for a in arguments), (path, match.group(0))
            calls += 1
    assert calls >= 4


# -- the database: comments for BI tools, one clock -----------------------------------------


@pytest.mark.db
@pytest.mark.slow
def test_every_published_column_has_a_comment(built: Built) -> None:
    missing = built.rows(
        "select n.nspname, c.relname, a.attname from pg_attribute as a"
        " join pg_class as c on c.oid = a.attrelid"
        " join pg_namespace as n on n.oid = c.relnamespace"
        " left join pg_description as d on d.objoid = c.oid and d.objsubid = a.attnum"
        f" where n.nspname in {PUBLISHED_SCHEMAS} and c.relkind in ('r', 'v')"
        " and a.attnum > 0 and not a.attisdropped and coalesce(d.description, '') = ''"
    )
    assert missing == []
    relations = built.rows(
        "select c.relname, obj_description(c.oid, 'pg_class') from pg_class as c"
        " join pg_namespace as n on n.oid = c.relnamespace"
        f" where n.nspname in {PUBLISHED_SCHEMAS} and c.relkind in ('r', 'v')"
    )
    assert len(relations) >= 25
    assert [name for name, comment in relations if not comment] == []
    (comment,) = built.rows(
        "select col_description('analytics_marts.mart_weekly_discount'::regclass, 7)"
    )[0]
    assert comment.startswith("discount_amount / gross_amount")


@pytest.mark.db
@pytest.mark.slow
def test_a_run_rewrites_only_the_comments_that_differ(built: Built) -> None:
    # A COMMENT waits for an autovacuum of the table to be cancelled, so a run leaves
    # comments that agree with the docs alone (pg_description rows keep their xmin) and
    # writes those that differ: here made stale or removed by hand.
    relation = "analytics_warehouse.fct_orders"
    described = (
        "select objsubid, description, xmin::text from pg_description"
        f" where objoid = '{relation}'::regclass order by objsubid"
    )
    before = {subid: (text, xmin) for subid, text, xmin in built.rows(described)}
    assert len(before) > 4 and 0 in before and 1 in before and 2 in before
    with psycopg.connect(**built.conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
        (first, second) = (
            name
            for (name,) in conn.execute(
                f"select attname from pg_attribute where attrelid = '{relation}'::regclass"
                " and attnum in (1, 2) order by attnum"
            ).fetchall()
        )
        conn.execute(f"comment on table {relation} is 'stale'")
        conn.execute(f"comment on column {relation}.{first} is null")
        conn.execute(f"comment on column {relation}.{second} is 'stale'")
    dbt(built.env, built.target, "run", "--select", "fct_orders")
    after = {subid: (text, xmin) for subid, text, xmin in built.rows(described)}
    assert {subid: text for subid, (text, _) in after.items()} == {
        subid: text for subid, (text, _) in before.items()
    }
    rewritten = {subid for subid in after if after[subid][1] != before[subid][1]}
    assert rewritten == {0, 1, 2}


@pytest.mark.db
def test_the_server_and_every_role_run_in_utc(
    embedded_cluster: pg.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGTZ", raising=False)
    monkeypatch.delenv("TZ", raising=False)
    with psycopg.connect(**conninfo(embedded_cluster)) as conn:  # type: ignore[arg-type]
        settings = dict(
            conn.execute(
                "select name, setting || ' (' || source || ')' from pg_settings"
                " where name in ('TimeZone', 'log_timezone')"
            ).fetchall()
        )
        defaults = dict(
            conn.execute(
                "select r.rolname, s.setconfig from pg_db_role_setting as s"
                " join pg_roles as r on r.oid = s.setrole"
            ).fetchall()
        )
    # Set on the server's command line: the host's time zone (written into
    # postgresql.conf by initdb) does not count.
    assert settings == {"TimeZone": "UTC (command line)", "log_timezone": "UTC (command line)"}
    for name in roles.ROLES.values():
        assert "timezone=utc" in [item.lower() for item in defaults.get(name, [])], name


@pytest.mark.db
@pytest.mark.slow
def test_snapshots_stamp_utc_whatever_the_session_time_zone(built: Built) -> None:
    """The build ran with PGTZ=Pacific/Auckland (13 hours ahead of UTC in March)."""
    (stamped,) = built.rows(
        "select max(dbt_valid_from) from analytics_snapshots.snap_mart_weekly_discount"
    )[0]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert timedelta(0) <= now - stamped < timedelta(hours=1), (stamped, now)


# -- dbt docs in a browser -------------------------------------------------------------------


def visible(document: str) -> str:
    """The document without its scripts and styles (the docs site keeps templates there)."""
    return re.sub(r"<(script|style)\b.*?</\1>", " ", document, flags=re.S)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", visible(fragment))).split())


@pytest.fixture(scope="module")
def docs_site(built: Built) -> Iterator[str]:
    if CHROMIUM is None:
        pytest.skip("needs Chromium (.ci/run installs `chromium`)")
    # The build's target: its manifest is parsed and compiled already.
    dbt(built.env, built.target, "docs", "generate", "--no-compile")
    httpd = dashboard.server(built.target, pg.free_port())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.db
@pytest.mark.slow
def test_docs_open_on_the_overview(docs_site: str, tmp_path: Path) -> None:
    overview = (REPO_ROOT / "models/_overview__docs.md").read_text()
    heading = re.search(r"^# (.+)$", overview, re.M)
    assert heading
    document = page_dom(f"{docs_site}/", tmp_path)
    headings = [text_of(h) for h in re.findall(r"<h1[^>]*>(.*?)</h1>", visible(document), re.S)]
    assert headings[:1] == [heading.group(1)], headings
    text = text_of(document)
    assert "Welcome!" not in text
    for mart in ("mart_weekly_shipping_time", "mart_last_session_cart", "mart_weekly_discount"):
        assert mart in text


@pytest.mark.db
@pytest.mark.slow
def test_docs_list_a_marts_columns_with_their_descriptions(
    built: Built, docs_site: str, tmp_path: Path
) -> None:
    node = built.manifest()["nodes"]["model.webshop.mart_product_funnel_weekly"]
    catalog = json.loads((built.target / "catalog.json").read_text())
    types = {c: col["type"] for c, col in catalog["nodes"][node["unique_id"]]["columns"].items()}
    text = text_of(page_dom(f"{docs_site}/#!/model/{node['unique_id']}", tmp_path))
    assert "Contract Enforced" in text and "Access public" in text
    assert "Owner Product <product@xccelerated-shop.com>" in text
    assert len(node["columns"]) == 17
    for name, column in node["columns"].items():
        description = " ".join(column["description"].split())
        assert description
        assert f"{name} {types[name]} {description}" in text, name


# -- contracts: a change that would break a dashboard fails the build ------------------------


@pytest.mark.db
@pytest.mark.slow
def test_a_changed_column_type_or_name_in_a_public_mart_fails_the_build(built: Built) -> None:
    project = built.tmp / "changed-project"
    project.mkdir()
    for item in ("models", "macros", "snapshots", "tests", "analyses", "seeds"):
        shutil.copytree(REPO_ROOT / item, project / item)
    for item in ("dbt_project.yml", "packages.yml", "package-lock.yml"):
        shutil.copy(REPO_ROOT / item, project / item)
    (project / "dbt_packages").symlink_to(REPO_ROOT / "dbt_packages", target_is_directory=True)
    # The build's parse, so that dbt parses only the two changed files again.
    (project / "target").mkdir()
    shutil.copy(built.target / "partial_parse.msgpack", project / "target")

    def change(path: str, old: str, new: str) -> None:
        sql_file = project / path
        text = sql_file.read_text()
        assert text.count(old) == 1, path
        sql_file.write_text(text.replace(old, new))

    change(
        "models/marts/finance/mart_weekly_discount.sql",
        "cast(sum(gross_amount) as numeric(38, 2)) as gross_amount",
        "cast(sum(gross_amount) as double precision) as gross_amount",
    )
    change(
        "models/marts/fulfilment/mart_weekly_shipping_time.sql",
        "count(orders.shipped_at) as orders_shipped",
        "count(orders.shipped_at) as shipped_orders",
    )
    proc = subprocess.run(
        [
            DBT,
            "run",
            "--select",
            "mart_weekly_discount",
            "mart_weekly_shipping_time",
            "mart_signup_cohorts",
            "--target-path",
            str(project / "target"),
            "--log-path",
            str(built.tmp / "changed-logs"),
        ],
        cwd=project,
        env=built.env,
        capture_output=True,
        text=True,
    )
    out = proc.stdout
    assert proc.returncode == 1, out[-4000:]
    assert "PASS=" in out and "ERROR=2" in out, out[-4000:]
    assert re.search(r"OK created sql table model analytics_marts\.mart_signup_cohorts", out)
    assert out.count("This model has an enforced contract that failed.") == 2, out[-4000:]
    assert re.search(r"\| gross_amount\s*\| FLOAT\s*\| DECIMAL\s*\| data type mismatch", out)
    assert re.search(r"\| orders_shipped\s*\|\s*\| LONGINTEGER\s*\| missing in definition", out)
    assert re.search(r"\| shipped_orders\s*\| LONGINTEGER\s*\|\s*\| missing in contract", out)
    columns = dict(
        built.rows(
            "select table_name || '.' || column_name, data_type from information_schema.columns"
            " where table_schema = 'analytics_marts'"
            " and table_name in ('mart_weekly_discount', 'mart_weekly_shipping_time')"
        )
    )
    assert columns["mart_weekly_discount.gross_amount"] == "numeric"
    assert "mart_weekly_shipping_time.orders_shipped" in columns
    assert "mart_weekly_shipping_time.shipped_orders" not in columns


# -- one clock: MetricFlow and the marts agree in any session time zone ----------------------

ORDER_METRICS = ("orders", "revenue", "discount", "gross_amount")
FUNNEL_METRICS = ("sessions", "product_view_sessions", "add_to_cart_sessions", "order_sessions")
RATE = "view_to_order_rate"


def expected_weeks(built: Built) -> dict[date, dict[str, Decimal]]:
    """Per UTC week, computed here from the facts."""
    weeks: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for placed_at, cancelled_at, gross, discount in built.rows(
        "select placed_at, cancelled_at, gross_amount, discount_amount"
        " from analytics_warehouse.fct_orders"
    ):
        week = weeks[utc_week(placed_at)]
        week["orders"] += 1
        if cancelled_at is None:
            week["gross_amount"] += gross
            week["discount"] += discount
            week["revenue"] += gross - discount
    ordered = {
        session
        for (session,) in built.rows(
            "select session_id from analytics_warehouse.fct_funnel_orders"
            " where session_first_order_at is not null"
        )
    }
    for session, start, viewed, added in built.rows(
        "select session_id, session_start, first_product_view_at, first_cart_add_after_view_at"
        " from analytics_warehouse.fct_sessions"
    ):
        week = weeks[utc_week(start)]
        week["sessions"] += 1
        week["product_view_sessions"] += viewed is not None
        week["add_to_cart_sessions"] += added is not None
        week["order_sessions"] += session in ordered
    return weeks


def marts(built: Built) -> dict[date, dict[str, Decimal]]:
    weeks: dict[date, dict[str, Decimal]] = defaultdict(dict)
    for week, orders, gross, discount in built.rows(
        "select placed_week, orders_placed, gross_amount, discount_amount"
        " from analytics_marts.mart_weekly_discount"
    ):
        weeks[week] |= {
            "orders": Decimal(orders),
            "gross_amount": gross,
            "discount": discount,
            "revenue": gross - discount,
        }
    for week, *values in built.rows(
        f"select session_week, {', '.join(FUNNEL_METRICS)}, {RATE}"
        " from analytics_marts.mart_product_funnel_weekly"
    ):
        weeks[week] |= dict(zip((*FUNNEL_METRICS, RATE), map(Decimal, values), strict=True))
    return weeks


def mf_query(built: Built, time_zone: str) -> dict[date, dict[str, Decimal]]:
    if not MF.exists():
        pytest.fail("MetricFlow is not installed: run `make metricflow` (make test does)")
    # mf reads target/semantic_manifest.json under the project directory it is given.
    project = built.tmp / "mf-project"
    (project / "target").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "dbt_project.yml", project / "dbt_project.yml")
    shutil.copy(built.target / "semantic_manifest.json", project / "target")
    output = built.tmp / f"mf-{time_zone.replace('/', '-')}.csv"
    metrics = (*ORDER_METRICS, *FUNNEL_METRICS, RATE)
    env = built.env | {
        "PGTZ": time_zone,
        "DBT_PROJECT_DIR": str(project),
        "DBT_USER": roles.ROLES["analyst"],
    }
    proc = subprocess.run(
        [
            str(MF),
            "query",
            "--metrics",
            ",".join(metrics),
            "--group-by",
            "metric_time__week",
            "--csv",
            str(output),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    weeks: dict[date, dict[str, Decimal]] = {}
    with output.open() as rows:
        for row in csv.DictReader(rows):
            week = date.fromisoformat(row.pop("metric_time__week")[:10])
            weeks[week] = {name: Decimal(value or "0") for name, value in row.items()}
    return weeks


def test_the_hand_made_order_changes_week_with_the_time_zone() -> None:
    """What makes the comparisons below able to fail: in Auckland that order is a week later."""
    placed = SUNDAY_EVENING + timedelta(minutes=2)
    assert utc_week(placed) == date(2026, 3, 2)
    assert monday(placed.astimezone(ZoneInfo(AUCKLAND)).date()) == date(2026, 3, 9)


@pytest.mark.db
@pytest.mark.slow
@pytest.mark.parametrize("time_zone", ["UTC", AUCKLAND])
def test_metricflow_and_the_marts_give_the_same_weeks(built: Built, time_zone: str) -> None:
    expected = expected_weeks(built)
    assert sorted(expected) == [START + timedelta(weeks=n) for n in range(DAYS // 7)]
    (hand_made,) = built.rows(
        "select o.placed_date, f.session_first_order_at is not null"
        " from analytics_warehouse.fct_orders as o"
        " left join analytics_warehouse.fct_funnel_orders as f on f.session_id = o.session_id"
        f" where o.order_id = {ORDER}"
    )
    assert hand_made == (date(2026, 3, 8), True)  # a Sunday (UTC), through the whole funnel

    from_marts = marts(built)
    from_mf = mf_query(built, time_zone)
    assert sorted(from_marts) == sorted(expected) == sorted(from_mf)
    for week, values in expected.items():
        for metric in (*ORDER_METRICS, *FUNNEL_METRICS):
            assert from_marts[week][metric] == values[metric], (week, metric)
            assert from_mf[week][metric] == values[metric], (week, metric, time_zone)
        rate = values["order_sessions"] / values["product_view_sessions"]
        assert from_marts[week][RATE] == rate.quantize(Decimal("0.0001"), ROUND_HALF_UP), week
        assert abs(from_mf[week][RATE] - rate) < Decimal("1e-9"), (week, time_zone)
