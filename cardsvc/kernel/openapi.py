"""The published contract: the problem-details schema, the documented errors of a route, the
operation ids and the finishing of the served ``/schema/openapi.json``.

Client generators read the document, not our Python: every error a route can answer is listed
with an example (:func:`problem_responses`, and :class:`ProblemDocsPlugin` adds what every route
can answer), and the served document gets unique schema names and the response headers that
Litestar's response specs cannot carry (:class:`ContractJson`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Example, OpenAPIHeader, OpenAPIMediaType, OpenAPIResponse, Schema
from litestar.openapi.spec import Operation as OpenAPIOperation
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute

from cardsvc.kernel.errors import PROBLEM_MEDIA_TYPE

# --- the problem shape --------------------------------------------------------------------


class ProblemFieldError(msgspec.Struct):
    field: str
    reason: str
    reason_en: str


class ProblemReason(msgspec.Struct, omit_defaults=True):
    """One rule that refused a redemption."""

    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any] | None = None


class StackedProgram(msgspec.Struct):
    """A programme of a bill that cannot be combined with the others."""

    code: str
    mode: str
    group: str | None


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details with a stable ``code``. The members after ``request_id`` are
    sent with the errors that carry them (``errors`` with validation errors, ``retry_after``
    with 429, ``reasons`` with refusals, …)."""

    type: Annotated[str, msgspec.Meta(examples=["urn:unioncard:problem:quota_exhausted"])]
    title: str
    status: int
    code: Annotated[str, msgspec.Meta(examples=["quota_exhausted"])]
    detail: str
    message_zh: str
    message_en: str
    instance: str
    request_id: str
    errors: list[ProblemFieldError] | None = None
    retry_after: Annotated[int, msgspec.Meta(description="seconds, as in Retry-After")] | None = (
        None
    )
    limit: int | None = None
    limit_scope: str | None = None
    reason: Annotated[str, msgspec.Meta(description="the underlying token error")] | None = None
    reasons: list[ProblemReason] | None = None
    program: Annotated[str, msgspec.Meta(description="the programme's code")] | None = None
    program_ids: list[str] | None = None
    policy: str | None = None
    idempotency_key: str | None = None
    redemption_id: str | None = None
    month: str | None = None
    window_seconds: int | None = None
    program_id: str | None = None
    number: Annotated[int, msgspec.Meta(description="a version number")] | None = None
    current_version: int | None = None
    current_status: str | None = None
    status_now: Annotated[str, msgspec.Meta(description="the current state")] | None = None
    action: str | None = None
    programs: list[StackedProgram] | None = None
    bill_ref: Annotated[str, msgspec.Meta(description="the merchant's bill reference")] | None = (
        None
    )
    on_bill: (
        Annotated[
            list[StackedProgram],
            msgspec.Meta(description="programmes already redeemed on the bill"),
        ]
        | None
    ) = None
    repeated: (
        Annotated[list[str], msgspec.Meta(description="programmes the bill already holds (codes)")]
        | None
    ) = None
    exclusive: list[str] | None = None
    tried: list[str] | None = None
    value: Annotated[str, msgspec.Meta(description="the refused value, as sent")] | None = None


# --- documented errors ----------------------------------------------------------------------

# code → (status, message_zh, message_en): the examples of the errors every route shares.
ProblemTable = Mapping[str, tuple[int, str, str]]

COMMON_PROBLEMS: ProblemTable = {
    "validation_error": (400, "amount_fen：应为整数", "amount_fen: Expected `int`"),
    "malformed_body": (400, "请求体不是有效的 JSON", "The body is not valid JSON"),
    "unauthorized": (401, "未登录或凭据无效", "Not signed in or invalid credentials"),
    "forbidden": (403, "无权执行此操作", "You are not allowed to do this"),
    "not_found": (404, "未找到", "Not found"),
    "conflict": (409, "数据冲突，请刷新后重试", "Conflicting data, refresh and retry"),
    "validation_error@422": (422, "name：不能为空", "name: must not be empty"),
    "payload_too_large": (413, "请求体过大", "Request body too large"),
    "unsupported_media_type": (
        415,
        "请求体须为 JSON(Content-Type: application/json)",
        "The body must be JSON (Content-Type: application/json)",
    ),
    "rate_limited": (429, "请求过于频繁，请稍后再试", "Too many requests, retry later"),
    "internal_error": (500, "服务器内部错误", "Internal server error"),
    "database_unavailable": (503, "数据库暂时不可用，请稍后重试", "Database unavailable"),
    "session_store_unavailable": (503, "会话服务暂时不可用，请稍后重试", "Sessions unavailable"),
}


