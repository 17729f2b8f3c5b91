"""What activities hold about a member, for the access export and erasure
(``cardsvc.privacy``): their sign-ups, attendance, training hours and certificates."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities.models import Activity, ActivitySignup, IssuedCertificate, SignupStatus
from cardsvc.activities.signups import release_place
from cardsvc.kernel.clock import utc_now
from cardsvc.privacy.parts import PrivacyParts


def _iso(v: Any) -> Any:
    return v.isoformat() if v is not None else None


async def export_signups(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ActivitySignup, Activity.title, Activity.kind, Activity.starts_at)
        .join(Activity, Activity.id == ActivitySignup.activity_id)
        .where(ActivitySignup.member_id == member_id)
        .order_by(Activity.starts_at)
    )
    return [
        {
            "activity": title,
            "kind": kind.value,
            "starts_at": _iso(starts_at),
            "status": s.status.value,
            "position": s.position,
            "signed_up_at": _iso(s.signed_up_at),
            "cancelled_at": _iso(s.cancelled_at),
            "checked_in_at": _iso(s.checked_in_at),
            "passed": s.passed,
            "minutes": s.minutes,
            "certificate": s.cert_no,
        }
        for s, title, kind, starts_at in rows
    ]


async def erase_signups(session: AsyncSession, member_id: uuid.UUID) -> int:
    """Delete the member's sign-ups; a place still to come goes to the first in line."""
    now = utc_now()
    held = await session.execute(
        select(ActivitySignup.id, Activity)
        .join(Activity, Activity.id == ActivitySignup.activity_id)
        .where(
            ActivitySignup.member_id == member_id,
            ActivitySignup.status == SignupStatus.signed,
            Activity.ends_at > now,
        )
    )
    for signup_id, activity in list(held):
        await session.execute(
            update(ActivitySignup)
            .where(ActivitySignup.id == signup_id)
            .values(status=SignupStatus.cancelled)
            .execution_options(synchronize_session=False)
        )
        await release_place(session, activity, now=now)
    # Their certificates stop verifying: the numbers go with the sign-ups.
    await session.execute(delete(IssuedCertificate).where(IssuedCertificate.member_id == member_id))
    result = await session.execute(
        delete(ActivitySignup)
        .where(ActivitySignup.member_id == member_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # DML gives a CursorResult


def activities_parts() -> PrivacyParts:
    return PrivacyParts(
        export_sections={"activities": export_signups},
        erase_hooks={"activity_signups_deleted": erase_signups},
    )
