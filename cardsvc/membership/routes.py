"""Membership API: finding a union and applying (members), and the approval queue (staff)."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Annotated, Any

import msgspec
import qrcode
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from qrcode.image.pil import PilImage
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.openapi import RATE_LIMITED
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.web import client_ip
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import Member
from cardsvc.members.service import get_member
from cardsvc.membership.bulk import bulk_approve, bulk_reject
from cardsvc.membership.history import member_events, member_leaves
from cardsvc.membership.invites import (
    create_invite,
    get_invite,
    list_invites,
    resolve_invite,
    revoke_invite,
)
from cardsvc.membership.models import (
    RequestStatus,
)
from cardsvc.membership.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    BulkIn,
    BulkItem,
    BulkRejectIn,
    EventOut,
    InviteIn,
    InviteInfo,
    InviteOut,
    LeaveIn,
    LeavePage,
    MemberStatusOut,
    ReviewApplicationOut,
    TransferIn,
    TransferOut,
    TransferPage,
    UnionPage,
    applications_out,
    applications_review_out,
    bulk_item,
    invite_out,
    leaves_out,
    transfers_out,
    union_out,
)
from cardsvc.membership.service import (
    PRIVACY_VERSION,
    ApplicationInput,
    ApplyThrottle,
    applications_for_phone,
    approve_application,
    get_application,
    leave,
    pending_applications,
    reject_application,
    search_unions,
    submit_application,
    withdraw_application,
)
from cardsvc.membership.transfers import (
    approve_transfer,
    get_transfer,
    pending_transfers,
    reject_transfer,
    request_transfer,
    transfers_for_member,
)

# Structs of this name exist in other packages too: the published document names it
# ``MembershipReasonIn`` (cardsvc/kernel/openapi.py). The other shapes are in
# :mod:`cardsvc.membership.schemas`.


class ReasonIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


def apply_throttle(request: Request[Any, Any, Any], state: State) -> ApplyThrottle:
    """Applications per phone and address, as configured (the API and the join page)."""
    return ApplyThrottle(
        limiter=state.limiter,
        ip=client_ip(request),
        per_phone_day=state.settings.join_per_phone_day,
        per_ip_hour=state.settings.join_per_ip_hour,
    )


# --- members and applicants ----------------------------------------------------------------------


class JoinController(Controller):
    path = "/api/v1/join"
    tags = ["member: joining"]

    @get("/unions", summary="Find a grassroots union to join (by name or area)")
    async def unions(
        self,
        db_session: AsyncSession,
        q: str | None = None,
        region: str | None = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> UnionPage:
        rows, total = await search_unions(
            db_session, q=q, region=region, limit=limit, offset=offset
        )
        return UnionPage([union_out(o) for o in rows], total, limit, offset)

    @get("/invites/{token:str}", summary="The union behind an invite link or QR")
    async def invite(self, db_session: AsyncSession, token: str) -> InviteInfo:
        invite, org = await resolve_invite(db_session, token)
        return InviteInfo(union_out(org), invite.label, PRIVACY_VERSION)


class MyMembershipController(Controller):
    path = "/api/v1/me"
    tags = ["member: joining"]

    @post("/applications", summary="Apply to join a union （网上入会）", responses=RATE_LIMITED)
    async def apply(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        data: ApplicationIn,
    ) -> ApplicationOut:
        cipher: PiiCipher = state.cipher
        app = await submit_application(
            db_session,
            cipher,
            phone=cipher.decrypt("phone", member_session.phone_enc),
            throttle=apply_throttle(request, state),
            data=ApplicationInput(
                name=data.name,
                id_number=data.id_number,
                org_id=data.org_id,
                invite_token=data.invite_token,
                employment_type=data.employment_type,
                employer=data.employer,
                job=data.job,
                region_code=data.region_code,
                privacy_version=data.privacy_version,
                consent=data.consent,
            ),
        )
        return (await applications_out(db_session, cipher, [app]))[0]

    @get("/applications", summary="My applications, with status and the reason if rejected")
    async def my_applications(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> list[ApplicationOut]:
        apps = await applications_for_phone(db_session, member_session.phone_hash)
        return await applications_out(db_session, state.cipher, apps)

    @post(
        "/applications/{app_id:uuid}/withdraw",
        summary="Withdraw a pending application",
        status_code=200,
    )
    async def withdraw(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        app_id: uuid.UUID,
    ) -> ApplicationOut:
        app = await withdraw_application(db_session, member_session.phone_hash, app_id)
        return (await applications_out(db_session, state.cipher, [app]))[0]

    @post("/transfers", summary="Ask to move to another union （转会）")
    async def transfer(self, db_session: AsyncSession, me: Member, data: TransferIn) -> TransferOut:
        t = await request_transfer(db_session, me, to_org_id=data.to_org_id, note=data.note)
        return (await transfers_out(db_session, [t]))[0]

    @get("/transfers", summary="My transfer requests")
    async def my_transfers(self, db_session: AsyncSession, me: Member) -> list[TransferOut]:
        return await transfers_out(db_session, await transfers_for_member(db_session, me.id))

    @post("/leave", summary="End my membership (the card is revoked)", status_code=200)
    async def leave(self, db_session: AsyncSession, me: Member, data: LeaveIn) -> MemberStatusOut:
        from cardsvc.kernel.principal import Principal as _P

        member = await leave(
            db_session,
            me,
            _P(id=None, username=f"member:{me.member_no}", display_name=me.name),
            reason=data.reason,
        )
        return MemberStatusOut(member.member_no, member.status, date.today())


# --- staff ------------------------------------------------------------------------------------


class ApprovalController(Controller):
    path = "/api/v1/approvals"
    tags = ["staff: approvals"]

    @get("/applications", summary="Join applications in my subtrees (default: pending)")
    async def applications(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        status: RequestStatus | None = RequestStatus.pending,
        org_id: uuid.UUID | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ApplicationPage:
        rows, total = await pending_applications(
            db_session, staff, status=status, org_id=org_id, limit=limit, offset=offset
        )
        return ApplicationPage(
            await applications_review_out(db_session, state.cipher, rows), total, limit, offset
        )

    @get("/applications/{app_id:uuid}", summary="One application")
    async def application(
        self, staff: Principal, state: State, db_session: AsyncSession, app_id: uuid.UUID
    ) -> ReviewApplicationOut:
        app = await get_application(db_session, staff, app_id)
        return (await applications_review_out(db_session, state.cipher, [app]))[0]

    @post(
        "/applications/{app_id:uuid}/approve",
        summary="Approve: member active, card issued",
        status_code=200,
    )
    async def approve(
        self, staff: Principal, state: State, db_session: AsyncSession, app_id: uuid.UUID
    ) -> ReviewApplicationOut:
        await approve_application(db_session, staff, state.cipher, app_id)
        app = await get_application(db_session, staff, app_id)
        return (await applications_review_out(db_session, state.cipher, [app]))[0]

    @post(
        "/applications/{app_id:uuid}/reject",
        summary="Reject with a reason the applicant sees",
        status_code=200,
    )
    async def reject(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        app_id: uuid.UUID,
        data: ReasonIn,
    ) -> ReviewApplicationOut:
        app = await reject_application(db_session, staff, app_id, reason=data.reason)
        return (await applications_review_out(db_session, state.cipher, [app]))[0]

    @post(
        "/applications/bulk-approve",
        summary="Approve many; each one succeeds or fails alone",
        status_code=200,
    )
    async def bulk_approve(
        self, staff: Principal, state: State, db_session: AsyncSession, data: BulkIn
    ) -> list[BulkItem]:
        results = await bulk_approve(db_session, staff, state.cipher, data.ids)
        return [bulk_item(r) for r in results]

    @post(
        "/applications/bulk-reject",
        summary="Reject many with one reason; each one succeeds or fails alone",
        status_code=200,
    )
    async def bulk_reject(
        self, staff: Principal, db_session: AsyncSession, data: BulkRejectIn
    ) -> list[BulkItem]:
        results = await bulk_reject(db_session, staff, data.ids, reason=data.reason)
        return [bulk_item(r) for r in results]

    @get("/transfers", summary="Transfer requests into (to decide) or out of my subtrees")
    async def transfers(
        self,
        staff: Principal,
        db_session: AsyncSession,
        status: RequestStatus | None = RequestStatus.pending,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> TransferPage:
        rows, total = await pending_transfers(
            db_session, staff, status=status, limit=limit, offset=offset
        )
        return TransferPage(await transfers_out(db_session, rows), total, limit, offset)

    @get("/leaves", summary="Members in my subtrees who ended their membership themselves")
    async def leaves(
        self,
        staff: Principal,
        db_session: AsyncSession,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> LeavePage:
        rows, total = await member_leaves(db_session, staff, limit=limit, offset=offset)
        return LeavePage(await leaves_out(db_session, rows), total, limit, offset)

    @post(
        "/transfers/{transfer_id:uuid}/approve", summary="Receiving union approves", status_code=200
    )
    async def approve_transfer(
        self, staff: Principal, db_session: AsyncSession, transfer_id: uuid.UUID
    ) -> TransferOut:
        await approve_transfer(db_session, staff, transfer_id)
        t = await get_transfer(db_session, staff, transfer_id)
        return (await transfers_out(db_session, [t]))[0]

    @post(
        "/transfers/{transfer_id:uuid}/reject", summary="Receiving union rejects", status_code=200
    )
    async def reject_transfer(
        self, staff: Principal, db_session: AsyncSession, transfer_id: uuid.UUID, data: ReasonIn
    ) -> TransferOut:
        t = await reject_transfer(db_session, staff, transfer_id, reason=data.reason)
        return (await transfers_out(db_session, [t]))[0]


class InviteController(Controller):
    path = "/api/v1"
    tags = ["staff: approvals"]

    @get("/orgs/{org_id:uuid}/invites", summary="A union's invite links")
    async def list_invites(
        self, staff: Principal, state: State, db_session: AsyncSession, org_id: uuid.UUID
    ) -> list[InviteOut]:
        rows = await list_invites(db_session, staff, org_id)
        return [invite_out(i, state.settings.public_url) for i in rows]

    @post("/orgs/{org_id:uuid}/invites", summary="Create an invite link / QR for a union")
    async def create_invite(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        org_id: uuid.UUID,
        data: InviteIn,
    ) -> InviteOut:
        invite = await create_invite(
            db_session, staff, org_id=org_id, label=data.label, valid_days=data.valid_days
        )
        return invite_out(invite, state.settings.public_url)

    @post("/invites/{invite_id:uuid}/revoke", summary="Revoke an invite link", status_code=200)
    async def revoke(
        self, staff: Principal, state: State, db_session: AsyncSession, invite_id: uuid.UUID
    ) -> InviteOut:
        return invite_out(
            await revoke_invite(db_session, staff, invite_id), state.settings.public_url
        )

    @get(
        "/invites/{invite_id:uuid}/qr.png",
        summary="The invite link as a printable QR (PNG)",
        media_type="image/png",
    )
    async def qr(
        self, staff: Principal, state: State, db_session: AsyncSession, invite_id: uuid.UUID
    ) -> Response[bytes]:
        invite, _ = await get_invite(db_session, staff, invite_id)
        # Pillow's image (qrcode's default when Pillow is installed): its save() takes format=
        url = invite_out(invite, state.settings.public_url).url
        img = qrcode.make(url, box_size=8, border=2, image_factory=PilImage)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return Response(buf.getvalue(), media_type="image/png")

    @get("/members/{member_id:uuid}/history", summary="A member's membership history")
    async def history(
        self, staff: Principal, db_session: AsyncSession, member_id: uuid.UUID
    ) -> list[EventOut]:
        member = await get_member(db_session, staff, member_id)
        rows = await member_events(db_session, member.id)
        return [EventOut(e.kind, e.at, e.from_org_id, e.to_org_id, e.actor, e.reason) for e in rows]
