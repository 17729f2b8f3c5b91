"""The service-request queue (overdue and escalated first) and one request's handling.

Same domain calls as ``cardsvc.servicereq.routes`` (``list_queue``, ``staff_request`` and the
``accept``/``resolve``/… steps, each audited there); the page only renders.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.servicereq import service as svc
from cardsvc.servicereq import takeover
from cardsvc.servicereq.models import RequestKind
from cardsvc.servicereq.queue import QueueFilter, list_queue
from cardsvc.servicereq.schemas import request_detail, requests_out

PAGE_SIZE = 50
KINDS = {
    "hardship": ("困难帮扶", "Hardship aid"),
    "legal_aid": ("法律援助·维权", "Legal aid"),
    "medical_aid": ("医疗互助", "Medical aid"),
    "childcare": ("子女托育·助学", "Childcare & school"),
    "training": ("技能培训报名", "Training"),
    "other": ("其他", "Other"),
}
STATUS_LABELS = {
    "submitted": ("待受理", "To accept"),
    "accepted": ("办理中", "In progress"),
    "info_requested": ("待补充材料", "Waiting for the member"),
    "resolved": ("已办结", "Resolved"),
    "rejected": ("不予受理", "Rejected"),
    "withdrawn": ("已撤回", "Withdrawn"),
}
# Queue tabs: name → (filter, zh, en)
TABS = {
    "open": ("待办", "Open"),
    "overdue": ("已超时", "Overdue"),
    "escalated": ("已上报", "Escalated"),
    "all": ("全部", "All"),
}
HANDLING_KINDS = {
    "visit": ("上门走访", "Visit"),
    "call": ("电话联系", "Call"),
    "payment": ("发放帮扶", "Payment"),
    "note": ("备注", "Note"),
}
CHANNELS = {
    "app": ("会员线上提交", "Filed online by the member"),
    "walk_in": ("窗口代办", "Filed at the counter"),
    "hotline": ("热线代办", "Filed from a hotline call"),
}
CONTACTS = {
    "phone": ("电话", "Phone"),
    "sms": ("短信", "Text message"),
    "wechat": ("微信", "WeChat"),
    "in_app": ("应用内消息", "In the app"),
    "visit": ("上门", "Visit"),
}
# The handling steps a person may take, by the request's state, the usual next step first.
ACTIONS = {
    "accept": ("受理", "Accept"),
    "handling": ("记录线下办理", "Record offline handling"),
    "request-info": ("请求补充材料", "Ask for information"),
    "resolve": ("办结", "Resolve"),
    "reject": ("不予受理", "Reject"),
    "take-over": ("上级接办", "Take over"),
    "reopen": ("重新办理", "Reopen"),
}
ACTIONS_BY_STATUS = {
    "submitted": ("accept", "reject", "take-over"),
    "accepted": ("handling", "resolve", "request-info", "reject", "take-over"),
    "info_requested": ("handling", "resolve", "reject", "take-over"),
    "resolved": ("reopen",),
    "rejected": ("reopen",),
    "withdrawn": (),
}
NO_SERVICE = ("您的角色无权处理服务申请", "Your role may not handle service requests")


def _fen(text: str) -> int | None:
    text = text.strip().replace("¥", "").replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        raise ValidationError.field(
            "amount_fen", "请输入金额（元）", "enter an amount in yuan"
        ) from None
    if value != value.to_integral_value() or value < 0:
        raise ValidationError.field("amount_fen", "金额最多两位小数", "at most two decimals")
    return int(value)


class ServicePages(ConsoleController):
    path = "/console/service"

    @get("/")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        tab: str = "open",
        kind: str | None = None,
        q: str | None = None,
        offset: int = 0,
    ) -> Template:
        require(staff, Perm.service_handle, *NO_SERVICE)
        tab = tab if tab in TABS else "open"
        now = utc_now()
        rows, total, counts = await list_queue(
            db_session,
            staff,
            QueueFilter(
                kind=RequestKind(kind) if kind in KINDS else None,
                open_only=tab == "open",
                overdue=True if tab == "overdue" else None,
                escalated=True if tab == "escalated" else None,
                q=(q or "").strip() or None,
            ),
            now=now,
            limit=PAGE_SIZE,
            offset=max(offset, 0),
        )
        return await page(
            request,
            state,
            staff,
            "console/service_queue.html",
            "service",
            items=await requests_out(db_session, rows, now, staff_view=True),
            total=total,
            counts=counts,
            tab=tab,
            tabs=TABS,
            kinds=KINDS,
            statuses=STATUS_LABELS,
            q=request.query_params,
            offset=max(offset, 0),
            limit=PAGE_SIZE,
        )

    @get("/{request_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        request_id: uuid.UUID,
        action: str | None = None,
    ) -> Template:
        """One request; of the handling steps its state allows, one form at a time
        (``?action=`` picks it, the usual next step by default)."""
        req = await svc.staff_request(db_session, staff, request_id)
        allowed = ACTIONS_BY_STATUS.get(req.status.value, ())
        chosen = action if action in allowed else (allowed[0] if allowed else None)
        return await page(
            request,
            state,
            staff,
            "console/service_request.html",
            "service",
            d=await request_detail(db_session, req, utc_now(), staff_view=True),
            kinds=KINDS,
            statuses=STATUS_LABELS,
            handling_kinds=HANDLING_KINDS,
            channels=CHANNELS,
            contacts=CONTACTS,
            actions=[(a, ACTIONS[a]) for a in allowed],
            chosen=chosen,
        )

    @post("/{request_id:uuid}/{action:str}", status_code=200)
    async def act(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        request_id: uuid.UUID,
        action: str,
    ) -> Response[Any]:
        """One handling step; errors come back as the API's problem details in #flash."""
        form = await request.form()
        text = {k: str(form.get(k, "")).strip() for k in form}
        req = await svc.staff_request(db_session, staff, request_id)
        now, sla = utc_now(), state.settings.service_sla
        if action == "accept":
            await svc.accept(
                db_session, staff, req, now=now, sla=sla, note=text.get("note") or None
            )
        elif action == "request-info":
            await svc.request_info(db_session, staff, req, now=now, note=text.get("note", ""))
        elif action == "handling":
            await svc.record_handling(
                db_session,
                staff,
                req,
                now=now,
                kind=text.get("kind", "note"),
                note=text.get("note", ""),
                amount_fen=_fen(text.get("amount", "")),
            )
        elif action == "resolve":
            await svc.resolve(db_session, staff, req, now=now, outcome=text.get("outcome", ""))
        elif action == "reject":
            await svc.reject(db_session, staff, req, now=now, reason=text.get("reason", ""))
        elif action == "reopen":
            await takeover.reopen(
                db_session, staff, req, now=now, sla=sla, reason=text.get("reason", "")
            )
        elif action == "take-over":
            await takeover.take_over(
                db_session, staff, req, now=now, sla=sla, org_id=None, note=text.get("note") or None
            )
        else:
            raise ValidationError.field("action", "未知操作", "unknown action")
        return Response("", headers={"HX-Redirect": f"/console/service/{request_id}"})
