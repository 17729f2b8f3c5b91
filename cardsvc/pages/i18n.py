"""The page language: Simplified Chinese by default, English when the user chose it."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request

Lang = Literal["zh", "en"]
LANG_COOKIE = "uc_lang"


def lang_of(request: Request[Any, Any, Any]) -> Lang:
    """``?lang=`` for this request, else the ``uc_lang`` cookie, else Chinese."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
    return "en" if chosen == "en" else "zh"


def pick(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh
