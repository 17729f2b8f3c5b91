"""Deciding many join applications at once: each succeeds or fails alone, with its reason."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.membership.service import approve_application, reject_application, rejection_reason

MAX_BULK = 200


@dataclass(frozen=True, slots=True)
class BulkResult:
    id: uuid.UUID
    ok: bool
    code: str | None = None
    message_zh: str | None = None
    message_en: str | None = None
    member_no: str | None = None


def _failed(app_id: uuid.UUID, exc: AppError) -> BulkResult:
    return BulkResult(app_id, False, exc.code, exc.message_zh, exc.message_en)


async def bulk_approve(
    session: AsyncSession, actor: Principal, cipher: PiiCipher, ids: list[uuid.UUID]
) -> list[BulkResult]:
    """Approve each (a repeated id counts once); one refusal rolls back only its own changes."""
    out: list[BulkResult] = []
    for app_id in dict.fromkeys(ids):
        try:
            async with session.begin_nested():
                member = await approve_application(session, actor, cipher, app_id)
            out.append(BulkResult(app_id, True, member_no=member.member_no))
        except AppError as exc:
            out.append(_failed(app_id, exc))
    return out


async def bulk_reject(
    session: AsyncSession, actor: Principal, ids: list[uuid.UUID], *, reason: str
) -> list[BulkResult]:
    """Reject each with the same reason the applicants see; a blank reason refuses them all."""
    reason = rejection_reason(reason)
    out: list[BulkResult] = []
    for app_id in dict.fromkeys(ids):
        try:
            async with session.begin_nested():
                await reject_application(session, actor, app_id, reason=reason)
            out.append(BulkResult(app_id, True))
        except AppError as exc:
            out.append(_failed(app_id, exc))
    return out
