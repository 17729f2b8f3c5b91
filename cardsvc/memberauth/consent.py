"""The documents a person accepts (user agreement, privacy notice, 入会须知) and the versions
they accepted, kept per phone: a person accepts at sign-in, before any membership exists, and
the membership held with that phone is found by the same hash."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.clock import utc_now


class ConsentRecord(UUIDv7Base):
    """One acceptance of one version of one document."""

    __tablename__ = "member_consent"
    __table_args__ = (Index("ix_member_consent_phone", "phone_hash", "document"),)

    # In the key: distributed by phone, every unique key holds the phone (docs/scaling.md).
    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(String(32))  # agreement, privacy, join_terms
    version: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


async def record_consent(session: AsyncSession, phone_hash: str, versions: dict[str, str]) -> None:
    """Record that the phone's owner accepted these document versions, once per version."""
    held = await accepted_versions(session, phone_hash)
    now = utc_now()
    for document, version in versions.items():
        if held.get(document) != version:
            session.add(
                ConsentRecord(
                    phone_hash=phone_hash, document=document, version=version, accepted_at=now
                )
            )
    await session.flush()


async def accepted_versions(session: AsyncSession, phone_hash: str) -> dict[str, str]:
    """Document → the version accepted last."""
    rows = await session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.phone_hash == phone_hash)
        .order_by(ConsentRecord.accepted_at, ConsentRecord.id)
    )
    return {r.document: r.version for r in rows}


async def consent_history(session: AsyncSession, phone_hash: str) -> list[ConsentRecord]:
    """Every acceptance, oldest first (the member's data export)."""
    rows = await session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.phone_hash == phone_hash)
        .order_by(ConsentRecord.accepted_at, ConsentRecord.id)
    )
    return list(rows)


async def erase_consents(session: AsyncSession, phone_hash: str | None) -> int:
    """Forget a phone's acceptances (an erasure); returns how many rows went."""
    if not phone_hash:
        return 0
    gone = await session.execute(
        delete(ConsentRecord).where(ConsentRecord.phone_hash == phone_hash)
    )
    return int(getattr(gone, "rowcount", 0) or 0)
