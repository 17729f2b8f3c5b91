"""No console page shows an internal name: every page, rendered over HTTP for a signed-in
federation admin on the demo federation, has no enum value, snake_case identifier or dotted /
indexed field path in its visible text; nor do the error messages of the forms people fill in.

The pages are found by following the console's own links from the dashboard (one or two of
each kind), after an import with row errors has run; the test then checks that every GET page
route of the console was reached, so a new page is covered without editing this file.
"""

from __future__ import annotations

import io
import re
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.jobs.kinds import all_handlers, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.settings import Settings
from tests.conftest import make_test_settings
from tests.support.activities import org_id, publish
from tests.support.apps import app_for
from tests.support.console import resident_id
from tests.support.front import Front
from tests.support.staff import login
from tests.support.visible import enum_values, raw_names, visible_text

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HREF = re.compile(r'href="(/console[^"#]*)"')
NOT_PAGES = ("/console/logout", "/console/login", "/console/dashboard.json")
PER_KIND = 2
# A terminal key's public prefix is data shown to identify the key, not a name.
KEY_PREFIX = re.compile(r"'uck_[a-z0-9]{8}'")
# Fragments polled or fetched by a page (checked through the page that includes them), and
# file downloads.
FRAGMENT_ROUTES = {
    "/console/reconciliation/card",
    "/console/settlements/{id}/export",
    "/console/login",
    "/console/dashboard.json",
    "/console/founding/coverage.json",
    "/console/activities/report.json",
    "/console/reports/vouchers.json",
    "/console/roster/{id}/progress",
    "/console/programmes/pick/{id}",
}


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return replace(make_test_settings(db_url, var_dir), job_runner=False)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    return app_for(settings)


@pytest.fixture
async def client(app: Litestar) -> Any:
    async with AsyncTestClient(app) as c:
        yield c


def kind_of(path: str) -> str:
    """``/console/members/<uuid>?x=1`` → ``/console/members/{id}``."""
    return UUID.sub("{id}", path.split("?", 1)[0]).rstrip("/") or "/console"


def allowed_words(demo: dict[str, Any]) -> frozenset[str]:
    """Data that looks like a name but is data: the staff usernames."""
    return frozenset(s["username"] for s in demo["staff"])


async def import_with_errors(client: AsyncTestClient[Litestar], engine: AsyncEngine) -> None:
    header = "姓名,身份证号,手机号,所属工会编码,就业形态,工作单位,岗位,会员类别,困难等级,入会日期"
    good = f"导入甲,{resident_id('42050219880303101')},13700000001,XL-JIDIAN,,,,,,"
    bad = "错号丁,420502199001011234,13700000004,XL-JIDIAN,,,,,,"
    body = "\n".join([header, good, bad, bad.replace("丁", "戊")]) + "\n"
    resp = await client.post(
        "/api/v1/roster/imports",
        files={"file": ("errors.csv", io.BytesIO(body.encode()))},
        data={"dry_run": "false"},
    )
    assert resp.status_code in (200, 201, 202), resp.text


async def invite_page(client: AsyncTestClient[Litestar]) -> str:
    """A union's invite page with one link on it (its poster is a page too)."""
    orgs = await client.get("/api/v1/orgs", params={"q": "XL-JIDIAN"})
    org_id = orgs.json()["items"][0]["id"]
    made = await client.post(f"/api/v1/orgs/{org_id}/invites", json={"label": "车间海报"})
    assert made.status_code == 201, made.text
    return f"/console/invites?org_id={org_id}"