class ProblemExample(Example):
    """An example named by its ``id`` in the document; the id itself is no Example field in
    OpenAPI 3.1 (Litestar 2 would publish it, making the document invalid)."""

    @property
    def _exclude_fields(self) -> set[str]:
        return {"id"}


def _example(status: int, key: str, zh: str, en: str) -> ProblemExample:
    code = key.partition("@")[0]  # "validation_error@422": a code sent with another status
    return ProblemExample(
        id=code,
        summary=code,
        value={
            "type": f"urn:unioncard:problem:{code}",
            "title": zh,
            "status": status,
            "code": code,
            "detail": zh,
            "message_zh": zh,
            "message_en": en,
            "instance": "/api/v1/…",
            "request_id": "3f9c0a7e5b1d2c44",
        },
    )


def _spec(examples: list[Example]) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        generate_examples=False,
        media_type=PROBLEM_MEDIA_TYPE,
        description="; ".join(f"`{e.summary}`" for e in examples),
        examples=examples,
    )


def problem_responses(table: ProblemTable, *codes: str) -> dict[int, ResponseSpec]:
    """``responses=`` for a handler: one problem-details response per status, an example per
    code (looked up in ``table``, then in :data:`COMMON_PROBLEMS`)."""
    by_status: dict[int, list[Example]] = {}
    for code in dict.fromkeys(codes):
        status, zh, en = table.get(code) or COMMON_PROBLEMS[code]
        by_status.setdefault(status, []).append(_example(status, code, zh, en))
    return {status: _spec(examples) for status, examples in sorted(by_status.items())}


RATE_LIMITED = problem_responses(COMMON_PROBLEMS, "rate_limited")


def _with_codes(
    responses: Mapping[int, ResponseSpec], codes: Iterable[str]
) -> dict[int, ResponseSpec]:
    """``responses`` plus the common ``codes`` it does not list yet."""
    out = dict(responses)
    for status, extra in problem_responses(COMMON_PROBLEMS, *codes).items():
        have = out.get(status)
        if have is None:
            out[status] = extra
        elif have.data_container is Problem:
            names = {e.summary for e in have.examples or ()}
            missing = [e for e in extra.examples or () if e.summary not in names]
            if missing:
                out[status] = _spec([*(have.examples or ()), *missing])
    return out


def _common_codes(handler: HTTPRouteHandler, route: BaseRoute) -> list[str]:
    codes = ["validation_error", "internal_error", "database_unavailable"]
    writes = bool(handler.http_methods & {"POST", "PUT", "PATCH", "DELETE"})
    if writes:
        codes += ["malformed_body", "unsupported_media_type"]
    if any(p.type is not str for p in getattr(route, "path_parameters", {}).values()):
        codes.append("not_found")  # a path parameter of the wrong form (not a UUID, …)
    if 401 not in (handler.responses or {}):
        # Routes without their own list (the staff and member API): what any of them may say.
        codes += [
            "unauthorized",
            "forbidden",
            "not_found",
            "session_store_unavailable",
            "validation_error@422",  # a rule on the values (a date range, a region code, …)
        ]
        if writes:
            codes += ["conflict"]
    return codes


class ProblemDocsPlugin(ReceiveRoutePlugin):
    """Every route answers errors as problem details: its own documented ones (``responses=``
    of the handler) plus those any route can answer (a malformed request, a path parameter of
    the wrong form, 500 and 503), so that clients and the contract tests find them all."""

    def receive_route(self, route: BaseRoute) -> None:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and handler.include_in_schema is not False:
                codes = _common_codes(handler, route)
                handler.responses = _with_codes(handler.responses or {}, codes)


# --- what a response spec cannot say ------------------------------------------------------

BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def header(description: str, *, required: bool = True) -> OpenAPIHeader:
    return OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING), description=description, required=required
    )


