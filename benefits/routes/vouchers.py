"""HTTP: the staff voucher campaign API (thin controller), scoped and audited like programmes."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.access import READ, WRITE, Audit, Directory, Forbidden, StaffPrincipal, read_prefixes
from benefits.engine.txn import utc_now
from benefits.programmes.simulation import org_not_found
from benefits.routes.programmes import STAFF
from benefits.routes.voucher_schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPage,
    DrawOut,
    FiguresOut,
    campaign_out,
    draw_out,
    figures_out,
)
from benefits.vouchers.admission import Admission, AdmissionUnavailable
from benefits.vouchers.campaigns import (
    CampaignView,
    campaign_not_found,
    create_campaign,
    get_campaign,
    list_campaigns,
    move_campaign,
)
from benefits.vouchers.claims import ClaimBusy
from benefits.vouchers.figures import campaign_figures
from benefits.vouchers.lottery import draw_campaign, draw_record
from benefits.vouchers.models import CampaignStatus
from benefits.vouchers.rebuild import rebuild

TARGET = "voucher_campaign"
Staff = SkipValidation[StaffPrincipal]
Dir = SkipValidation[Directory]
AuditLog = SkipValidation[Audit]
Adm = SkipValidation[Admission]
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000_000, description="rows to skip")]


async def _readable(db: AsyncSession, staff: StaffPrincipal, cid: uuid.UUID) -> CampaignView:
    c = await get_campaign(db, cid)
    if not staff.can(READ, c.owner_org_path):
        raise campaign_not_found(cid)
    return c


async def _writable(db: AsyncSession, staff: StaffPrincipal, cid: uuid.UUID) -> CampaignView:
    c = await _readable(db, staff, cid)
    if not staff.can(WRITE, c.owner_org_path):
        raise Forbidden(
            message_zh="您对该活动只有查看权限", message_en="You may view this campaign only"
        )
    return c


async def _reload(db: AsyncSession, admission: Admission, cid: uuid.UUID) -> None:
    """Put the admission store in line with the database (after publish, end, reconcile)."""
    try:
        if not await rebuild(db, admission, cid):
            raise ClaimBusy()
    except AdmissionUnavailable:
        raise ClaimBusy() from None


class VoucherCampaignController(Controller):
    path = "/api/v1/voucher-campaigns"
    tags = ["staff: voucher campaigns"]
    security = STAFF

    @get("/", summary="List voucher campaigns in my subtrees")
    async def index(
        self,
        staff: Staff,
        db_session: AsyncSession,
        status: list[CampaignStatus] | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CampaignPage:
        rows, total = await list_campaigns(
            db_session,
            prefixes=read_prefixes(staff),
            status=[s.value for s in status] if status else None,
            limit=limit,
            offset=offset,
        )
        return CampaignPage([campaign_out(c) for c in rows], total, limit, offset)

    @post("/", summary="Create a draft campaign owned by an org in my subtree")
    async def create(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_directory: Dir,
        benefits_audit: AuditLog,
        data: CampaignIn,
    ) -> CampaignOut:
        path = await benefits_directory.org_path(data.owner_org_id)
        if path is None or not staff.can(READ, path):
            raise org_not_found("owner_org_id")
        if not staff.can(WRITE, path):
            raise Forbidden(message_zh="您在该组织只有查看权限", message_en="View only here")
        view = await create_campaign(
            db_session,
            code=data.code,
            name=data.name,
            owner_org_id=data.owner_org_id,
            owner_org_path=path,
            mode=data.mode,
            terms=data.terms,
            stock=data.stock,
            per_member=data.per_member,
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            restock_expired=data.restock_expired,
            actor_id=staff.id,
        )
        benefits_audit(
            "voucher_campaign.create",
            TARGET,
            view.id,
            path,
            {"code": view.code, "stock": view.stock, "restock_expired": view.restock_expired},
        )
        return campaign_out(view)

    @get("/{campaign_id:uuid}", summary="One campaign")
    async def detail(
        self, staff: Staff, db_session: AsyncSession, campaign_id: uuid.UUID
    ) -> CampaignOut:
        return campaign_out(await _readable(db_session, staff, campaign_id))

    @get("/{campaign_id:uuid}/figures", summary="Claimed, used, expired and left")
    async def figures(
        self, staff: Staff, db_session: AsyncSession, campaign_id: uuid.UUID
    ) -> FiguresOut:
        c = await _readable(db_session, staff, campaign_id)
        return figures_out(await campaign_figures(db_session, c))

    @post("/{campaign_id:uuid}/publish", summary="Publish a draft: members see it", status_code=200)
    async def publish(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        voucher_admission: Adm,
        campaign_id: uuid.UUID,
    ) -> CampaignOut:
        return await self._move(
            staff, db_session, benefits_audit, voucher_admission, campaign_id, "publish"
        )

    @post("/{campaign_id:uuid}/end", summary="End a campaign: no more claims", status_code=200)
    async def end(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        voucher_admission: Adm,
        campaign_id: uuid.UUID,
    ) -> CampaignOut:
        return await self._move(
            staff, db_session, benefits_audit, voucher_admission, campaign_id, "end"
        )

    async def _move(
        self,
        staff: StaffPrincipal,
        db: AsyncSession,
        audit: Audit,
        admission: Admission,
        cid: uuid.UUID,
        action: str,
    ) -> CampaignOut:
        c = await _writable(db, staff, cid)
        view = await move_campaign(db, cid, action, utc_now())
        audit(f"voucher_campaign.{action}", TARGET, cid, c.owner_org_path, {"code": c.code})
        await db.commit()
        await _reload(db, admission, cid)
        return campaign_out(view)

    @post(
        "/{campaign_id:uuid}/reconcile",
        summary="Rebuild the claim admission state from the vouchers in the database",
        status_code=200,
    )
    async def reconcile(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        voucher_admission: Adm,
        campaign_id: uuid.UUID,
    ) -> FiguresOut:
        c = await _writable(db_session, staff, campaign_id)
        await _reload(db_session, voucher_admission, campaign_id)
        benefits_audit("voucher_campaign.reconcile", TARGET, campaign_id, c.owner_org_path, None)
        return figures_out(await campaign_figures(db_session, c))

    @post(
        "/{campaign_id:uuid}/draw",
        summary="Draw a closed lottery: winners get their vouchers, the seed is published",
        status_code=200,
    )
    async def draw(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        campaign_id: uuid.UUID,
    ) -> DrawOut:
        c = await _writable(db_session, staff, campaign_id)
        record = await draw_campaign(db_session, campaign_id, utc_now())
        benefits_audit(
            "voucher_campaign.draw",
            TARGET,
            campaign_id,
            c.owner_org_path,
            {"applicants": len(record.applicants or []), "winners": len(record.winners or [])},
        )
        return draw_out(record)

    @get("/{campaign_id:uuid}/draw", summary="A lottery's published record (recompute it)")
    async def draw_detail(
        self, staff: Staff, db_session: AsyncSession, campaign_id: uuid.UUID
    ) -> DrawOut:
        await _readable(db_session, staff, campaign_id)
        return draw_out(await draw_record(db_session, campaign_id, utc_now()))
