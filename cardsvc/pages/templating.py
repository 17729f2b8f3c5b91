"""The Jinja environment of the pages: language, asset URLs and display filters."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from cardsvc.kernel.regions import full_name
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.labels import field_label

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
ASSETS_PATH = "/assets"


@cache
def _digest(path: str) -> str:
    """Content hash for cache busting: assets are served with a long max-age."""
    try:
        return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def asset(path: str) -> str:
    return f"{ASSETS_PATH}/{path}?v={_digest(path)}"


@pass_context
def _t(ctx: Context, zh: str, en: str) -> str:
    """``{{ t("会员卡", "Membership card") }}``: the user's language, Chinese by default."""
    request = ctx.get("request")
    return pick(lang_of(request), zh, en) if request is not None else zh


@pass_context
def _field_label(ctx: Context, path: str) -> str:
    """A problem's field path in words, in the user's language (see ``pages.labels``)."""
    request = ctx.get("request")
    return field_label(path, lang_of(request) if request is not None else "zh")


@pass_context
def _lang(ctx: Context) -> str:
    request = ctx.get("request")
    return lang_of(request) if request is not None else "zh"


def fen(amount: int | None) -> str:
    """Integer fen as yuan for display: 12345 → ¥123.45."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    yuan, cents = divmod(abs(amount), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def make_localtime(zone: str) -> Any:
    tz = ZoneInfo(zone)

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """UTC instants shown in the federation's zone."""
        return value.astimezone(tz).strftime(fmt) if value is not None else "—"

    return localtime


def make_environment(time_zone: str = "Asia/Shanghai") -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(t=_t, lang=_lang, asset=asset, field_label=_field_label)
    env.filters.update(fen=fen, localtime=make_localtime(time_zone), region_name=full_name)
    return env


def template_config(time_zone: str) -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        instance=JinjaTemplateEngine.from_environment(make_environment(time_zone))
    )
