"""Check-in by card at the venue, completion of training courses, and no-shows.

The member's QR code (the phone's rotating one or the printed card's) is verified exactly as a
till verifies it (``cardsvc.public.verify_online_row``: signature, expiry, card state). The
attendance is one conditional UPDATE (``checked_in_at IS NULL``): two scans of one member at
the same moment record one attendance, and the second scan is told so.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities import errors
from cardsvc.activities.models import (
    Activity,
    ActivityKind,
    ActivitySignup,
    IssuedCertificate,
    SignupStatus,
)
from cardsvc.kernel.audit import record
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member
from cardsvc.public import CARD_BY_INDEX, KeyRing, verify_online_row

# Doors open a while before the start; late arrivals still count until a while after the end.
CHECKIN_OPENS_BEFORE = timedelta(hours=2)
CHECKIN_CLOSES_AFTER = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class CheckIn:
    signup: ActivitySignup
    member: Member
    first: bool  # False: this member had already checked in (a second scan)


def checkin_open(activity: Activity, now: datetime) -> bool:
    return (
        activity.starts_at - CHECKIN_OPENS_BEFORE <= now <= activity.ends_at + CHECKIN_CLOSES_AFTER
    )


async def check_in(
    session: AsyncSession,
    staff: Principal,
    activity: Activity,
    code: str,
    *,
    keyring: KeyRing,
    now: datetime,
    skew_seconds: int,
) -> CheckIn:
    """Record the attendance of the member whose card ``code`` is (once)."""
    if activity.status != "published":
        raise errors.activity_cancelled()
    if not checkin_open(activity, now):
        raise errors.checkin_closed()
    card, _ = await verify_online_row(
        session, code, keyring=keyring, statement=CARD_BY_INDEX, now=now, skew_seconds=skew_seconds
    )
    signup = await session.scalar(
        select(ActivitySignup).where(
            ActivitySignup.activity_id == activity.id, ActivitySignup.member_id == card.member_id
        )
    )
    if signup is None or signup.status == SignupStatus.cancelled:
        raise errors.not_signed_up()
    if signup.status == SignupStatus.waitlisted:
        raise errors.waitlisted()
    marked = await session.execute(
        update(ActivitySignup)
        .where(ActivitySignup.id == signup.id, ActivitySignup.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by=staff.username)
        .execution_options(synchronize_session=False)
    )
    first = marked.rowcount == 1  # type: ignore[attr-defined]
    if first:
        record(
            session,
            staff,
            "activity.check_in",
            target_type="activity",
            target_id=activity.id,
            org_path=activity.org_path,
            summary={"signup_id": str(signup.id)},
        )
    await session.refresh(signup)
    member = await session.get(Member, signup.member_id)
    assert member is not None
    return CheckIn(signup, member, first)


async def staff_signup(
    session: AsyncSession, activity: Activity, signup_id: uuid.UUID
) -> ActivitySignup:
    found = await session.scalar(
        select(ActivitySignup).where(
            ActivitySignup.id == signup_id, ActivitySignup.activity_id == activity.id
        )
    )
    if found is None:
        raise errors.signup_not_found()
    return found


async def complete(
    session: AsyncSession,
    staff: Principal,
    activity: Activity,
    signup: ActivitySignup,
    *,
    passed: bool,
    minutes: int,
    now: datetime,
) -> ActivitySignup:
    """Record a training course's outcome for an attendee; a pass earns a certificate number
    (random, so that numbers cannot be guessed on the public verification page)."""
    if activity.kind != ActivityKind.training:
        raise errors.not_training()
    if signup.status != SignupStatus.signed or signup.checked_in_at is None:
        raise errors.not_attended()
    signup.passed = passed
    signup.minutes = minutes
    signup.completed_at = now
    # The number's uniqueness across members lives in ``certificate``, written with it.
    if passed and signup.cert_no is None:
        signup.cert_no = f"TC{now:%Y}{secrets.token_hex(6).upper()}"
        session.add(
            IssuedCertificate(
                cert_no=signup.cert_no, member_id=signup.member_id, signup_id=signup.id
            )
        )
    elif not passed and signup.cert_no is not None:
        await session.execute(
            delete(IssuedCertificate).where(IssuedCertificate.cert_no == signup.cert_no)
        )
        signup.cert_no = None
    await session.flush()
    record(
        session,
        staff,
        "activity.complete",
        target_type="activity",
        target_id=activity.id,
        org_path=activity.org_path,
        summary={"signup_id": str(signup.id), "passed": passed, "minutes": minutes},
    )
    return signup


def no_show(activity: Activity, signup: ActivitySignup, now: datetime) -> bool:
    """Held a place, never checked in, and the activity is over."""
    return (
        signup.status == SignupStatus.signed
        and signup.checked_in_at is None
        and activity.ends_at <= now
    )
