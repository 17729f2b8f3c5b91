"""Access requests (PIPL art. 45): everything held about one member, as one JSON document.

Decrypted (it goes to the member, or to staff handling the member's request; both reads are
audited). Sections of other packages (redemptions and reversals, scans) come from their
parts. Member sessions are not listed: they are random tokens in the session store holding
the phone (encrypted) and expire after ``UNIONCARD_MEMBER_SESSION_MAX_AGE``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.models import Card, CardEvent
from cardsvc.kernel.audit import AuditEntry, record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.memberauth.consent import consent_history
from cardsvc.members.models import Member
from cardsvc.members.service import ID_FIELD, PHONE_FIELD
from cardsvc.membership.history import member_events
from cardsvc.membership.models import JoinApplication, TransferRequest
from cardsvc.orgs.models import Org
from cardsvc.privacy.parts import PrivacyParts

EXPORT_FORMAT = "unioncard.member-data.v1"
SESSIONS_NOTE = (
    "登录会话只保存手机号（加密）与随机令牌，到期自动删除；删除个人信息时一并结束。 / "
    "Sign-in sessions hold only the phone (encrypted) and a random token; they expire by "
    "themselves and end when the data is erased."
)


def plain(value: Any) -> Any:
    """JSON-ready: times as ISO 8601, ids as text, enums as their value."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {n: plain(getattr(obj, n)) for n in names}


def _decrypt(cipher: PiiCipher, field: str, token: str | None) -> str | None:
    return cipher.decrypt(field, token) if token else None


_PROFILE_FIELDS = (
    "id",
    "member_no",
    "name",
    "gender",
    "birth_date",
    "status",
    "status_reason",
    "categories",
    "hardship_level",
    "employment_type",
    "employer",
    "job",
    "region_code",
    "joined_on",
    "extra",
    "created_at",
    "updated_at",
    "erased_at",
)
_CARD_FIELDS = (
    "id",
    "number",
    "generation",
    "status",
    "issued_at",
    "status_reason",
    "status_changed_at",
)
_APPLICATION_FIELDS = (
    "id",
    "org_id",
    "status",
    "source",
    "name",
    "birth_date",
    "gender",
    "employment_type",
    "employer",
    "job",
    "region_code",
    "privacy_version",
    "consented_at",
    "submitted_at",
    "decided_at",
    "reason",
)
_TRANSFER_FIELDS = (
    "id",
    "from_org_id",
    "to_org_id",
    "status",
    "note",
    "submitted_at",
    "decided_at",
    "reason",
)


async def _profile(session: AsyncSession, cipher: PiiCipher, member: Member) -> dict[str, Any]:
    """The member row, decrypted, with the union's name."""
    org = await session.get(Org, member.org_id)
    profile = _row(member, *_PROFILE_FIELDS)
    profile["id_number"] = _decrypt(cipher, ID_FIELD, member.id_number_enc) or None
    profile["phone"] = _decrypt(cipher, PHONE_FIELD, member.phone_enc)
    profile["union"] = {"id": str(member.org_id), "name": org.name if org else None}
    return profile


async def _card_sections(session: AsyncSession, member: Member) -> dict[str, Any]:
    """Every card the member has had, and their history."""
    cards = await session.scalars(
        select(Card).where(Card.member_id == member.id).order_by(Card.generation)
    )
    card_events = await session.scalars(
        select(CardEvent).where(CardEvent.member_id == member.id).order_by(CardEvent.at)
    )
    return {
        "cards": [_row(c, *_CARD_FIELDS) for c in cards],
        "card_events": [
            _row(e, "card_id", "kind", "generation", "reason", "actor_name", "at")
            for e in card_events
        ],
    }


def _application(cipher: PiiCipher, a: JoinApplication) -> dict[str, Any]:
    return {
        **_row(a, *_APPLICATION_FIELDS),
        "id_number": _decrypt(cipher, ID_FIELD, a.id_number_enc),
        "phone": _decrypt(cipher, PHONE_FIELD, a.phone_enc),
    }


async def _membership_sections(
    session: AsyncSession, cipher: PiiCipher, member: Member
) -> dict[str, Any]:
    """Membership events, join applications, transfers, and the audit entries about them."""
    events = await member_events(session, member.id)
    # By person (member id, ID number), never by phone: a recycled phone number must not
    # hand a previous owner's application to the new one.
    app_conds: list[Any] = [
        JoinApplication.member_id == member.id,
        JoinApplication.id_number_hash == member.id_number_hash,
    ]
    applications = list(
        await session.scalars(
            select(JoinApplication).where(or_(*app_conds)).order_by(JoinApplication.submitted_at)
        )
    )
    transfers = await session.scalars(
        select(TransferRequest)
        .where(TransferRequest.member_id == member.id)
        .order_by(TransferRequest.submitted_at)
    )
    about = [str(member.id), *(str(a.id) for a in applications)]
    audit = await session.scalars(
        select(AuditEntry).where(AuditEntry.target_id.in_(about)).order_by(AuditEntry.at)
    )
    return {
        "membership_events": [
            _row(e, "kind", "at", "from_org_id", "to_org_id", "actor", "reason", "detail")
            for e in events
        ],
        "join_applications": [_application(cipher, a) for a in applications],
        "transfers": [_row(t, *_TRANSFER_FIELDS) for t in transfers],
        "audit": [
            _row(e, "at", "action", "actor_name", "target_type", "target_id", "summary")
            for e in audit
        ],
    }


async def member_export(
    session: AsyncSession,
    cipher: PiiCipher,
    member: Member,
    parts: PrivacyParts,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    profile = await _profile(session, cipher, member)
    cards = await _card_sections(session, member)
    membership = await _membership_sections(session, cipher, member)
    doc: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": (now or utc_now()).isoformat(timespec="seconds"),
        "member": profile,
        **cards,
        **membership,
    }
    for name, section in parts.export_sections.items():
        doc[name] = [plain(r) for r in await section(session, member.id)]
    doc["consents"] = [
        _row(c, "document", "version", "accepted_at")
        for c in (await consent_history(session, member.phone_hash) if member.phone_hash else [])
    ]
    doc["sessions"] = SESSIONS_NOTE
    return doc


async def own_export(
    session: AsyncSession,
    cipher: PiiCipher,
    me: Member,
    parts: PrivacyParts,
    *,
    ip: str | None,
    request_id: str | None,
) -> dict[str, Any]:
    """A member's access request for their own data (the API and the member pages): audited,
    with the member as the actor."""
    actor = Principal(
        id=None,
        username=f"member:{me.member_no}",
        display_name=me.member_no,
        ip=ip,
        request_id=request_id,
    )
    record(
        session,
        actor,
        "member.privacy_export",
        target_type="member",
        target_id=me.id,
        org_path=me.org_path,
        summary={"member_no": me.member_no, "by": "member"},
    )
    return await member_export(session, cipher, me, parts)
