"""Errors on pages: the same problem details as the API, shown as a page or an htmx fragment.

Page controllers set ``exception_handlers = page_exception_handlers``: an expired session on
a page GET redirects to that area's sign-in page; an htmx request gets a message fragment
swapped into the page's ``#flash`` region; anything else gets a full error page.

What no page controller handles (an unknown path, a method the path does not take, an error
outside every controller) reaches the app's handlers, ``app_exception_handlers``: a browser
gets the page, an API client the problem details (``/api/…`` always, else by ``Accept``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from benefits.errors import BenefitsError
from cardsvc.kernel.problems import exception_handlers, problem_handler, request_path

AREAS = ("/m", "/shop", "/console")
# Headers of a problem that still mean something on a page.
KEPT_HEADERS = ("retry-after", "allow")

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def area_of(path: str) -> str:
    return next((a for a in AREAS if path == a or path.startswith(a + "/")), "")


def login_url(request: Request[Any, Any, Any]) -> str:
    area = area_of(request.url.path)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{area}/login?next={quote(target, safe='/')}"


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A page area's path, or a browser (it prefers HTML to JSON) anywhere but the API."""
    path = request_path(request)
    if path == "/api" or path.startswith("/api/"):
        return False
    if area_of(path):
        return True
    return request.accept.best_match([MediaType.JSON, MediaType.HTML]) == MediaType.HTML


def _page(handler: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        problem = handler(request, exc)
        body = problem.content if isinstance(problem.content, dict) else {}
        status = problem.status_code or 500
        htmx = request.headers.get("hx-request") == "true"
        if status == 401 and area_of(request.url.path):
            if htmx:  # a whole-page navigation, not a fragment, to the sign-in page
                return Response(
                    content="", status_code=200, headers={"HX-Redirect": login_url(request)}
                )
            if request.method == "GET":
                return Redirect(login_url(request))
        headers = {k: v for k, v in (problem.headers or {}).items() if k.lower() in KEPT_HEADERS}
        if htmx:
            headers |= {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
            return Template(
                "_flash.html", context={"problem": body}, status_code=status, headers=headers
            )
        context = {"problem": body, "home": area_of(request.url.path) or "/"}
        return Template("_error.html", context=context, status_code=status, headers=headers)

    return handle


def _negotiated(handler: Handler) -> Handler:
    page = _page(handler)

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        return page(request, exc) if wants_page(request) else handler(request, exc)

    return handle


_handlers: dict[Any, Handler] = {**exception_handlers, BenefitsError: problem_handler}
page_exception_handlers: dict[Any, Any] = {t: _page(h) for t, h in _handlers.items()}
app_exception_handlers: dict[Any, Any] = {t: _negotiated(h) for t, h in _handlers.items()}
