"""Merchants, their stores, and the stores' terminals and API keys.

The same service calls as ``merchants.onboarding.routes`` (so the subtree checks and the audit rows are
the API's); after a status change or a key change the terminal gate's cache is told, as the
API does. A new or rotated key is shown once, in the response fragment only.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Conflict, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.service import find_org, orgs_in_scope
from cardsvc.pages.console.common import ConsoleController, field_errors, page, require
from cardsvc.pages.console.store_hours import DAY_FIELDS
from cardsvc.pages.console.store_listing import AMENITIES, MAX_PHOTOS, listing_values
from cardsvc.pages.i18n import lang_of, pick
from merchants.models import CATEGORY_LABELS_ZH, MerchantCategory, MerchantStatus
from merchants.onboarding.schemas import merchant_out, store_out, terminal_out
from merchants.onboarding.service import (
    MerchantInput,
    MerchantQuery,
    change_status,
    create_merchant,
    create_store,
    get_merchant,
    list_stores,
    search_merchants,
)
from merchants.onboarding.stores import close_store, set_terminal_status, update_store
from merchants.onboarding.terminals import (
    create_terminal,
    list_terminals,
    revoke_key,
    rotate_key,
)
from merchants.terminal.auth import gate_of

CATEGORY_EN = {
    "dining": "Dining",
    "retail": "Retail",
    "cinema": "Cinema",
    "health": "Health",
    "fitness": "Fitness",
    "education": "Education",
    "rest_station": "Rest station",
    "other": "Other",
}
CATEGORIES = {
    c.value: (CATEGORY_LABELS_ZH[c], CATEGORY_EN.get(c.value, c.value)) for c in MerchantCategory
}
STATUS_LABELS = {
    "active": ("合作中", "Active"),
    "suspended": ("已暂停", "Suspended"),
    "terminated": ("已终止", "Terminated"),
}
MERCHANT_FIELDS = (
    "org_id",
    "legal_name",
    "display_name",
    "uscc",
    "category",
    "region",
    "region_name",
    "contact_name",
    "contact_phone",
    "bank_name",
    "bank_account_name",
    "bank_account_number",
)
NO_READ = ("您的角色无权查看商户", "Your role may not view merchants")
NO_WRITE = ("您的角色无权管理商户", "Your role may not manage merchants")


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, "")).strip() for k in form}


class MerchantPages(ConsoleController):
    path = "/console/merchants"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        q: str | None = None,
        category: str | None = None,
        status: str | None = None,
        offset: int = 0,
    ) -> Template:
        require(staff, Perm.merchants_read, *NO_READ)
        query = MerchantQuery(
            q=(q or "").strip() or None,
            category=MerchantCategory(category) if category in CATEGORIES else None,
            status=MerchantStatus(status) if status in STATUS_LABELS else None,
            limit=50,
            offset=max(offset, 0),
        )
        rows, total = await search_merchants(db_session, staff, query)
        return await page(
            request,
            state,
            staff,
            "console/merchants.html",
            "merchants",
            items=[merchant_out(m) for m in rows],
            total=total,
            offset=query.offset,
            limit=50,
            q=request.query_params,
            categories=CATEGORIES,
            statuses=STATUS_LABELS,
            can_write=staff.can(Perm.merchants_write),
        )

    @get("/new")
    async def new(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        require(staff, Perm.merchants_write, *NO_WRITE)
        return await page(
            request,
            state,
            staff,
            "console/merchant_new.html",
            "merchants",
            values={},
            errors={},
            owners=await orgs_in_scope(db_session, staff, Perm.merchants_write),
            categories=CATEGORIES,
        )

    @post("/new", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Response[Any]:
        require(staff, Perm.merchants_write, *NO_WRITE)
        values = await _form(request)
        errors: dict[str, str] = {}
        try:
            org_id = uuid.UUID(values.get("org_id", ""))
        except ValueError:
            org_id = None
            errors["org_id"] = pick(lang_of(request), "请选择所属组织", "Choose the owning org")
        if org_id is not None:
            try:
                category = MerchantCategory(values.get("category", ""))
            except ValueError:
                category = MerchantCategory.other
                errors["category"] = pick(lang_of(request), "请选择类别", "Choose a category")
            if not errors:
                try:
                    m = await create_merchant(
                        db_session,
                        staff,
                        state.cipher,
                        MerchantInput(
                            org_id=org_id,
                            category=category,
                            legal_name=values.get("legal_name", ""),
                            display_name=values.get("display_name", ""),
                            uscc=values.get("uscc", ""),
                            region=values.get("region", ""),
                            contact_name=values.get("contact_name", ""),
                            contact_phone=values.get("contact_phone", ""),
                            region_name=values.get("region_name") or None,
                            bank_name=values.get("bank_name") or None,
                            bank_account_name=values.get("bank_account_name") or None,
                            bank_account_number=values.get("bank_account_number") or None,
                        ),
                    )
                except ValidationError as exc:
                    errors = field_errors(exc, request)
                else:
                    return Response("", headers={"HX-Redirect": f"/console/merchants/{m.id}"})
        return Template(
            "console/_merchant_form.html",
            context={
                "values": values,
                "errors": errors,
                "owners": await orgs_in_scope(db_session, staff, Perm.merchants_write),
                "categories": CATEGORIES,
            },
            status_code=422,
        )

    @get("/{merchant_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
    ) -> Template:
        m = await get_merchant(db_session, staff, merchant_id)
        stores = await list_stores(db_session, staff, merchant_id)
        now = utc_now()
        terminals = {
            s.id: [
                terminal_out(t, keys, now)
                for t, keys in await list_terminals(db_session, staff, s.id)
            ]
            for s in stores
        }
        owner = await find_org(db_session, m.org_id)
        return await page(
            request,
            state,
            staff,
            "console/merchant.html",
            "merchants",
            m=merchant_out(m),
            owner=owner,
            stores=[store_out(s) for s in stores],
            listings={s.id: listing_values(s) for s in stores},
            max_photos=MAX_PHOTOS,
            amenity_labels=AMENITIES,
            day_fields=DAY_FIELDS,
            tiles=state.settings.map_tile_url,
            datum=state.settings.map_datum,
            terminals=terminals,
            categories=CATEGORIES,
            statuses=STATUS_LABELS,
            can_write=staff.can(Perm.merchants_write, m.org_path),
        )

    @post("/{merchant_id:uuid}/status/{action:str}", status_code=200)
    async def status(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        action: str,
    ) -> Response[Any]:
        if action not in ("suspend", "resume", "terminate"):
            raise ValidationError.field("action", "未知操作", "unknown action")
        values = await _form(request)
        m = await change_status(
            db_session, staff, merchant_id, action=action, reason=values.get("reason") or None
        )
        gate_of(state).forget(merchant_id=m.id)
        return Response("", headers={"HX-Redirect": f"/console/merchants/{merchant_id}"})

    @post("/{merchant_id:uuid}/stores", status_code=200)
    async def add_store(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
    ) -> Response[Any]:
        values = await _form(request)
        try:
            await create_store(
                db_session,
                staff,
                merchant_id,
                name=values.get("name", ""),
                address=values.get("address", ""),
                region=values.get("region", ""),
            )
        except ValidationError as exc:
            return Template(
                "console/_store_form.html",
                context={
                    "merchant_id": merchant_id,
                    "values": values,
                    "errors": field_errors(exc, request),
                },
                status_code=422,
            )
        return Response("", headers={"HX-Redirect": f"/console/merchants/{merchant_id}"})

    @post("/{merchant_id:uuid}/stores/{store_id:uuid}/edit", status_code=200)
    async def edit_store(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
    ) -> Response[Any]:
        values = await _form(request)
        try:
            await update_store(
                db_session,
                staff,
                store_id,
                name=values.get("name", ""),
                address=values.get("address", ""),
                region=values.get("region", ""),
            )
        except (ValidationError, Conflict) as exc:
            if not exc.errors:
                raise
            return Template(
                "console/_store_edit.html",
                context={
                    "merchant_id": merchant_id,
                    "store_id": store_id,
                    "values": values,
                    "errors": field_errors(exc, request),
                },
                status_code=422,
            )
        return Response("", headers={"HX-Redirect": f"/console/merchants/{merchant_id}"})

    @post("/{merchant_id:uuid}/stores/{store_id:uuid}/close", status_code=200)
    async def close_one_store(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        merchant_id: uuid.UUID,
        store_id: uuid.UUID,
    ) -> Response[Any]:
        values = await _form(request)
        _, prefixes = await close_store(
            db_session, staff, store_id, reason=values.get("reason", "")
        )
        gate_of(state).forget(prefixes=tuple(prefixes))
        return Response("", headers={"HX-Redirect": f"/console/merchants/{merchant_id}"})


class TerminalPages(ConsoleController):
    """A store's terminals and their keys; the fragment re-rendered after every change."""

    path = "/console/stores/{store_id:uuid}/terminals"

    async def _fragment(
        self,
        db: AsyncSession,
        staff: Principal,
        store_id: uuid.UUID,
        issued: Any = None,
        errors: dict[str, str] | None = None,
    ) -> Template:
        now = utc_now()
        rows = [terminal_out(t, keys, now) for t, keys in await list_terminals(db, staff, store_id)]
        return Template(
            "console/_terminals.html",
            context={
                "store_id": store_id,
                "items": rows,
                "issued": issued,
                "errors": errors or {},
                "can_write": staff.can(Perm.merchants_write),
            },
            # A response that shows a key once is never stored by a cache.
            headers={"Cache-Control": "no-store"} if issued else None,
        )

    @post("/", status_code=200)
    async def add(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        store_id: uuid.UUID,
    ) -> Template:
        values = await _form(request)
        try:
            terminal, issued = await create_terminal(
                db_session, staff, store_id, name=values.get("name", "")
            )
        except ValidationError as exc:
            return await self._fragment(
                db_session, staff, store_id, errors=field_errors(exc, request)
            )
        return await self._fragment(
            db_session, staff, store_id, issued=(terminal.name, issued.plain)
        )

    @post("/{terminal_id:uuid}/rotate", status_code=200)
    async def rotate(
        self,
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        store_id: uuid.UUID,
        terminal_id: uuid.UUID,
    ) -> Template:
        gate = gate_of(state)
        terminal, issued, old = await rotate_key(
            db_session, staff, terminal_id, grace_seconds=gate.config.rotation_grace_seconds
        )
        gate.forget(prefixes=tuple(k.prefix for k in old))
        return await self._fragment(
            db_session, staff, store_id, issued=(terminal.name, issued.plain)
        )

    @post("/{terminal_id:uuid}/keys/{key_id:uuid}/revoke", status_code=200)
    async def revoke(
        self,
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        store_id: uuid.UUID,
        terminal_id: uuid.UUID,
        key_id: uuid.UUID,
    ) -> Template:
        key, _ = await revoke_key(
            db_session,
            staff,
            key_id=key_id,
            terminal_id=terminal_id,
            reason="控制台撤销 / revoked in the console",
        )
        gate_of(state).forget(prefixes=(key.prefix,))
        return await self._fragment(db_session, staff, store_id)

    @post("/{terminal_id:uuid}/{action:str}", status_code=200)
    async def set_status(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        store_id: uuid.UUID,
        terminal_id: uuid.UUID,
        action: str,
    ) -> Template:
        if action not in ("disable", "enable"):
            raise ValidationError.field("action", "未知操作", "unknown action")
        values = await _form(request)
        _, prefixes = await set_terminal_status(
            db_session,
            staff,
            terminal_id,
            active=action == "enable",
            reason=values.get("reason") or None,
        )
        gate_of(state).forget(prefixes=tuple(prefixes))
        return await self._fragment(db_session, staff, store_id)
