"""An activity as one member sees it: may they join, and where their sign-up stands."""

from __future__ import annotations

from datetime import datetime

from cardsvc.activities.models import Activity, ActivitySignup
from cardsvc.activities.schemas import (
    MyActivityOut,
    ReasonOut,
    activity_out,
    signup_out,
)
from cardsvc.activities.service import local_day, refusals
from cardsvc.members.models import Member


def may_join_or_joined(item: MyActivityOut, now: datetime) -> bool:
    """What a member's list shows: what they may still sign up for, and their own sign-ups."""
    return item.signup is not None or (item.eligible and now < item.activity.signup_closes_at)


def my_activity(
    a: Activity, me: Member, s: ActivitySignup | None, now: datetime, time_zone: str
) -> MyActivityOut:
    reasons = refusals(a, me, on=local_day(now, time_zone))
    return MyActivityOut(
        activity=activity_out(a),
        eligible=not reasons,
        signup_open=a.signup_opens_at <= now < a.signup_closes_at,
        reasons=[ReasonOut(**r) for r in reasons],
        signup=signup_out(s) if s is not None else None,
    )
