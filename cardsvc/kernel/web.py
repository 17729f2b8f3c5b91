"""Request plumbing shared by every package's routes: request ids, client address, JSON
bodies, security headers."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import msgspec
from litestar import Request, Router, get
from litestar._signature import SignatureModel
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute
from litestar.serialization import default_deserializer
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cardsvc.kernel.errors import AppError, FieldError
from cardsvc.kernel.logs import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_RID = REQUEST_ID_HEADER.encode()


def raw_headers(message: Message) -> list[tuple[bytes, bytes]]:
    """A response start message's headers as the list they are sent from, to add to in place
    (cheaper than ``MutableScopeHeaders``, which decodes every name on each lookup: this runs
    on every response)."""
    start = cast("dict[str, Any]", message)
    headers = start.get("headers")
    if not isinstance(headers, list):
        headers = start["headers"] = list(headers or ())
    return headers


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Take the caller's X-Request-ID (if sane) or make one, for the request's state and its
    log lines; ``response_headers`` (the app's ``before_send``) echoes it on the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == _RID), b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isascii() else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        try:
            await app(scope, receive, send)
        finally:
            request_id_var.reset(token)

    return middleware


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    """The client's address as ``forwarded_headers`` left it: the peer's, or, behind a
    trusted proxy, the one that proxy reported."""
    return request.client.host if request.client else None


def forwarded_headers(trusted_proxies: Sequence[str]) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware: believe X-Forwarded-For / X-Forwarded-Proto only from ``trusted_proxies``
    (``UNIONCARD_TRUSTED_PROXIES``), in every server alike. The servers are told to leave
    the headers alone (``unioncard run`` sets uvicorn's ``FORWARDED_ALLOW_IPS`` to nobody;
    granian ignores them), so the address seen here is the peer's own."""

    def middleware(app: ASGIApp) -> ASGIApp:
        if not trusted_proxies:
            return app
        return cast("ASGIApp", ProxyHeadersMiddleware(cast("Any", app), list(trusted_proxies)))

    return middleware


# --- JSON bodies: strictly typed, depth-safe --------------------------------------------------