ATTACHMENT = header("attachment; filename=…")
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def success_operation(
    *,
    media: Mapping[str, Schema] | None = None,
    headers: Mapping[str, OpenAPIHeader] | None = None,
    not_modified: bool = False,
) -> type[OpenAPIOperation]:
    """An ``operation_class`` whose 200 also carries the other ``media`` types the route
    negotiates and the ``headers`` it sends; ``not_modified``: a 304 (with the same headers)
    answers a matching ``If-None-Match``."""

    @dataclass
    class _Documented(OpenAPIOperation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if not isinstance(ok, OpenAPIResponse):
                return
            for media_type, schema in (media or {}).items():
                ok.content = {**(ok.content or {}), media_type: OpenAPIMediaType(schema=schema)}
            # Ours replace what Litestar documents under the same name, whatever its case.
            ours = {name.lower() for name in headers or {}}
            kept = {k: v for k, v in (ok.headers or {}).items() if k.lower() not in ours}
            ok.headers = {**kept, **(headers or {})}
            if not_modified and self.responses is not None:
                self.responses["304"] = OpenAPIResponse(
                    description="Not modified (the ETag matched If-None-Match)",
                    headers=dict(headers or {}),
                )

    return _Documented


# --- operation ids --------------------------------------------------------------------------


def operation_id(handler: HTTPRouteHandler, method: str, path_components: list[Any]) -> str:
    """``orgsDetail``, ``membersCardsIssue``: the path's words (without ``api/v1`` and the
    parameters) and the handler's name where the path does not already end with it. Handlers
    that integrators call name their own (``operation_id="redeem"``)."""
    words = [
        w
        for c in path_components
        if isinstance(c, str)
        for w in re.split(r"[^A-Za-z0-9]+", c)
        if w and w not in ("api", "v1")
    ]
    own = handler.handler_name.strip("_").split("_")
    if [w.lower() for w in words[-len(own) :]] != own:
        words += own
    words = words or [method.lower()]
    return words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])


# --- the served document --------------------------------------------------------------------

_GENERIC = {"routes", "schemas", "models", "rules", "cardsvc", "kernel", "api"}
_WORDS = {"servicereq": "ServiceRequest", "memberauth": "Member"}


def _readable(key: str) -> str:
    """``merchants_terminal_routes_CardOut`` → ``TerminalCardOut``; ``cardsvc_cards_routes_
    CardOut`` → ``CardOut`` (its package already says it)."""
    *path, name = key.split("_")
    # Class names hold no underscore here; a key without a module path is kept.
    words = [w for w in path if w not in _GENERIC and w.islower()]
    if not words:
        return name
    word = words[-1]
    prefix = _WORDS.get(word) or (word[:-1] if word.endswith("s") else word).capitalize()
    return name if name.startswith(prefix) else prefix + name


def _unique_names(doc: dict[str, Any]) -> None:
    """Litestar names a component after its module when two classes share a name
    (``merchants_terminal_routes_CardOut``) and titles both ``CardOut``: generators name models
    by title and drop one. Give each a readable unique name, as key and title."""
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    taken = {k for k in schemas if "_" not in k}
    for key in sorted(k for k in schemas if "_" in k):
        new = _readable(key)
        if new in taken:
            new = "".join(w[:1].upper() + w[1:] for w in key.split("_"))
        taken.add(new)
        renames[key] = new
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        if "title" in schemas[new]:
            schemas[new]["title"] = new
    refs = {f"#/components/schemas/{o}": f"#/components/schemas/{n}" for o, n in renames.items()}

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(ref := node.get("$ref"), str) and ref in refs:
                node["$ref"] = refs[ref]
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(doc)


def _header(description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


RETRY_AFTER = _header("seconds to wait before retrying", {"type": "string", "pattern": r"^\d+$"})
WWW_AUTHENTICATE = _header(
    "the scheme of the terminal key (terminal API only)", {"type": "string"}, required=False
)
REPLAYED = _header(
    "the original result of a retry with the same Idempotency-Key",
    {"type": "string", "enum": ["true"]},
)
_STATUS_HEADERS = {
    "401": {"WWW-Authenticate": WWW_AUTHENTICATE},
    "429": {"Retry-After": RETRY_AFTER},
    "503": {"Retry-After": RETRY_AFTER},
}


def _response_headers(doc: dict[str, Any]) -> None:
    """Headers the server sends that Litestar's additional responses cannot declare."""
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            idempotent = any(
                p.get("in") == "header" and p.get("name") == "Idempotency-Key"
                for p in op.get("parameters", ())
            )
            for status, response in op["responses"].items():
                headers = dict(_STATUS_HEADERS.get(str(status), {}))
                if idempotent and str(status) == "200":
                    headers["Idempotent-Replayed"] = REPLAYED
                if headers:
                    response["headers"] = {**headers, **response.get("headers", {})}


def finish_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The served document from Litestar's (in place; running it twice changes nothing)."""
    _unique_names(doc)
    _response_headers(doc)
    return doc


class ContractJson(JsonRenderPlugin):
    """``/schema/openapi.json``, finished (:func:`finish_document`)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, finish_document(openapi_schema))
