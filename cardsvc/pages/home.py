"""The landing page (which app is for whom) and the language switch."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Redirect, Template

from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import LANG_COOKIE

ONE_YEAR = 365 * 24 * 3600


def _local_path(target: str) -> str:
    """Only same-site paths: ``next`` must never send the user to another host."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class HomeController(Controller):
    path = "/"
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/")
    async def index(self) -> Template:
        return Template("home.html")

    @get("/lang/{code:str}")
    async def switch_language(self, request: Request[Any, Any, Any], code: str) -> Redirect:
        """Remember the chosen language and go back to the page it was chosen on."""
        back = _local_path(request.query_params.get("next", "/"))
        resp = Redirect(back)
        resp.set_cookie(
            LANG_COOKIE, "en" if code == "en" else "zh", max_age=ONE_YEAR, samesite="lax"
        )
        return resp
