"""Erasure (PIPL art. 47): anonymise a member's personal data for good, keep the ledger whole.

What stays: the member row's id, number, org and join date (redemptions, counters and
settlements reference the id, so usage totals and merchant settlements do not change), the
redemption ledger itself, cards (revoked) and their history, membership events (without their
free-text reasons) and the audit log (append-only; it records that the erasure happened).

What goes: name, ID number, phone (ciphertext and lookup hashes), birth date, gender,
categories and hardship level, employer, job, region, extra fields; join applications (the
applicant's copy of the same data); transfer notes; the scan log (via the merchants' hook);
live member sessions (the caller ends them with the returned phone hash).

Irreversible: a second request for the same member is refused with ``member_already_erased``.
Files the erased rows referred to (service-request attachments) are deleted once the erasure
has committed (``sweep_files``), unless another row still refers to them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import service as cards
from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Conflict, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.consent import erase_consents
from cardsvc.members.models import Member, MemberIdentity, MemberStatus
from cardsvc.members.service import ID_FIELD
from cardsvc.membership.lifecycle import add_event, after_status_change, card_actor
from cardsvc.membership.models import (
    ApplicationIdentity,
    JoinApplication,
    MembershipEvent,
    TransferRequest,
)
from cardsvc.privacy.parts import PrivacyParts

ERASED_NAME = "已注销"
ERASED_REASON = "个人信息已删除"


@dataclass(slots=True)
class ErasureResult:
    member_id: uuid.UUID
    member_no: str
    erased_at: datetime
    phone_hash: str | None  # to end the member's sessions (not stored anywhere any more)
    counts: dict[str, int] = field(default_factory=dict)


def erased_hash(member_id: uuid.UUID) -> str:
    """Stands in for the ID number's lookup hash (unique, matches no real number)."""
    return f"erased:{member_id.hex}"


async def privacy_member(
    session: AsyncSession, viewer: Principal, member_id: uuid.UUID, *, lock: bool = False
) -> Member:
    """The member if the viewer may handle data-subject requests for them; else 404."""
    q = select(Member).where(Member.id == member_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    member = await session.scalar(q)
    if member is None or not viewer.can(Perm.member_privacy, member.org_path):
        raise NotFound("member_not_found", "未找到该会员", "Member not found")
    return member


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError.field(
            "reason",
            "请填写删除依据（如会员申请的受理编号）",
            "give the basis of the erasure (e.g. the request's reference)",
        )
    return reason


async def _end_membership(session: AsyncSession, actor: Principal, member: Member) -> None:
    """Membership ends and the card is revoked (also offline, through the status list)."""
    before = member.status
    if before != MemberStatus.left:
        member.status = MemberStatus.left
        await after_status_change(session, member, before, actor, reason=ERASED_REASON)
    else:
        await cards.revoke_member_cards(
            session, member_id=member.id, actor=card_actor(actor), reason=ERASED_REASON
        )
    member.status_reason = ERASED_REASON


def _blank_member(cipher: PiiCipher, member: Member, now: datetime) -> None:
    member.name = ERASED_NAME
    # An empty ciphertext keeps every reader working (it masks to ""), and matches nothing.
    member.id_number_enc = cipher.encrypt(ID_FIELD, "")
    member.id_number_hash = erased_hash(member.id)
    member.phone_enc = member.phone_hash = None
    member.data_key_id = cipher.active_kid
    member.birth_date = None
    member.gender = ""
    member.categories = []
    member.hardship_level = None
    member.employment_type = member.employer = member.job = member.region_code = None
    member.extra = {}
    member.erased_at = now


async def _erase_membership_records(
    session: AsyncSession, member: Member, id_hash: str, counts: dict[str, int]
) -> None:
    """Join applications go; transfer notes and membership event details are cleared."""
    conds: list[Any] = [JoinApplication.member_id == member.id]
    conds.append(JoinApplication.id_number_hash == id_hash)
    result = await session.execute(
        delete(JoinApplication).where(or_(*conds)).execution_options(synchronize_session=False)
    )
    # Its pending application's hold on the ID number goes with it.
    await session.execute(
        delete(ApplicationIdentity).where(ApplicationIdentity.id_number_hash == id_hash)
    )
    counts["join_applications_deleted"] = int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
    result = await session.execute(
        update(TransferRequest)
        .where(TransferRequest.member_id == member.id)
        .values(note=None, reason=None)
        .execution_options(synchronize_session=False)
    )
    counts["transfer_notes_cleared"] = int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
    await session.flush()
    await session.execute(
        update(MembershipEvent)
        .where(MembershipEvent.member_id == member.id)
        .values(reason=None, detail={})
        .execution_options(synchronize_session=False)
    )


async def erase_member(
    session: AsyncSession,
    actor: Principal,
    cipher: PiiCipher,
    member_id: uuid.UUID,
    *,
    reason: str,
    parts: PrivacyParts,
    now: datetime | None = None,
) -> ErasureResult:
    reason = _check_reason(reason)
    member = await privacy_member(session, actor, member_id, lock=True)
    if member.erased_at is not None:
        raise Conflict(
            "member_already_erased",
            "该会员的个人信息已删除，不能再次删除",
            "this member's personal data has already been erased",
        )
    now = now or utc_now()
    counts: dict[str, int] = {}
    phone_hash, id_hash = member.phone_hash, member.id_number_hash
    await _end_membership(session, actor, member)
    _blank_member(cipher, member, now)
    # The ID number is free again (the person may join anew); the identity row follows the
    # member's erased hash, as a delete and an insert (the hash distributes it under Citus).
    await session.execute(delete(MemberIdentity).where(MemberIdentity.member_id == member.id))
    session.add(MemberIdentity(id_number_hash=member.id_number_hash, member_id=member.id))
    await _erase_membership_records(session, member, id_hash, counts)
    counts["consents"] = await erase_consents(session, phone_hash)
    for name, hook in parts.erase_hooks.items():
        counts[name] = await hook(session, member.id)
    add_event(session, member, "erased", actor, reason=ERASED_REASON)
    record(
        session,
        actor,
        "member.erase",
        target_type="member",
        target_id=member.id,
        org_path=member.org_path,
        summary={"member_no": member.member_no, "basis": reason[:255], **counts},
    )
    return ErasureResult(member.id, member.member_no, now, phone_hash, counts)


async def sweep_files(
    session: AsyncSession, settings: Settings, parts: PrivacyParts, *, batch: int = 1000
) -> dict[str, int]:
    """After an erasure has committed: delete the files no row refers to any more."""
    now = utc_now()
    out: dict[str, int] = {}
    for name, sweep in parts.file_sweeps.items():
        total = 0
        while True:
            async with session.begin():
                n = await sweep(session, now, settings, batch)
            total += n
            if n < batch:
                break
        out[name] = total
    return out
