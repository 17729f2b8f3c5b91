"""Data-subject requests over HTTP: staff erase or export a member; a member exports their own.

Staff need ``member.privacy`` on the member's union (federation and union admins); both
actions are audited. A member's own export is audited too, with the member as the actor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.openapi import ATTACHMENT, success_operation
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.web import client_ip
from cardsvc.memberauth.sessions import close_member_sessions
from cardsvc.members.models import Member
from cardsvc.privacy.erasure import erase_member, privacy_member, sweep_files
from cardsvc.privacy.export import member_export, own_export
from cardsvc.privacy.parts import all_parts

# Sent as a file to keep (``Content-Disposition: attachment``).
DOWNLOAD = success_operation(headers={"Content-Disposition": ATTACHMENT})


class ErasureIn(msgspec.Struct):
    # The basis: e.g. the reference of the member's request. Never personal data itself.
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=255, examples=["12351-2026-0042"])]


class ErasureOut(msgspec.Struct):
    member_id: uuid.UUID
    member_no: str
    erased_at: datetime
    sessions_ended: int
    counts: dict[str, int]


def _download(doc: dict[str, Any], member_no: str) -> Response[dict[str, Any]]:
    return Response(
        doc,
        headers={
            "Content-Disposition": f'attachment; filename="member-{member_no}-data.json"',
            "Cache-Control": "no-store",
        },
    )


class PrivacyController(Controller):
    path = "/api/v1/members/{member_id:uuid}"
    tags = ["staff: privacy"]

    @post(
        "/erasure",
        summary="Erase a member's personal data (irreversible; ledger and settlements kept)",
        status_code=200,
    )
    async def erase(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        data: ErasureIn,
    ) -> ErasureOut:
        parts = all_parts()
        result = await erase_member(
            db_session, staff, state.cipher, member_id, reason=data.reason, parts=parts
        )
        await db_session.commit()  # the files go only once their rows are gone for good
        result.counts.update(await sweep_files(db_session, state.settings, parts))
        ended = 0
        if result.phone_hash:
            ended = await close_member_sessions(state.stores.get("sessions"), result.phone_hash)
        return ErasureOut(
            result.member_id, result.member_no, result.erased_at, ended, result.counts
        )

    @get(
        "/personal-data",
        summary="Everything held about a member, decrypted (access request; audited)",
        operation_class=DOWNLOAD,
    )
    async def export(
        self, staff: Principal, state: State, db_session: AsyncSession, member_id: uuid.UUID
    ) -> Response[dict[str, Any]]:
        member = await privacy_member(db_session, staff, member_id)
        record(
            db_session,
            staff,
            "member.privacy_export",
            target_type="member",
            target_id=member.id,
            org_path=member.org_path,
            summary={"member_no": member.member_no},
        )
        doc = await member_export(db_session, state.cipher, member, all_parts())
        return _download(doc, member.member_no)


class MyDataController(Controller):
    path = "/api/v1/me/personal-data"
    tags = ["member: privacy"]

    @get("/", summary="Download everything held about me (JSON)", operation_class=DOWNLOAD)
    async def mine(
        self, request: Request[Any, Any, Any], state: State, db_session: AsyncSession, me: Member
    ) -> Response[dict[str, Any]]:
        doc = await own_export(
            db_session,
            state.cipher,
            me,
            all_parts(),
            ip=client_ip(request),
            request_id=request.scope.get("state", {}).get("request_id"),
        )
        return _download(doc, me.member_no)
