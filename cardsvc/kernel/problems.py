"""RFC 9457 problem details with a stable ``code`` and a Chinese and an English message.

Domain code raises :class:`AppError` (or a subclass that sets ``code``/``status``); the
exception handlers here turn it, Litestar's own errors and anything unexpected into
``application/problem+json``. Nothing reaches the client as a bare 500 page.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any, cast

from asyncpg.exceptions import (
    ConnectionDoesNotExistError,
    InternalClientError,
    OperatorInterventionError,
    PostgresConnectionError,
)
from asyncpg.exceptions import InterfaceError as AsyncpgInterfaceError
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from cardsvc.kernel.errors import (
    PROBLEM_MEDIA_TYPE,
    AppError,
    Conflict,
    FieldError,
    ProblemError,
    ServiceUnavailable,
    ValidationError,
)
from cardsvc.kernel.kv import KVUnavailable

logger = logging.getLogger("unioncard.errors")


def request_path(request: Request[Any, Any, Any]) -> str:
    """``request.url.path`` without building the URL (an error answer may be the request's
    only use of it)."""
    scope = request.scope
    return scope.get("root_path", "") + scope["path"]


def _wants_english(request: Request[Any, Any, Any]) -> bool:
    lang = request.query_params.get("lang") or request.headers.get("accept-language") or ""
    return lang.lower().startswith("en")


def problem_response(
    request: Request[Any, Any, Any], err: ProblemError
) -> Response[dict[str, Any]]:
    english = _wants_english(request)
    body: dict[str, Any] = {
        "type": f"urn:unioncard:problem:{err.code}",
        "title": err.message_en if english else err.message_zh,
        "status": err.status,
        "code": err.code,
        "detail": err.message_en if english else err.message_zh,
        "message_zh": err.message_zh,
        "message_en": err.message_en,
        "instance": request_path(request),
    }
    if err.errors:
        body["errors"] = [e.as_dict() for e in err.errors]
    # Routing errors (404/405) never reach the request-id middleware: take or make one here.
    state = request.scope.setdefault("state", {})
    if "request_id" not in state:
        incoming = request.headers.get("x-request-id", "")
        sane = 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable()
        state["request_id"] = incoming if sane else secrets.token_hex(8)
    body["request_id"] = state["request_id"]
    body.update(err.extra)
    return Response(
        content=body, status_code=err.status, media_type=PROBLEM_MEDIA_TYPE, headers=err.headers
    )


def problem_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The exception handler for every error class of :class:`ProblemError`'s shape."""
    return problem_response(request, cast("ProblemError", exc))


_MSGSPEC_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `(\w+)` >= (-?\d+)"), "应为不小于 {1} 的数"),
    (re.compile(r"Expected `(\w+)` <= (-?\d+)"), "应为不大于 {1} 的数"),
    (re.compile(r"Expected `(\w+)` > (-?\d+)"), "应为大于 {1} 的数"),
    (re.compile(r"Expected `str` of length >= (\d+)"), "长度至少为 {0}"),
    (re.compile(r"Expected `str` of length <= (\d+)"), "长度不能超过 {0}"),
    (re.compile(r"Expected `array` of length <= (\d+)"), "最多 {0} 项"),
    (re.compile(r"Object missing required field `(\w+)`"), "缺少必填字段 {0}"),
    (re.compile(r"Object contains unknown field `(\w+)`"), "不接受该字段"),
    (re.compile(r"Invalid enum value"), "取值不在允许范围内"),
    (re.compile(r"Invalid UUID"), "不是有效的 UUID"),
    (re.compile(r"Invalid RFC3339"), "不是有效的时间（RFC 3339）"),
    (re.compile(r"Expected `int`"), "应为整数"),
    (re.compile(r"Expected `(\w+)`"), "类型不正确"),
    (re.compile(r"Missing required"), "缺少必填参数"),
    (re.compile(r"JSON is malformed|malformed"), "JSON 格式错误"),
]


