"""What every console page shares: the navigation, the CSRF token and form helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request
from litestar.datastructures import State
from litestar.response import Template

from cardsvc.kernel.errors import AppError, FieldError, Forbidden
from cardsvc.kernel.permissions import ROLE_LABELS_ZH, Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.staff.auth import SESSION_COOKIE
from cardsvc.staff.service import load_session

ROLE_LABELS_EN = {
    "federation_admin": "Federation admin",
    "union_admin": "Union admin",
    "benefits_manager": "Benefits manager",
    "merchant_manager": "Merchant manager",
    "auditor": "Auditor (read-only)",
    "service_agent": "Service agent",
    "hardship_officer": "Hardship officer",
}


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    href: str
    zh: str
    en: str
    perm: Perm | None


# The sections, in the order of the side navigation; shown only to roles that may use them.
NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "/console", "概览", "Dashboard", None),
    NavItem("approvals", "/console/approvals", "入会审批", "Approvals", Perm.member_write),
    NavItem("members", "/console/members", "会员查询", "Members", Perm.member_read),
    NavItem("requests", "/console/requests", "转会离会", "Transfers & leaving", Perm.member_read),
    NavItem("invites", "/console/invites", "入会邀请", "Invite links", Perm.member_write),
    NavItem("roster", "/console/roster", "名册导入", "Roster import", Perm.member_write),
    NavItem("orgs", "/console/orgs", "组织架构", "Union tree", Perm.org_read),
    NavItem("founding", "/console/founding", "建会审批", "Founding a union", Perm.org_write),
    NavItem("programmes", "/console/programmes", "普惠项目", "Programmes", Perm.benefits_read),
    NavItem("merchants", "/console/merchants", "商户门店", "Merchants", Perm.merchants_read),
    NavItem("settlements", "/console/settlements", "商户结算", "Settlements", Perm.merchants_read),
    NavItem("service", "/console/service", "服务申请", "Service requests", Perm.service_handle),
    NavItem("activities", "/console/activities", "活动与培训", "Activities", Perm.service_handle),
    NavItem(
        "hardship", "/console/hardship", "困难职工档案", "Hardship records", Perm.hardship_read
    ),
    NavItem("reports", "/console/reports", "统计报表", "Reports", Perm.reports_read),
    NavItem(
        "reconciliation",
        "/console/reconciliation",
        "额度核对",
        "Reconciliation",
        Perm.benefits_read,
    ),
    NavItem("staff", "/console/staff", "工作人员账号", "Staff accounts", Perm.staff_manage),
    NavItem("audit", "/console/audit", "审计日志", "Audit log", Perm.audit_read),
)


class ConsoleController(Controller):
    """Base of the console's controllers: HTML errors, no OpenAPI entries."""

    include_in_schema = False
    exception_handlers = page_exception_handlers


async def csrf_of(request: Request[Any, Any, Any], state: State) -> str:
    """The session's CSRF token, for the page's <meta name="csrf-token"> (app.js sends it)."""
    sess = await load_session(state.stores.get("sessions"), request.cookies.get(SESSION_COOKIE, ""))
    return sess.csrf if sess is not None else ""


def roles_text(staff: Principal, request: Request[Any, Any, Any]) -> str:
    en = lang_of(request) == "en"
    names: dict[Any, str] = ROLE_LABELS_EN if en else ROLE_LABELS_ZH
    labels = {names.get(g.role, str(g.role)) for g in staff.grants}
    return "、".join(sorted(labels)) if not en else ", ".join(sorted(labels))


async def page(
    request: Request[Any, Any, Any],
    state: State,
    staff: Principal,
    template: str,
    section: str,
    **context: Any,
) -> Template:
    """A full console page: layout with the navigation this staff member may use."""
    nav = [n for n in NAV if n.perm is None or staff.can(n.perm)]
    return Template(
        template,
        context={
            "csrf_token": await csrf_of(request, state),
            "staff": staff,
            "roles": roles_text(staff, request),
            "nav": nav,
            "section": section,
            **context,
        },
    )


def field_errors(exc: AppError, request: Request[Any, Any, Any]) -> dict[str, str]:
    """``errors[].field`` (dotted paths) → message in the user's language, for ``_macros.field``."""
    lang = lang_of(request)
    out: dict[str, str] = {}
    for e in exc.errors:
        out.setdefault(e.field, pick(lang, e.reason_zh, e.reason_en))
    return out


def message_of(exc: AppError, request: Request[Any, Any, Any]) -> str:
    return pick(lang_of(request), exc.message_zh, exc.message_en)


def as_uuid(value: str | None, field: str) -> uuid.UUID | None:
    from cardsvc.kernel.errors import ValidationError

    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError(errors=[FieldError(field, "格式不正确", "invalid value")]) from None


def require(staff: Principal, perm: Perm, zh: str, en: str) -> None:
    """A whole section the role may not use: 403 with the reason (the API's own check still
    applies per object inside the section)."""
    if not staff.can(perm):
        raise Forbidden("forbidden", zh, en)


def hx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"
