"""OpenAPI contract test over the whole API (schemathesis): every operation of the served schema,
called as the caller it is meant for (staff cookie + CSRF, member cookie, terminal key, or no
one), gets no 5xx and no response that contradicts the schema (body shape, content type).

Half the path parameters are real ids of the demo federation, so that handlers run past "not
found"; the run is bounded (``EXAMPLES_PER_OPERATION``) to stay within a few minutes.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response as StResponse
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.security.conftest import (
    Caller,
    Client,
    member_caller,
    staff_caller,
    terminal_caller,
)
from tests.security.harvest import harvest

EXAMPLES_PER_OPERATION = 12
TERMINAL_PATHS = ("/api/v1/scans", "/api/v1/redemptions", "/api/v1/settlements", "/api/v1/terminal")
ANONYMOUS_PATHS = ("/health", "/.well-known", "/api/v1/cards/revocations", "/api/v1/join")
# Run last: they end the caller's session or membership (re-signed in afterwards).
LAST = ("/api/v1/me/leave", "/api/v1/staff/session", "/api/v1/me/session")


def caller_kind(path: str) -> str:
    if path.startswith(TERMINAL_PATHS) and not path.startswith("/api/v1/terminals"):
        return "terminal"
    if path.startswith(ANONYMOUS_PATHS):
        return "anonymous"
    if path == "/api/v1/me" or path.startswith("/api/v1/me/"):
        return "member"
    return "staff"


def _cases(operation: Any) -> list[Any]:
    found: list[Any] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(operation.as_strategy())
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found


def operations(app: Litestar) -> list[Any]:
    schema = schemathesis.openapi.from_dict(app.openapi_schema.to_schema())
    ops = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an Err: the schema has an invalid operation
        ops.append(result.ok())
    return sorted(ops, key=lambda op: (op.path.startswith(LAST), op.path, op.method))


def _summary(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:400]


def _file_part(part: tuple[str, tuple[Any, ...]]) -> tuple[str, tuple[Any, ...]]:
    """A multipart part whose content is a generated number or object becomes its text."""
    name, (filename, content, *rest) = part
    if not isinstance(content, str | bytes):
        content = json.dumps(content)
    return name, (filename, content, *rest)


def _sane_headers(headers: dict[str, Any]) -> dict[str, str]:
    return {
        k: v
        for k, v in headers.items()
        if isinstance(v, str) and v.isascii() and "\n" not in v and "\r" not in v
    }


async def test_whole_api_no_server_error_and_no_schema_violation(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    rnd = random.Random(2026)
    # Generated calls to /me/otp share the test client's address with our own sign-ins.
    app.state.otp_policy = replace(app.state.otp_policy, per_ip_hour=10_000)
    staff = await staff_caller(client, "admin")
    phones = iter([c["phone"] for c in demo["cards"] if c["phone"]])
    phone = next(phones)
    callers: dict[str, Caller] = {
        "staff": staff,
        "member": await member_caller(client, app, phone),
        "terminal": terminal_caller(demo["terminals"][0]),
        "anonymous": Caller("anonymous"),
    }
    pool = harvest_ids = await harvest(client, staff)
    assert {"org_id", "member_id", "merchant_id", "program_id", "card_id"} <= set(harvest_ids)
    failures: list[str] = []
    sent = 0
    for op in operations(app):
        kind = caller_kind(op.path)
        for case in _cases(op):
            params = case.path_parameters or {}
            for name in params:
                if name in pool and rnd.random() < 0.5:
                    params[name] = rnd.choice(pool[name])
            if isinstance(case.body, dict):
                for name in list(case.body):
                    if name in pool and rnd.random() < 0.5:
                        case.body[name] = rnd.choice(pool[name])
            kwargs = case.as_transport_kwargs(base_url="http://testserver.local")
            headers = _sane_headers(kwargs.get("headers", {}))
            # The caller's own credentials replace whatever was generated for them.
            for k in [
                k for k in headers if k.lower() in {"cookie", "authorization", "x-csrf-token"}
            ]:
                del headers[k]
            headers.update(callers[kind].headers())
            client.cookies.clear()
            request = {
                k: kwargs[k] for k in ("params", "json", "data", "files", "content") if k in kwargs
            }
            if "files" in request:
                request["files"] = [_file_part(part) for part in request["files"]]
            r = await client.request(kwargs["method"], kwargs["url"], headers=headers, **request)
            sent += 1
            await r.request.aread()  # multipart bodies stream; the checks read the request
            for check in (
                not_a_server_error,
                response_schema_conformance,
                content_type_conformance,
            ):
                try:
                    case.validate_response(StResponse.from_any(r), checks=[check])
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(
                        f"{case.method} {op.path} as {kind} → {r.status_code} {r.text[:300]}: "
                        f"{_summary(exc)}"
                    )
            # Signing out (or leaving) must not starve the operations after it.
            if op.path in LAST and r.status_code < 300:
                if kind == "staff" or op.path == "/api/v1/staff/session":
                    callers["staff"] = staff = await staff_caller(client, "admin")
                else:
                    # Another member: a phone may be sent one code a minute.
                    callers["member"] = await member_caller(client, app, next(phones))
    assert sent >= 100 * 5
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