class JsonRequest(Request[Any, Any, Any]):
    """The app's request class: a JSON body nested deeper than the decoder can follow
    (``RecursionError``) is a client error, like any other body that is not JSON."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise AppError(
                "malformed_body",
                "请求体嵌套过深",
                "The JSON body is nested too deeply",
                errors=[FieldError("body", "请求体嵌套过深", "nested too deeply")],
            ) from None


def _strict_json(model: type[SignatureModel], annotation: Any) -> type[SignatureModel]:
    """``model`` checking the handler's ``data`` with msgspec's strict rules first, where
    Litestar checks it (after the guards and dependencies: authentication still answers
    first). Litestar converts request data leniently (right for query strings and forms, where
    everything is text), which takes ``"100"`` for an integer or ``"true"`` for a boolean;
    in JSON the types are explicit."""

    def parse(
        cls: type[SignatureModel],
        connection: ASGIConnection[Any, Any, Any, Any],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        data = kwargs.get("data")
        if data is not None:
            try:
                msgspec.convert(data, annotation, strict=True, dec_hook=_dec_hook(connection))
            except msgspec.ValidationError as exc:
                message, _, where = str(exc).partition(" - at `$")
                key = where.rstrip("`").lstrip(".")
                raise ValidationException(
                    detail="Validation failed",
                    extra=[{"message": message, "key": key, "source": "body"}],
                ) from None
        return model.parse_values_from_connection_kwargs(connection, kwargs)

    return cast(
        "type[SignatureModel]",
        type("StrictJson", (model,), {"parse_values_from_connection_kwargs": classmethod(parse)}),
    )


def _dec_hook(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    return partial(
        default_deserializer, type_decoders=connection.route_handler.resolve_type_decoders()
    )


class StrictJsonPlugin(ReceiveRoutePlugin):
    """Every handler taking a JSON ``data`` body checks it strictly (``_strict_json``)."""

    def receive_route(self, route: BaseRoute) -> None:
        for handler in getattr(route, "route_handlers", ()):
            data = handler.parsed_fn_signature.parameters.get("data")
            if isinstance(handler, HTTPRouteHandler) and data is not None:
                # Litestar builds the model on first use and keeps it here.
                handler._signature_model = _strict_json(handler.signature_model, data.annotation)


# --- security headers -------------------------------------------------------------------------

# Pages load scripts and styles only from this origin (no inline script), cannot be framed, and
# post forms only here; images may also be data: URLs (QR codes, Swagger UI's icons). A handler
# may set its own, stricter policy; it is then left alone.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; img-src 'self' data:"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    # Invite links carry their token in the path: never hand it to another site.
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",  # frame-ancestors for browsers without CSP level 2
}
HSTS = "max-age=31536000"
_SECURITY_RAW = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_HSTS_RAW = (b"strict-transport-security", HSTS.encode())


async def response_headers(message: Message, scope: Scope) -> None:
    """``before_send``: the security headers and X-Request-ID on every response, 404s and
    errors included (the id ``request_id_middleware`` put in the request's state, or, for a
    request that matched no route, the one its problem answer made). A header the handler set
    is left alone."""
    if message["type"] != "http.response.start":
        return
    headers = raw_headers(message)
    names = {name.lower() for name, _ in headers}
    headers.extend(h for h in _SECURITY_RAW if h[0] not in names)
    if scope.get("scheme") == "https" and _HSTS_RAW[0] not in names:
        headers.append(_HSTS_RAW)
    rid = scope.get("state", {}).get("request_id")
    if rid and _RID not in names:
        headers.append((_RID, rid.encode("latin-1")))


def cookie_secure(request: Request[Any, Any, Any]) -> bool:
    """``Secure`` on session cookies: always in production (``UNIONCARD_SECURE_COOKIES``), and
    whenever this request came over TLS (directly, or as the ASGI server reports it from a
    trusted proxy's X-Forwarded-Proto, e.g. granian/uvicorn ``--forwarded-allow-ips``)."""
    return bool(request.app.state.settings.secure_cookies) or request.url.scheme == "https"


# --- API documentation page without inline script ---------------------------------------------

SWAGGER_INIT_PATH = "swagger-init.js"
_SWAGGER_INIT_JS = b"""\
// Starts Swagger UI on the served schema (a file, so that the page needs no inline script).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-container").dataset.specUrl,
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""


class SwaggerPage(SwaggerRenderPlugin):
    """Swagger UI from local files, started by a script file instead of an inline script (which
    the content security policy refuses); the schema is fetched from ``openapi.json``."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        config = request.app.openapi_config
        base = ((config.path if config else None) or "/schema").rstrip("/")  # Litestar's default
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{html.escape(self._favicon_url)}">
<link rel="stylesheet" href="{html.escape(self.css_url)}">
<script src="{html.escape(self.js_url)}"></script>
<script src="{html.escape(self.standalone_preset_js_url)}"></script>
<script src="{base}/{SWAGGER_INIT_PATH}"></script>
</head>
<body>
<div id="swagger-container" data-spec-url="{base}/openapi.json"></div>
</body>
</html>
""".encode()

    def __init__(self, *, favicon_url: str, **kwargs: Any) -> None:
        self._favicon_url = favicon_url
        super().__init__(**kwargs)

    def receive_router(self, router: Router) -> None:
        # Not Swagger's OAuth2 redirect page (an inline script; this API has no OAuth2).

        @get(
            f"/{SWAGGER_INIT_PATH}",
            media_type="text/javascript",
            include_in_schema=False,
            sync_to_thread=False,
        )
        def swagger_init() -> bytes:
            return _SWAGGER_INIT_JS

        router.register(swagger_init)


# --- sign-in accepts JSON only ----------------------------------------------------------------


def same_site_form(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for the pages' sign-in forms (login CSRF): a form that another site posts is
    refused. Browsers mark such a request ``Sec-Fetch-Site: cross-site``; the header is set by
    the browser itself (no page can forge it) and survives proxies that rewrite ``Host``."""
    if connection.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise AppError(
            "cross_site_form",
            "请在本站页面上登录",
            "Sign in from this site's own page",
            status=403,
        )


def json_body_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the body must be declared JSON. An HTML form on another site can post
    ``text/plain`` or form-encoded bodies (which the JSON decoder would accept) without a
    CORS preflight, but never ``application/json``: so another site cannot sign a browser in
    to an account of its choosing (login CSRF) or send codes in its name."""
    media = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise AppError(
            "unsupported_media_type",
            "请求体须为 JSON(Content-Type: application/json)",
            "The body must be JSON (Content-Type: application/json)",
            status=415,
        )
