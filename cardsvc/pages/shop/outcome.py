"""Where a refusal shows on the till: in the result card the cashier is looking at.

The pages' handlers put an htmx request's problem into ``#flash`` at the top of the page; on a
phone the cashier is scrolled down at the benefit by then, so a refused 核销 looked like nothing
happened. A refused scan replaces the result area (no stale member stays on screen); a refused
redemption shows in its own benefit card (``#outcome-<n>``, from the form's id ``redeem-<n>``
that htmx sends as ``HX-Trigger``). Anything else keeps the pages' behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.response import Template

from cardsvc.pages.errors import page_exception_handlers

_REDEEM_FORM = re.compile(r"(redeem|voucher)-(\d{1,4})")


def target_of(trigger: str) -> str | None:
    if trigger == "scan-form":
        return "#result"
    m = _REDEEM_FORM.fullmatch(trigger)
    if m is None:
        return None
    # A programme's refusal in its benefit card, a voucher's in the voucher's card.
    return f"#{'outcome' if m.group(1) == 'redeem' else 'voutcome'}-{m.group(2)}"


def _in_place(handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response = handler(request, exc)
        target = target_of(request.headers.get("hx-trigger", ""))
        if (
            target is None
            or not isinstance(response, Template)
            or response.template_name != "_flash.html"
        ):
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
        return Template(
            "shop/_refused.html",
            context={**(response.context or {}), "at_scan": target == "#result"},
            status_code=response.status_code or 422,
            headers=headers | {"HX-Retarget": target, "HX-Reswap": "innerHTML"},
        )

    return handle


shop_exception_handlers: dict[Any, Any] = {
    exc_type: _in_place(handler) for exc_type, handler in page_exception_handlers.items()
}