def _zh_reason(msg: str) -> str:
    for pattern, template in _MSGSPEC_ZH:
        if m := pattern.search(msg):
            return template.format(*m.groups())
    return "格式或取值无效"


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar/msgspec request errors: 400 (malformed or out-of-range request data)."""
    errors: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            msg = str(item.get("message", "invalid"))
            field = str(item.get("key") or "")
            if m := re.search(r"(?:missing required|contains unknown) field `(\w+)`", msg):
                field = f"{field}.{m.group(1)}" if field not in ("", "data") else m.group(1)
            elif not field and (m := re.search(r"at `\$\.([\w.\[\]]+)`", msg)):
                field = m.group(1)
            errors.append(
                FieldError(field or str(item.get("source") or "body"), _zh_reason(msg), msg)
            )
    if not errors:
        errors.append(FieldError("body", "请求体无法解析", exc.detail or "malformed request"))
    first = errors[0]
    err = ValidationError(
        message_zh=f"{first.field}:{first.reason_zh}",
        message_en=f"{first.field}: {first.reason_en}",
        errors=errors,
        status=400,
    )
    return problem_response(request, err)


_HTTP_CODES = {
    401: ("unauthorized", "未登录或凭据无效", "Not signed in or invalid credentials"),
    403: ("forbidden", "无权执行此操作", "You are not allowed to do this"),
    404: ("not_found", "未找到", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    413: ("payload_too_large", "请求体过大", "Request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type"),
    429: ("rate_limited", "请求过于频繁，请稍后再试", "Too many requests, retry later"),
}


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        return _internal_handler(request, exc)
    code, zh, en = _HTTP_CODES.get(status, ("bad_request", "请求无效", exc.detail or "Bad request"))
    errors: list[FieldError] = []
    if status == 400 and re.search(r"JSON|truncated|decode|malformed", exc.detail or "", re.I):
        code, zh = "malformed_body", "请求体不是有效的 JSON"
        errors = [FieldError("body", zh, en)]
    err = AppError(code, zh, en, status=status, headers=dict(exc.headers or {}), errors=errors)
    return problem_response(request, err)


def _db_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.warning("database unavailable: %s", exc)
    return problem_response(
        request,
        ServiceUnavailable(
            "database_unavailable",
            "数据库暂时不可用，请稍后重试",
            "Database temporarily unavailable, retry later",
            headers={"Retry-After": "1"},
        ),
    )


def _store_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Redis down: sessions and one-time codes cannot be read. Terminal requests do not get
    here (their rate limit and code burn degrade in-process); staff and member ones answer
    503 until it is back."""
    logger.warning("session store unavailable: %s", exc)
    return problem_response(
        request,
        ServiceUnavailable(
            "session_store_unavailable",
            "会话服务暂时不可用，请稍后重试",
            "Session store temporarily unavailable, retry later",
            headers={"Retry-After": "2"},
        ),
    )


_LOST = (ConnectionDoesNotExistError, PostgresConnectionError, OperatorInterventionError, OSError)


def _asyncpg_interface_handler(
    request: Request[Any, Any, Any], exc: AsyncpgInterfaceError
) -> Response[Any]:
    """asyncpg's client-side errors: a lost connection (often reported by a transaction's
    ``__aexit__`` while the server's error is the context) is 503; anything else is a bug."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _LOST) or re.search(
            r"connection is closed|another operation is", str(seen)
        ):
            return _db_unavailable_handler(request, exc)
        seen = seen.__cause__ or seen.__context__
    return _internal_handler(request, exc)


def _db_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    if isinstance(exc, IntegrityError):
        # A uniqueness race the domain code did not pre-empt: still the client's conflict.
        logger.info("integrity error on %s: %s", request.url.path, exc.orig)
        return problem_response(
            request,
            Conflict("conflict", "数据冲突，请刷新后重试", "Conflicting data, refresh and retry"),
        )
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return _db_unavailable_handler(request, exc)
    if str(getattr(exc.orig, "sqlstate", None) or "").startswith("22"):
        # SQLSTATE class 22 (data exception): a value PostgreSQL cannot store or compare, such
        # as a NUL character in text or a number out of range. The input's fault, not ours.
        logger.info("data exception on %s: %s", request.url.path, exc.orig)
        return problem_response(
            request,
            AppError(
                "invalid_value",
                "输入包含无法处理的值（如空字符或超出范围的数字）",
                "The input holds a value that cannot be stored (a NUL character or an "
                "out-of-range number)",
                status=400,
            ),
        )
    return _internal_handler(request, exc)


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    err = AppError("internal_error", "服务器内部错误", "Internal server error", status=500)
    return problem_response(request, err)


exception_handlers: dict[Any, Any] = {
    AppError: problem_handler,
    ValidationException: _validation_handler,
    NotAuthorizedException: _http_handler,
    PermissionDeniedException: _http_handler,
    NotFoundException: _http_handler,
    HTTPException: _http_handler,
    PoolTimeoutError: _db_unavailable_handler,
    OSError: _db_unavailable_handler,
    # The redemption hot path speaks asyncpg directly: its connection errors are not wrapped.
    PostgresConnectionError: _db_unavailable_handler,  # SQLSTATE class 08
    OperatorInterventionError: _db_unavailable_handler,  # class 57: admin shutdown, cancel
    ConnectionDoesNotExistError: _db_unavailable_handler,  # closed in the middle of a query
    # A protocol left mid-operation by a connection the server ended (the connection is
    # discarded: cardsvc.kernel.db.driver_connection).
    InternalClientError: _db_unavailable_handler,
    AsyncpgInterfaceError: _asyncpg_interface_handler,
    RedisConnectionError: _store_unavailable_handler,
    RedisTimeoutError: _store_unavailable_handler,
    KVUnavailable: _store_unavailable_handler,
    DBAPIError: _db_error_handler,
    Exception: _internal_handler,
}
