"""The served ``/schema/openapi.json`` as integrators consume it, and the contract checker that
every API test's client runs (tests/support/contract.py) — shown to fail where it must."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.support.contract import ContractChecker, ContractViolation

Client = AsyncTestClient[Litestar]

TERMINAL_OPS = {
    ("post", "/api/v1/scans"): "scan",
    ("post", "/api/v1/redemptions"): "redeem",
    ("post", "/api/v1/redemptions/{redemption_id}/reversal"): "reverseRedemption",
    ("get", "/api/v1/redemptions"): "listRedemptions",
    ("post", "/api/v1/voucher-redemptions"): "redeemVoucher",
    ("post", "/api/v1/voucher-redemptions/{use_id}/reversal"): "reverseVoucherRedemption",
    ("get", "/api/v1/voucher-redemptions"): "listVoucherRedemptions",
    ("get", "/api/v1/settlements/{month}"): "getSettlement",
    ("get", "/api/v1/terminal"): "getTerminal",
}


async def served(client: Client) -> dict[str, Any]:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


async def test_the_document_is_valid_openapi_31_with_unique_names(client: Client) -> None:
    doc = await served(client)
    errors = [e.message for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    titles = Counter(s.get("title", k) for k, s in doc["components"]["schemas"].items())
    assert [t for t, n in titles.items() if n > 1] == []
    assert {"Problem", "TerminalCardOut", "TerminalMemberOut", "ScanOut"} <= set(titles)
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    assert all(len(i) <= 48 and "_" not in i for i in ids), [i for i in ids if len(i) > 48]


async def test_terminal_operations_document_every_answer(client: Client) -> None:
    doc = await served(client)
    for (method, path), op_id in TERMINAL_OPS.items():
        op = doc["paths"][path][method]
        assert op["operationId"] == op_id and op["tags"] == ["merchant API"]
        responses = op["responses"]
        assert {"400", "401", "403", "429", "500", "503"} <= set(responses), path
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                content = response["content"]["application/problem+json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
                assert content["examples"], (path, status)
        assert responses["401"]["headers"]["WWW-Authenticate"]
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        assert responses["503"]["headers"]["Retry-After"]
    codes_500 = doc["paths"]["/api/v1/scans"]["post"]["responses"]["500"]["content"]
    assert "internal_error" in codes_500["application/problem+json"]["examples"]
    codes_503 = doc["paths"]["/api/v1/scans"]["post"]["responses"]["503"]["content"]
    assert "database_unavailable" in codes_503["application/problem+json"]["examples"]
    redeem = doc["paths"]["/api/v1/redemptions"]["post"]
    assert redeem["responses"]["200"]["headers"]["Idempotent-Replayed"]["required"] is True
    [key] = [p for p in redeem["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True
    assert key["schema"]["type"] == "string" and key["schema"]["maxLength"] == 128
    assert "oneOf" not in key["schema"] and key["schema"]["pattern"]
    settlement = doc["paths"]["/api/v1/settlements/{month}"]["get"]["responses"]["200"]
    assert set(settlement["content"]) == {"application/json", "text/csv"}
    problem = doc["components"]["schemas"]["Problem"]["properties"]
    assert {"errors", "retry_after", "limit", "limit_scope", "reasons", "program"} <= set(problem)
    assert {"program_ids", "idempotency_key", "redemption_id", "month"} <= set(problem)
    settlement_out = doc["components"]["schemas"]["SettlementOut"]
    assert {"currency", "lines", "totals"} <= set(settlement_out["required"])
    scan_in = doc["components"]["schemas"]["ScanIn"]["properties"]["amount_fen"]
    assert 0 in [s.get("minimum") for s in scan_in.get("oneOf", [scan_in])]


def _response(
    status: int, body: Any, *, path: str = "/api/v1/terminal", **headers: str
) -> httpx.Response:
    request = httpx.Request("GET", f"http://testserver.local{path}")
    media = "application/json" if status < 400 else "application/problem+json"
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": media, **headers},
        request=request,
    )


@pytest.fixture
async def checker(client: Client) -> ContractChecker:
    return ContractChecker(await served(client))


async def test_the_checker_fails_on_what_the_document_does_not_declare(
    client: Client, checker: ContractChecker
) -> None:
    me = {
        "terminal_id": "01961a2b-0000-7000-8000-000000000001",
        "terminal_name": "1 号收银台",
        "store_id": "01961a2b-0000-7000-8000-000000000002",
        "store_name": "解放路店",
        "region": "420502",
        "merchant_id": "01961a2b-0000-7000-8000-000000000003",
        "merchant_name": "测试面馆",
        "category": "dining",
        "key_prefix": "uc_live_abcd",
    }
    problem = {
        "type": "urn:unioncard:problem:rate_limited",
        "title": "请求过于频繁",
        "status": 429,
        "code": "rate_limited",
        "detail": "请求过于频繁",
        "message_zh": "请求过于频繁",
        "message_en": "Too many requests",
        "instance": "/api/v1/terminal",
        "request_id": "3f9c0a7e5b1d2c44",
        "retry_after": 3,
    }
    checker.check(_response(200, me))  # as documented
    checker.check(_response(429, problem, **{"Retry-After": "3"}))
    checker.check(_response(404, {}, path="/no/such/route"))  # not an operation: not checked
    wrong = [
        _response(418, problem),  # a status the route does not declare
        _response(200, {**me, "secret": "x"}),  # a field its schema does not name
        _response(200, {k: v for k, v in me.items() if k != "store_id"}),  # a required one gone
        _response(200, me, **{"X-Undocumented": "1"}),  # a header not declared
        _response(429, problem),  # a declared required header missing (Retry-After)
        _response(429, {**problem, "surprise": 1}, **{"Retry-After": "3"}),
        _response(429, {**problem, "code": "slow_down"}, **{"Retry-After": "3"}),  # a new code
    ]
    for response in wrong:
        with pytest.raises(ContractViolation):
            checker.check(response)
    csv = httpx.Response(
        200,
        content=b"a,b\r\n",
        headers={"content-type": "text/csv"},
        request=httpx.Request("GET", "http://testserver.local/api/v1/terminal"),
    )
    with pytest.raises(ContractViolation):  # a media type the operation does not offer
        checker.check(csv)


@pytest.mark.off_contract
async def test_the_suite_client_checks_every_response(client: Client) -> None:
    """The fixture's hook is what makes the API tests contract tests: with it, an undeclared
    answer fails the request itself."""
    from tests.support.contract import attach

    doc = await served(client)
    doc["paths"]["/api/v1/terminal"]["get"]["responses"].pop("401")
    attach(client, ContractChecker(doc))
    with pytest.raises(ContractViolation, match="401"):
        await client.get("/api/v1/terminal")  # no key: 401, now undocumented
