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


def my_activity(
    a: Activity, me: Member, s: ActivitySignup | None, now: datetime, time_zone: str
) -> MyActivityOut:
    reasons = refusals(a, me, on=local_day(now, time_zone))
    return MyActivityOut(
        activity=activity_out(a),
        eligible=not reasons,
        reasons=[ReasonOut(**r) for r in reasons],
        signup=signup_out(s) if s is not None else None,
    )