async def founding_application(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    """A founding application filed on a phone: the review queue links to it."""
    async with Front(app, client).as_member("13971000021") as phone:
        made = await phone.post(
            "/api/v1/me/founding-applications",
            json={
                "kind": "found",
                "applicant_type": "employer",
                "contact_name": "陈建华",
                "enterprise_name": "宜昌峡光精密制造有限公司",
                "credit_code": "91350100M000100Y43",
                "address": "宜昌市西陵区东湖大道 18 号",
                "region_code": "420502",
                "headcount": 30,
                "union_name": "宜昌峡光精密制造有限公司工会",
                "founders": [{"name": "陈建华", "phone": "13971000001"}],
            },
        )
        assert made.status_code == 201, made.text


async def crawl(
    client: AsyncTestClient[Litestar], allowed: frozenset[str], *also: str
) -> dict[str, list[str]]:
    """Visit the console by its links (and ``also``); the raw names found on each page, by
    page kind."""
    seen: set[str] = set()
    per_kind: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    todo = deque(["/console", *also])
    while todo:
        path = todo.popleft()
        kind = kind_of(path)
        if path in seen or per_kind.get(kind, 0) >= PER_KIND:
            continue
        seen.add(path)
        per_kind[kind] = per_kind.get(kind, 0) + 1
        resp = await client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        if not resp.headers.get("content-type", "").startswith("text/html"):
            continue  # a download linked from a page
        found.setdefault(kind, []).extend(
            f"{path}: {r}"
            for r in raw_names(visible_text(resp.text), allowed)
            if not KEY_PREFIX.match(r)
        )
        for link in HREF.findall(resp.text):
            link = link.replace("&amp;", "&")
            if not link.startswith(NOT_PAGES) and link not in seen:
                todo.append(link)
    return found


def console_page_routes(app: Litestar) -> set[str]:
    routes = set()
    for route in app.routes:
        if route.path.startswith("/console") and "GET" in getattr(route, "methods", set()):
            routes.add(re.sub(r"\{[^}]+\}", "{id}", route.path).rstrip("/") or "/console")
    return routes - FRAGMENT_ROUTES


async def test_no_console_page_shows_an_internal_name(
    client: AsyncTestClient[Litestar],
    app: Litestar,
    engine: AsyncEngine,
    settings: Settings,
    demo: dict[str, Any],
) -> None:
    await login(client, "admin")
    await import_with_errors(client, engine)
    runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    while await runner.run_once():
        pass
    await founding_application(client, app)
    root = await org_id(client, "HB")
    await publish(client, root, kind="training", training_minutes=120)  # its pages are reached
    found = await crawl(client, allowed_words(demo), await invite_page(client))
    missing = {r for r in console_page_routes(app) if r.replace("{id}", "") and r not in found}
    assert not missing, f"console pages the crawl never reached: {sorted(missing)}"
    problems = [p for ps in found.values() for p in ps]
    assert not problems, "\n".join(problems)


async def test_form_errors_name_fields_in_words(
    client: AsyncTestClient[Litestar], demo: dict[str, Any]
) -> None:
    """A refused form says which field in Chinese, not ``outcome:`` or ``limits[0].limit``."""
    await login(client, "admin")
    resp = await client.get("/console/service?tab=all")
    ids = sorted(set(UUID.findall(resp.text)))
    assert ids, "the demo has service requests"
    outcomes = []
    for rid in ids:  # an empty outcome on one in progress, a wrong step on the others
        resolve = await client.post(
            f"/console/service/{rid}/resolve", data={"outcome": ""}, headers={"hx-request": "true"}
        )
        assert resolve.status_code >= 400, resolve.text
        text = visible_text(resolve.text)
        assert not raw_names(text), (text, raw_names(text))
        outcomes.append(text)
    assert any("办理结果" in o and "不能为空" in o for o in outcomes), outcomes
    assert any("该申请待受理，不能办结" in o for o in outcomes), outcomes
    for kind, q in (("org", "西陵"), ("merchant", "驿家"), ("store", "驿家")):
        picked = await client.get(f"/console/programmes/pick/{kind}", params={"q": q})
        text = visible_text(picked.text)
        assert text and not raw_names(text), (kind, text)


@pytest.mark.only_on("sqlite")
def test_the_scanner_catches_what_the_issue_found() -> None:
    """The checks above can fail: each internal name the console used to show is caught."""
    assert {"in_app", "active", "model_worker"} <= enum_values()
    for html in (
        "<p>状态 active</p>",
        "<dd>in_app</dd>",
        '<li><span class="field">limits[0].limit</span>必须大于 0</li>',
        "<li>valid_until: 不能早于开始日期</li>",
        "<span>劳模 model_worker</span>",
        "<p>已处理 3 行 · importing</p>",
        '<input placeholder="budget_fen">',
    ):
        assert raw_names(visible_text(html)), html
    text = visible_text("<p>导入 xl-roster.csv · 张伟 xl.admin</p>")
    assert not raw_names(text, frozenset({"xl.admin"}))
    assert not raw_names(visible_text("<script>var a_b = x.y;</script><p>正常</p>"))
