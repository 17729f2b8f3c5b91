"""Every error is RFC 9457 problem details with a stable ``code``; request ids are echoed."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.support.staff import login

PROBLEM = "application/problem+json"


def problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"] == f"urn:unioncard:problem:{code}"
    assert body["title"] and body["detail"] and body["message_zh"] and body["message_en"]
    return body


async def test_unknown_route_is_404_problem(client: AsyncTestClient) -> None:
    resp = await client.get("/api/v1/no-such-thing")
    body = problem(resp, 404, "not_found")
    assert body["instance"] == "/api/v1/no-such-thing"
    assert body["message_zh"] == "未找到" and body["message_en"] == "Not found"


async def test_unknown_id_and_malformed_id_are_404(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "admin")
    problem(
        await client.get("/api/v1/members/01912345-6789-7abc-8def-0123456789ab"),
        404,
        "member_not_found",
    )
    # A path segment that is not a UUID matches no route.
    problem(await client.get("/api/v1/members/not-a-uuid"), 404, "not_found")


async def test_wrong_method_is_405_problem(client: AsyncTestClient) -> None:
    resp = await client.put("/health/live")
    problem(resp, 405, "method_not_allowed")


async def test_not_signed_in_is_401_problem(client: AsyncTestClient) -> None:
    for method, url in (
        ("GET", "/api/v1/members"),
        ("POST", "/api/v1/orgs"),
        ("GET", "/api/v1/audit"),
    ):
        problem(await client.request(method, url, json={}), 401, "unauthorized")


MALFORMED = [b"{not json", b'{"username": "admin", "password": ', b"\xff\xfe"]


@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_json_is_400_problem(client: AsyncTestClient, body: bytes) -> None:
    resp = await client.post(
        "/api/v1/staff/session", content=body, headers={"content-type": "application/json"}
    )
    problem(resp, 400, "malformed_body")


@pytest.mark.parametrize("body", MALFORMED[:1])
async def test_malformed_json_names_the_body(client: AsyncTestClient, body: bytes) -> None:
    resp = await client.post(
        "/api/v1/staff/session", content=body, headers={"content-type": "application/json"}
    )
    assert problem(resp, 400, "malformed_body")["errors"][0]["field"] == "body"


@pytest.mark.parametrize("body", [b"[1, 2]", b"null", b'{"username": 5, "password": "x"}'])
async def test_json_of_the_wrong_shape_is_a_validation_error(
    client: AsyncTestClient, body: bytes
) -> None:
    resp = await client.post(
        "/api/v1/staff/session", content=body, headers={"content-type": "application/json"}
    )
    assert problem(resp, 400, "validation_error")["errors"][0]["field"]


async def test_malformed_json_on_an_authenticated_mutation(
    client: AsyncTestClient, demo: Any
) -> None:
    await login(client, "admin")
    resp = await client.post(
        "/api/v1/orgs", content=b'{"code": "X', headers={"content-type": "application/json"}
    )
    problem(resp, 400, "malformed_body")


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/orgs", {"limit": "ten"}, "limit"),
        ("/api/v1/orgs", {"offset": "1.5"}, "offset"),
        ("/api/v1/orgs", {"level": "galactic"}, "level"),
        ("/api/v1/orgs", {"parent_id": "not-a-uuid"}, "parent_id"),
        ("/api/v1/members", {"status": "zombie"}, "status"),
        ("/api/v1/members", {"org_id": "123"}, "org_id"),
        ("/api/v1/audit", {"since": "yesterday"}, "since"),
    ],
)
async def test_wrong_query_param_type_names_the_field(
    client: AsyncTestClient, demo: Any, url: str, params: dict[str, str], field: str
) -> None:
    await login(client, "admin")
    resp = await client.get(url, params=params)
    assert resp.status_code == 400, resp.text
    body = problem(resp, 400, "validation_error")
    assert body["errors"][0]["field"] == field
    assert field in body["message_en"]


async def test_wrong_body_field_type_names_the_field(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "admin")
    resp = await client.post(
        "/api/v1/orgs",
        json={"code": "AB-CD", "name": "测试", "level": "grassroots", "parent_id": 42},
    )
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert body["code"] == "validation_error"
    assert "parent_id" in body["errors"][0]["field"]


async def test_request_id_is_echoed(client: AsyncTestClient) -> None:
    resp = await client.get("/health/live", headers={"x-request-id": "trace-abc-123"})
    assert resp.headers["x-request-id"] == "trace-abc-123"
    # Also on errors, in the header and the problem body.
    resp = await client.get("/api/v1/members", headers={"x-request-id": "trace-err-456"})
    assert resp.status_code == 401
    assert resp.headers["x-request-id"] == "trace-err-456"
    assert resp.json()["request_id"] == "trace-err-456"


@pytest.mark.parametrize(("method", "url"), [("GET", "/nope"), ("PUT", "/health/live")])
async def test_request_id_is_echoed_on_routing_errors(
    client: AsyncTestClient, method: str, url: str
) -> None:
    resp = await client.request(method, url, headers={"x-request-id": "trace-err-789"})
    assert resp.status_code in (404, 405)
    assert resp.headers.get("x-request-id") == "trace-err-789"
    assert resp.json().get("request_id") == "trace-err-789"


async def test_request_id_is_generated_when_missing_or_unsafe(client: AsyncTestClient) -> None:
    first = (await client.get("/health/live")).headers["x-request-id"]
    second = (await client.get("/health/live")).headers["x-request-id"]
    assert first and second and first != second
    too_long = "x" * 65
    resp = await client.get("/health/live", headers={"x-request-id": too_long})
    assert resp.headers["x-request-id"] not in ("", too_long)


async def test_english_on_request(client: AsyncTestClient) -> None:
    resp = await client.get("/nope", headers={"accept-language": "en-GB,en;q=0.9"})
    body = problem(resp, 404, "not_found")
    assert body["title"] == "Not found"
    resp = await client.get("/nope")
    assert problem(resp, 404, "not_found")["title"] == "未找到"
