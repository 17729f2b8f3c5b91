"""API shapes of activities, sign-ups, check-ins and certificates, and how rows become them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from cardsvc.activities.attendance import CheckIn
from cardsvc.activities.certificates import Certificate
from cardsvc.activities.models import Activity, ActivityKind, ActivitySignup, SignupStatus
from cardsvc.activities.roster import Counts, RosterLine
from cardsvc.activities.service import ActivityInput
from cardsvc.kernel.masking import mask_name

Instant = Annotated[
    datetime, msgspec.Meta(tz=True, description="with a UTC offset; naive times are refused")
]
Fen = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="integer fen")]


class ActivityIn(msgspec.Struct):
    org_id: uuid.UUID
    kind: ActivityKind
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["职工篮球赛"])]
    description: Annotated[str, msgspec.Meta(max_length=4000)]
    starts_at: Instant
    ends_at: Instant
    place: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    signup_opens_at: Instant
    signup_closes_at: Instant
    cancel_deadline: Instant
    store_id: uuid.UUID | None = None
    cost_fen: Fen = 0
    subsidy_fen: Fen = 0
    training_minutes: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    eligibility: Annotated[
        dict[str, Any],
        msgspec.Meta(
            description="the benefits engine's eligibility rule (categories_any, min_age, …)"
        ),
    ] = msgspec.field(default_factory=dict)

    def as_input(self) -> ActivityInput:
        return ActivityInput(**{f: getattr(self, f) for f in self.__struct_fields__})


class ActivityOut(msgspec.Struct):
    id: uuid.UUID
    org_id: uuid.UUID
    kind: ActivityKind
    status: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    place: str
    store_id: uuid.UUID | None
    capacity: int
    signed_count: int
    waitlist_length: int | None
    eligibility: dict[str, Any]
    signup_opens_at: datetime
    signup_closes_at: datetime
    cancel_deadline: datetime
    cost_fen: int
    subsidy_fen: int
    member_pays_fen: int
    training_minutes: int | None


def activity_out(a: Activity, *, waitlist: int | None = None) -> ActivityOut:
    return ActivityOut(
        id=a.id,
        org_id=a.org_id,
        kind=a.kind,
        status=a.status.value,
        title=a.title,
        description=a.description,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        place=a.place,
        store_id=a.store_id,
        capacity=a.capacity,
        signed_count=a.signed_count,
        waitlist_length=waitlist,
        eligibility=a.eligibility,
        signup_opens_at=a.signup_opens_at,
        signup_closes_at=a.signup_closes_at,
        cancel_deadline=a.cancel_deadline,
        cost_fen=a.cost_fen,
        subsidy_fen=a.subsidy_fen,
        member_pays_fen=a.cost_fen - a.subsidy_fen,
        training_minutes=a.training_minutes,
    )


class SignupOut(msgspec.Struct):
    id: uuid.UUID
    activity_id: uuid.UUID
    status: SignupStatus
    position: int | None
    signed_up_at: datetime
    promoted_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    passed: bool | None
    minutes: int | None
    cert_no: str | None


def signup_out(s: ActivitySignup) -> SignupOut:
    return SignupOut(
        id=s.id,
        activity_id=s.activity_id,
        status=s.status,
        position=s.position,
        signed_up_at=s.signed_up_at,
        promoted_at=s.promoted_at,
        cancelled_at=s.cancelled_at,
        checked_in_at=s.checked_in_at,
        passed=s.passed,
        minutes=s.minutes,
        cert_no=s.cert_no,
    )


class ReasonOut(msgspec.Struct, omit_defaults=True):
    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any] | None = None


class MyActivityOut(msgspec.Struct):
    activity: ActivityOut
    eligible: bool
    signup_open: Annotated[bool, msgspec.Meta(description="now within the sign-up window")]
    reasons: list[ReasonOut]
    signup: SignupOut | None


class MyActivityPage(msgspec.Struct):
    items: list[MyActivityOut]


class RosterLineOut(msgspec.Struct):
    signup: SignupOut
    member_no: str
    name: str
    no_show: bool


class CountsOut(msgspec.Struct):
    signed: int
    waitlisted: int
    cancelled: int
    checked_in: int
    no_shows: int
    passed: int


class RosterOut(msgspec.Struct):
    activity: ActivityOut
    counts: CountsOut
    items: list[RosterLineOut]


def roster_out(a: Activity, lines: list[RosterLine], c: Counts) -> RosterOut:
    return RosterOut(
        activity=activity_out(a, waitlist=c.waitlisted),
        counts=CountsOut(**{f: getattr(c, f) for f in CountsOut.__struct_fields__}),
        items=[
            RosterLineOut(signup_out(ln.signup), ln.member_no, ln.name, ln.no_show) for ln in lines
        ],
    )


class ActivityPage(msgspec.Struct):
    items: list[ActivityOut]
    limit: int
    offset: int


class CheckInIn(msgspec.Struct):
    code: Annotated[
        str, msgspec.Meta(min_length=1, max_length=2000, description="the card's QR text")
    ]


class CheckInOut(msgspec.Struct):
    result: Annotated[str, msgspec.Meta(description="checked_in | already_checked_in")]
    member_name: Annotated[str, msgspec.Meta(description="masked, as at a till")]
    member_no: str
    checked_in_at: datetime


def checkin_out(c: CheckIn) -> CheckInOut:
    assert c.signup.checked_in_at is not None
    return CheckInOut(
        result="checked_in" if c.first else "already_checked_in",
        member_name=mask_name(c.member.name),
        member_no=c.member.member_no,
        checked_in_at=c.signup.checked_in_at,
    )


class CompletionIn(msgspec.Struct):
    passed: bool
    minutes: Annotated[int, msgspec.Meta(ge=0, le=100_000, description="training time credited")]


class CertificateOut(msgspec.Struct):
    cert_no: str
    valid: bool
    holder: Annotated[str, msgspec.Meta(description="masked name")]
    course: str
    union: str
    hours: float
    completed_at: datetime


def certificate_out(c: Certificate) -> CertificateOut:
    return CertificateOut(
        cert_no=c.cert_no,
        valid=True,
        holder=c.holder,
        course=c.course,
        union=c.union,
        hours=round(c.minutes / 60, 1),
        completed_at=c.completed_at,
    )
