"""Errors on pages: the same problem details as the API, shown as a page or an htmx fragment.

Page controllers set ``exception_handlers = page_exception_handlers``: an expired session on
a page GET redirects to that area's sign-in page; an htmx request gets a message fragment
swapped into the page's ``#flash`` region; anything else gets a full error page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Redirect, Template

from benefits.errors import BenefitsError
from cardsvc.kernel.problems import exception_handlers, problem_handler

AREAS = ("/m", "/shop", "/console")


def area_of(path: str) -> str:
    return next((a for a in AREAS if path == a or path.startswith(a + "/")), "")


def login_url(request: Request[Any, Any, Any]) -> str:
    area = area_of(request.url.path)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{area}/login?next={quote(target, safe='/')}"


def _page(handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
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
        headers = {k: v for k, v in (problem.headers or {}).items() if k.lower() == "retry-after"}
        if htmx:
            headers |= {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
            return Template(
                "_flash.html", context={"problem": body}, status_code=status, headers=headers
            )
        return Template(
            "_error.html", context={"problem": body}, status_code=status, headers=headers
        )

    return handle


page_exception_handlers: dict[Any, Any] = {
    exc_type: _page(handler)
    for exc_type, handler in {**exception_handlers, BenefitsError: problem_handler}.items()
}
