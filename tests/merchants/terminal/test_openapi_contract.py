"""OpenAPI contract test (schemathesis): requests generated from the served schema for the scan /
redeem / reverse / list / settlement endpoints get no 5xx and no response that contradicts the
schema (body shape of every documented status, content type)."""

from __future__ import annotations

import random
import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from litestar.testing import AsyncTestClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response as StResponse
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.support.pos import Pos, pos_fixture  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]
OPERATIONS = [
    ("POST", "/api/v1/scans"),
    ("POST", "/api/v1/redemptions"),
    ("POST", "/api/v1/redemptions/{redemption_id}/reversal"),
    ("GET", "/api/v1/redemptions"),
    ("GET", "/api/v1/settlements/{month}"),
]
EXAMPLES_PER_OPERATION = 40


def _cases(schema: Any, method: str, path: str) -> list[Any]:
    found: list[Any] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(schema[path][method].as_strategy())
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found


async def test_no_server_error_and_no_schema_violation(
    client: Client, app: Litestar, pos: Pos
) -> None:
    prog = await pos.program("DINE10")
    t = pos.terminal()
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    rnd = random.Random(7)
    redemption_ids: list[str] = []
    failures: list[str] = []
    sent = 0
    for method, path in OPERATIONS:
        for case in _cases(schema, method, path):
            # Half the generated bodies get a real code and programme, so that the success and
            # refusal paths are exercised too, not only request validation.
            if isinstance(case.body, dict) and "code" in case.body and rnd.random() < 0.5:
                case.body["code"] = await pos.code(pos.member_cycle())
                if path == "/api/v1/redemptions":  # one real programme, a fresh bill
                    case.body.pop("program_ids", None)
                    case.body["program_id"] = str(prog.id)
                    if "bill_ref" in case.body:
                        case.body["bill_ref"] = uuid.uuid4().hex
            params = case.path_parameters or {}
            if "redemption_id" in params and redemption_ids and rnd.random() < 0.5:
                params["redemption_id"] = rnd.choice(redemption_ids)
            kwargs = case.as_transport_kwargs(base_url="http://testserver.local")
            headers = {
                k: v
                for k, v in kwargs["headers"].items()
                if isinstance(v, str) and v.isascii() and "\n" not in v
            }
            headers["Authorization"] = f"Bearer {t['key']}"
            r = await client.request(
                kwargs["method"],
                kwargs["url"],
                headers=headers,
                params=kwargs.get("params"),
                json=kwargs.get("json"),
            )
            sent += 1
            if r.status_code == 201 and path == "/api/v1/redemptions":
                redemption_ids.append(r.json()["id"])
            for check in (
                not_a_server_error,
                response_schema_conformance,
                content_type_conformance,
            ):
                try:
                    case.validate_response(StResponse.from_any(r), checks=[check])
                except Exception as exc:
                    failures.append(f"{method} {path} → {r.status_code} {r.text[:300]}: {exc}")
    assert sent >= len(OPERATIONS) * 10
    assert redemption_ids, "no generated redemption succeeded: the success path was not exercised"
    assert not failures, "\n".join(failures[:10])
