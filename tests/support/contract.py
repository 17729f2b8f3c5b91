"""The published contract, checked on every response a test client receives.

``contract_client(app)`` is the test client of the API suites: each response to a documented
operation is validated against the served ``/schema/openapi.json`` with openapi-core (status,
media type, body, headers). Stricter than the document by design: an object may hold only the
fields its schema names, and a response header outside :data:`AMBIENT` must be declared on that
response. So a status, field or header the server starts sending fails the test that produced it
until it is documented (a route's errors: its ``responses=``; fields: its schema).

A test that must see an off-contract response (a fault injected on purpose) uses
``@pytest.mark.off_contract``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from cardsvc.kernel.errors import PROBLEM_MEDIA_TYPE
from cardsvc.kernel.openapi import finish_document
from cardsvc.reports.files import XLSX_MEDIA

# Headers every response may carry whatever the route (transport, security, tracing).
AMBIENT = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "date",
        "server",
        "vary",
        "cache-control",
        "pragma",
        "expires",
        "set-cookie",
        "x-request-id",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
        "strict-transport-security",
        "permissions-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
    }
)


# Files and signed documents: the contract says their media type, not their bytes.
OPAQUE = (
    XLSX_MEDIA,
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/svg+xml",
    "application/statuslist+jwt",
    "text/event-stream",
)


def _opaque(data: bytes, **_: Any) -> str:
    return data.decode("latin-1")


class ContractViolation(AssertionError):
    pass


def strict(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy where every object schema that names its properties allows no others."""
    out = copy.deepcopy(doc)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out.get("components", {}))
    walk(out.get("paths", {}))
    return out


def served_document(app: Litestar) -> dict[str, Any]:
    """What ``/schema/openapi.json`` serves (as JSON: status codes are strings)."""
    doc = finish_document(app.openapi_schema.to_schema())
    result: dict[str, Any] = json.loads(json.dumps(doc))
    return result


class _Request:
    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = request.method.lower()
        self.body = request.read()  # a multipart upload is a stream until read
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.data = response.content
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))


class ContractChecker:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.openapi = OpenAPI.from_dict(
            strict(doc),
            config=Config(
                spec_validator_cls=None,  # the generator test validates the document
                extra_media_type_deserializers={
                    PROBLEM_MEDIA_TYPE: json.loads,
                    "text/csv": lambda data, **_: data.decode(),
                    # Files are opaque to the contract: a string of bytes.
                    **{media: _opaque for media in OPAQUE},
                },
            ),
        )

        # Literal paths first: /redemptions/export is not /redemptions/{redemption_id}.
        self._paths = sorted(
            (
                (re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(p)) + "$"), p)
                for p in doc.get("paths", {})
            ),
            key=lambda pair: pair[1].count("{"),
        )

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The documented operation answering ``method path``, if any."""
        for pattern, template in self._paths:
            if pattern.match(path):
                op: dict[str, Any] | None = self.doc["paths"][template].get(method.lower())
                return op
        return None

    def check(self, response: httpx.Response) -> None:
        """Raise :class:`ContractViolation` when ``response`` is not as documented."""
        request = response.request
        op = self.operation(request.method, request.url.path)
        if op is None:
            return  # not an API operation (pages, static files, an unknown path or method)
        declared = op.get("responses", {}).get(str(response.status_code))
        where = f"{request.method} {request.url.path} → {response.status_code}"
        try:
            self.openapi.validate_response(_Request(request), _Response(response))
        except Exception as exc:  # openapi-core's errors carry the details as their cause
            details = "; ".join(str(e) for e in getattr(exc, "schema_errors", ()) or ())
            cause = exc.__cause__
            more = "; ".join(str(e.message) for e in getattr(cause, "schema_errors", ()) or ())
            raise ContractViolation(
                f"{where}: {exc} {details or more or cause or ''}\nbody: {response.text[:500]}"
            ) from exc
        self._check_code(op, declared or {}, response, where)
        documented = {h.lower() for h in (declared or {}).get("headers", {})}
        extra = {h for h in response.headers if h.lower() not in AMBIENT | documented}
        if extra:
            raise ContractViolation(f"{where}: undocumented response headers {sorted(extra)}")

    @staticmethod
    def _check_code(
        op: dict[str, Any], declared: dict[str, Any], response: httpx.Response, where: str
    ) -> None:
        """The terminal API lists every error code per route and status (its examples)."""
        if "merchant API" not in op.get("tags", ()) or response.status_code < 400:
            return
        examples = declared.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("examples", {})
        code = response.json().get("code")
        if code not in examples:
            raise ContractViolation(
                f"{where}: error code {code!r} not documented: {sorted(examples)}"
            )


_CHECKERS: dict[int, ContractChecker] = {}


def checker_for(app: Litestar) -> ContractChecker:
    """One checker per set of routes (building the document takes seconds)."""
    key = hash(tuple(sorted(app.route_handler_method_map)))
    if key not in _CHECKERS:
        _CHECKERS[key] = ContractChecker(served_document(app))
    return _CHECKERS[key]


def attach(client: httpx.AsyncClient, checker: ContractChecker) -> None:
    async def validate(response: httpx.Response) -> None:
        await response.aread()
        checker.check(response)

    client.event_hooks["response"] = [*client.event_hooks["response"], validate]


def checks_contract(request: pytest.FixtureRequest) -> bool:
    """Whether the requesting test is checked (not marked ``off_contract``)."""
    return request.node.get_closest_marker("off_contract") is None


@asynccontextmanager
async def contract_client(
    app: Litestar, *, check: bool = True, **options: Any
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app's test client, each response checked against the contract (unless ``check`` is
    false: a test that provokes an off-contract response on purpose). ``options`` go to
    :class:`AsyncTestClient` (``base_url``…)."""
    async with AsyncTestClient(app=app, **options) as client:
        if check:
            attach(client, checker_for(app))
        yield client
