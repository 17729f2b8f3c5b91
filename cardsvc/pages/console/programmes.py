"""Benefit programmes: list, the editor with field validation, publishing, the simulator.

The handlers call the benefits engine's public functions with the same scope checks as
``benefits.routes.programmes`` (``ensure_readable`` / ``ensure_writable``, owner org in the staff's
subtree) and write the same audit rows (``program.create``, ``program.update``, …).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import SkipValidation
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.access import Directory, ensure_readable, ensure_writable, read_prefixes
from benefits.errors import BenefitsError, FieldError, ValidationError
from benefits.models import ProgramStatus
from benefits.programmes.simulation import simulation_members, simulation_point_of_sale
from benefits.public import (
    create_program,
    end_program,
    get_program,
    list_programs,
    pause_program,
    program_usage,
    publish_program,
    resume_program,
    simulate,
    update_program,
    validate_rules,
)
from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Forbidden, NotFound
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org
from cardsvc.orgs.service import find_org, get_org, orgs_in_scope
from cardsvc.pages.console import programme_form as pf
from cardsvc.pages.console import programme_pickers as pickers
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick

TARGET = "benefit_program"
STATUS_LABELS = {
    "draft": ("草稿", "Draft"),
    "active": ("进行中", "Active"),
    "paused": ("已暂停", "Paused"),
    "ended": ("已结束", "Ended"),
}
Dir = SkipValidation[Directory]


def _errors_by_field(errors: list[FieldError], request: Request[Any, Any, Any]) -> dict[str, str]:
    lang = lang_of(request)
    out: dict[str, str] = {}
    for e in errors:
        out.setdefault(e.field, pick(lang, e.reason_zh, e.reason_en))
    return out


async def _owner_orgs(db: AsyncSession, staff: Principal) -> list[Org]:
    return await orgs_in_scope(db, staff, Perm.benefits_write)


async def _form_context(db: AsyncSession, staff: Principal, values: pf.Values) -> dict[str, Any]:
    return {
        "values": values,
        "chosen": await pickers.chosen(db, staff, values),
        "limit_rows": pf.limit_rows(values),
        "kinds": pf.KINDS,
        "kind_fields": pf.KIND_FIELDS,
        "categories": pf.CATEGORIES,
        "merchant_categories": pf.MERCHANT_CATEGORY_LABELS,
        "metrics": pf.METRICS,
        "limit_scopes": pf.LIMIT_SCOPES,
        "periods": pf.PERIODS,
        "on_exceed": pf.ON_EXCEED,
    }


class ProgrammePages(ConsoleController):
    path = "/console/programmes"
    exception_handlers = page_exception_handlers

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        status: str | None = None,
        q: str | None = None,
        offset: int = 0,
    ) -> Template:
        require(
            staff,
            Perm.benefits_read,
            "您的角色无权查看普惠项目",
            "Your role may not view programmes",
        )
        offset = max(offset, 0)
        rows, total = await list_programs(
            db_session,
            owner_path_prefixes=read_prefixes(staff),
            status=status if status in STATUS_LABELS else None,
            search=(q or "").strip()[:64] or None,
            limit=50,
            offset=offset,
        )
        return await page(
            request,
            state,
            staff,
            "console/programmes.html",
            "programmes",
            items=rows,
            total=total,
            offset=offset,
            limit=50,
            status=status,
            q=q or "",
            statuses=STATUS_LABELS,
            can_write=staff.can(Perm.benefits_write),
        )

    @get("/new")
    async def new(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        require(
            staff,
            Perm.benefits_write,
            "您的角色无权创建普惠项目",
            "Your role may not create programmes",
        )
        return await page(
            request,
            state,
            staff,
            "console/programme_new.html",
            "programmes",
            owners=await _owner_orgs(db_session, staff),
            errors={},
            **await _form_context(db_session, staff, pf.blank_values()),
        )

    @post("/new", status_code=200)
    async def create(
        self, request: Request[Any, Any, Any], staff: Principal, db_session: AsyncSession
    ) -> Response[Any]:
        require(
            staff,
            Perm.benefits_write,
            "您的角色无权创建普惠项目",
            "Your role may not create programmes",
        )
        values = pf.form_values(await request.form())
        rules, errors = pf.rules_from_values(values)
        code = str(values.get("code", "")).strip()
        owner = await self._owner(db_session, staff, str(values.get("owner_org_id", "")), errors)
        if not errors and owner is not None:
            try:
                view = await create_program(
                    db_session,
                    code=code,
                    owner_org_id=owner.id,
                    owner_org_path=owner.path,
                    rules=rules,
                    actor_id=staff.id,
                )
            except ValidationError as exc:
                errors = list(exc.errors)
            else:
                record(
                    db_session,
                    staff,
                    "program.create",
                    target_type=TARGET,
                    target_id=view.id,
                    org_path=view.owner_org_path,
                    summary={"code": view.code, "name": view.name},
                )
                return Response("", headers={"HX-Redirect": f"/console/programmes/{view.id}"})
        elif not code:
            errors.append(FieldError("code", "必填", "required"))
        return Template(
            "console/_programme_form.html",
            context={
                "action": "/console/programmes/new",
                "creating": True,
                "owners": await _owner_orgs(db_session, staff),
                "errors": _errors_by_field(errors, request),
                **await _form_context(db_session, staff, values),
            },
            status_code=422,
        )

    @staticmethod
    async def _owner(
        db: AsyncSession, staff: Principal, raw: str, errors: list[FieldError]
    ) -> Org | None:
        try:
            return await get_org(db, staff, uuid.UUID(raw), Perm.benefits_write)
        except (ValueError, NotFound):  # not an id; no such org, or not the staff's to own
            errors.append(FieldError("owner_org_id", "请选择所属组织", "choose the owning org"))
            return None

    @get("/{program_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        program_id: uuid.UUID,
    ) -> Template:
        program = await get_program(db_session, program_id=program_id)
        ensure_readable(staff, program)
        return await self._detail(request, state, staff, db_session, program, {}, None)

    async def _detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db: AsyncSession,
        program: Any,
        errors: dict[str, str],
        values: pf.Values | None,
        status_code: int = 200,
    ) -> Template:
        usage = await program_usage(db, program_id=program.id)
        owner = await find_org(db, program.owner_org_id)
        tpl = await page(
            request,
            state,
            staff,
            "console/programme.html",
            "programmes",
            p=program,
            owner=owner,
            usage=usage,
            statuses=STATUS_LABELS,
            can_write=staff.can(Perm.benefits_write, program.owner_org_path),
            errors=errors,
            action=f"/console/programmes/{program.id}",
            creating=False,
            sim_orgs=await self._sim_orgs(db, staff, program.owner_org_path),
            **await _form_context(db, staff, values or pf.values_from_rules(program.rules)),
        )
        tpl.status_code = status_code
        return tpl

    @staticmethod
    async def _sim_orgs(db: AsyncSession, staff: Principal, owner_path: str) -> list[Org]:
        return await orgs_in_scope(db, staff, Perm.benefits_read, under=owner_path, limit=200)

    @post("/{program_id:uuid}", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        program_id: uuid.UUID,
    ) -> Response[Any]:
        current = await get_program(db_session, program_id=program_id)
        ensure_writable(staff, current)
        values = pf.form_values(await request.form())
        rules, errors = pf.rules_from_values(values)
        if not errors:  # the values are checked on every save, ticked or not
            try:
                validate_rules(rules)
            except ValidationError as exc:
                errors = list(exc.errors)
        published = current.status in (ProgramStatus.active, ProgramStatus.paused)
        if published and not values.get("new_version"):
            errors.append(
                FieldError(
                    "new_version",
                    "已发布的项目修改后将作为新版本立即生效，请勾选确认",
                    "A published programme's edit goes live as a new version: tick to confirm",
                )
            )
        if not errors:
            try:
                view = await update_program(
                    db_session,
                    program_id=program_id,
                    rules=rules,
                    actor_id=staff.id,
                    expected_version=None if published else current.version_number,
                )
            except ValidationError as exc:
                errors = list(exc.errors)
            else:
                record(
                    db_session,
                    staff,
                    "program.update",
                    target_type=TARGET,
                    target_id=view.id,
                    org_path=view.owner_org_path,
                    summary={
                        "code": view.code,
                        "status": view.status,
                        "version": view.version_number,
                    },
                )
                return Response(
                    "", headers={"HX-Redirect": f"/console/programmes/{program_id}?saved=1"}
                )
        return Template(
            "console/_programme_form.html",
            context={
                "action": f"/console/programmes/{program_id}",
                "creating": False,
                "p": current,
                "can_write": True,
                "errors": _errors_by_field(errors, request),
                **await _form_context(db_session, staff, values),
            },
            status_code=422,
        )

    @post("/{program_id:uuid}/publish", status_code=200)
    async def publish(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        program_id: uuid.UUID,
    ) -> Response[Any]:
        current = await get_program(db_session, program_id=program_id)
        ensure_writable(staff, current)
        try:
            view = await publish_program(db_session, program_id=program_id, actor_id=staff.id)
        except ValidationError as exc:
            # The draft is saved but not publishable: show why next to the fields.
            return Template(
                "console/_programme_form.html",
                context={
                    "action": f"/console/programmes/{program_id}",
                    "creating": False,
                    "p": current,
                    "can_write": True,
                    "errors": _errors_by_field(list(exc.errors), request),
                    "publish_failed": True,
                    **await _form_context(db_session, staff, pf.values_from_rules(current.rules)),
                },
                status_code=422,
            )
        record(
            db_session,
            staff,
            "program.publish",
            target_type=TARGET,
            target_id=view.id,
            org_path=view.owner_org_path,
            summary={"code": view.code, "version": view.version_number},
        )
        return Response(
            "", headers={"HX-Redirect": f"/console/programmes/{program_id}?published=1"}
        )

    @post("/{program_id:uuid}/{action:str}", status_code=200)
    async def transition(
        self, staff: Principal, db_session: AsyncSession, program_id: uuid.UUID, action: str
    ) -> Response[Any]:
        fn = {"pause": pause_program, "resume": resume_program, "end": end_program}.get(action)
        if fn is None:
            raise Forbidden("unknown_action", "未知操作", "Unknown action")
        ensure_writable(staff, await get_program(db_session, program_id=program_id))
        view = await fn(db_session, program_id=program_id)
        record(
            db_session,
            staff,
            f"program.{action}",
            target_type=TARGET,
            target_id=view.id,
            org_path=view.owner_org_path,
            summary={"code": view.code, "status": view.status},
        )
        return Response("", headers={"HX-Redirect": f"/console/programmes/{program_id}"})

    @post("/{program_id:uuid}/simulate", status_code=200)
    async def simulate(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        benefits_directory: Dir,
        program_id: uuid.UUID,
    ) -> Template:
        program = await get_program(db_session, program_id=program_id)
        ensure_readable(staff, program)
        values = pf.form_values(await request.form())
        r = pf.Reader(values)
        amount = r.decimal("amount", 100)
        units = r.integer("units") or 1
        member_no = r.text("member_no")
        org_raw = r.text("org_id")
        if amount is None and not r.errors:
            r.errors.append(FieldError("amount", "请填写消费金额", "enter the bill amount"))
        members = []
        try:
            org_id = uuid.UUID(org_raw) if org_raw and not member_no else None
        except ValueError:
            org_id = None
        if not member_no and org_id is None:
            r.errors.append(
                FieldError(
                    "member_no",
                    "请填写会员号或选择一个组织抽样",
                    "enter a member no. or pick an org",
                )
            )
        else:
            try:
                members = await simulation_members(
                    staff, benefits_directory, member_no=member_no or None, org_id=org_id
                )
            except BenefitsError as exc:
                # Shown under the member field, where the choice is made.
                first = exc.errors[0]
                r.errors.append(FieldError("member_no", first.reason_zh, first.reason_en))
        if r.errors:
            return Template(
                "console/_simulation.html",
                context={"errors": _errors_by_field(r.errors, request), "rows": None},
                status_code=422,
            )
        category = r.text("category") or None
        quotes = await simulate(
            db_session,
            members=[m.facts for m in members],
            merchant=await simulation_point_of_sale(
                benefits_directory,
                merchant_id=None,
                store_id=None,
                category=category,
                region=r.text("region") or None,
            ),
            amount_fen=amount or 0,
            units=units,
            at=utc_now(),
            program_ids=[program_id],
        )
        rows = []
        for ref, q in zip(members, quotes, strict=True):
            rows.append(
                {
                    "member_no": ref.member_no,
                    "applies": q.applicable[0] if q.applicable else None,
                    "refused": q.not_applicable[0] if q.not_applicable else None,
                }
            )
        return Template(
            "console/_simulation.html",
            context={
                "errors": {},
                "rows": rows,
                "eligible": sum(1 for x in rows if x["applies"]),
                "amount": amount,
            },
        )
