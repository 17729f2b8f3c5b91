"""Who gets an error page and who gets problem details, for errors no page controller handles
(unknown paths, methods a path does not take): the pages' areas and browsers get HTML in
their language with a way back; the API and API clients keep ``application/problem+json``."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.only_on("sqlite")

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PROBLEM = "application/problem+json"


async def test_a_browser_on_an_unknown_address_gets_a_page(
    client: AsyncTestClient[Litestar],
) -> None:
    resp = await client.get("/no/such/place", headers=BROWSER)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in resp.text and "找不到这个页面" in resp.text
    assert 'class="button" href="/"' in resp.text
    assert resp.headers["x-request-id"] in resp.text  # quoted for support

    english = await client.get("/no/such/place?lang=en", headers=BROWSER)
    assert english.status_code == 404
    assert '<html lang="en">' in english.text and "This page does not exist" in english.text


@pytest.mark.parametrize(
    ("path", "home"),
    [("/m/no-such-page", "/m"), ("/shop/x/y", "/shop"), ("/console/nowhere", "/console")],
)
async def test_page_areas_answer_with_pages_whatever_the_client_accepts(
    client: AsyncTestClient[Litestar], path: str, home: str
) -> None:
    resp = await client.get(path, headers={"accept": "application/json"})
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")
    assert f'class="button" href="{home}"' in resp.text


async def test_a_method_a_page_does_not_take_is_a_page_with_allow(
    client: AsyncTestClient[Litestar],
) -> None:
    resp = await client.delete("/m/card", headers=BROWSER)
    assert resp.status_code == 405
    assert resp.headers["content-type"].startswith("text/html")
    assert "这个页面不能这样打开" in resp.text and "请通过页面上的链接和按钮进入。" in resp.text
    assert "GET" in resp.headers["allow"]


async def test_htmx_gets_the_message_fragment(client: AsyncTestClient[Litestar]) -> None:
    resp = await client.get("/console/nowhere", headers={"hx-request": "true"})
    assert resp.status_code == 404
    assert resp.headers["hx-retarget"] == "#flash"
    assert 'data-code="not_found"' in resp.text and "<html" not in resp.text


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("GET", "/api/v1/no-such-thing", BROWSER, 404, "not_found"),
        ("GET", "/api/v1/orgs", BROWSER, 401, "unauthorized"),
        ("DELETE", "/api/v1/orgs", BROWSER, 405, "method_not_allowed"),
        ("GET", "/no/such/place", {}, 404, "not_found"),
        ("GET", "/no/such/place", {"accept": "application/json"}, 404, "not_found"),
        ("GET", "/no/such/place", {"accept": PROBLEM}, 404, "not_found"),
    ],
    ids=["api 404", "api 401", "api 405", "no accept", "json", "problem json"],
)
async def test_api_clients_keep_problem_details(
    client: AsyncTestClient[Litestar],
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    resp = await client.request(method, path, headers=headers)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert (body["status"], body["code"], body["instance"]) == (status, code, path)
    assert body["type"] == f"urn:unioncard:problem:{code}"
    assert body["request_id"] == resp.headers["x-request-id"]


async def test_signed_out_console_page_still_goes_to_sign_in(
    client: AsyncTestClient[Litestar],
) -> None:
    resp = await client.get("/console/members", headers=BROWSER, follow_redirects=False)
    assert resp.status_code in (302, 303, 307)
    assert resp.headers["location"].startswith("/console/login?next=")
