"""Service requests, their timeline, their attachments, and the per-org service-level times."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.db import FOLLOWS_ORG


class RequestKind(enum.StrEnum):
    hardship = "hardship"  # 困难帮扶
    legal_aid = "legal_aid"  # 法律援助·维权
    medical_aid = "medical_aid"  # 医疗互助
    childcare = "childcare"  # 子女托育·助学
    training = "training"  # 技能培训报名
    other = "other"


KIND_LABELS_ZH = {
    RequestKind.hardship: "困难帮扶",
    RequestKind.legal_aid: "法律援助·维权",
    RequestKind.medical_aid: "医疗互助",
    RequestKind.childcare: "子女托育·助学",
    RequestKind.training: "技能培训报名",
    RequestKind.other: "其他",
}


class ServiceStatus(enum.StrEnum):
    submitted = "submitted"  # waiting to be accepted
    accepted = "accepted"  # being handled
    info_requested = "info_requested"  # waiting for the member (the clock stops)
    resolved = "resolved"
    rejected = "rejected"
    withdrawn = "withdrawn"


OPEN_STATUSES = frozenset(
    {ServiceStatus.submitted, ServiceStatus.accepted, ServiceStatus.info_requested}
)
CLOSED_STATUSES = frozenset(
    {ServiceStatus.resolved, ServiceStatus.rejected, ServiceStatus.withdrawn}
)


class ContactPreference(enum.StrEnum):
    phone = "phone"
    sms = "sms"
    wechat = "wechat"
    in_app = "in_app"
    visit = "visit"


class Channel(enum.StrEnum):
    app = "app"  # filed by the member on the phone
    walk_in = "walk_in"  # filed by staff for a member at the counter
    hotline = "hotline"  # filed by staff from a call (12351)


class ServiceRequest(UUIDv7AuditBase):
    """One member's request. ``org_*`` is the grassroots union it was filed with (it moves
    with the tree); ``handling_org_*`` the union working on it (the level above after a
    take-over); ``escalated_org_*`` the highest level it has been escalated to, if any.

    ``due_at`` is the running deadline of the current stage (accept while submitted, resolve
    while accepted); None while the member is asked for more (``paused_seconds`` keeps what
    was left) and once closed. ``escalate_at`` is when the sweep acts next: the deadline,
    or None when there is nobody above to escalate to (the request stays overdue).
    """

    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_org_path", "org_path"),
        Index("ix_service_request_escalate_at", "escalate_at"),
        Index("ix_service_request_member_created", "member_id", "created_at"),
        # Reference numbers come from a number_sequence, unique by construction; the key holds
        # the request's id for Citus, the number first for lookups by number.
        UniqueConstraint("ref_no", "id", name="uq_service_request_ref_no"),
    )

    ref_no: Mapped[str] = mapped_column(String(20))
    # No foreign key: the member lives in another co-location group under Citus
    # (docs/distribution.toml); file_request is handed a member already read.
    member_id: Mapped[uuid.UUID]
    kind: Mapped[RequestKind] = mapped_column(Enum(RequestKind, native_enum=False, length=16))
    status: Mapped[ServiceStatus] = mapped_column(
        Enum(ServiceStatus, native_enum=False, length=16), default=ServiceStatus.submitted
    )
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    contact_preference: Mapped[ContactPreference] = mapped_column(
        Enum(ContactPreference, native_enum=False, length=16)
    )
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=16))
    filed_by: Mapped[str | None] = mapped_column(String(64))  # staff username for walk-ins

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    handling_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    handling_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    escalated_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org.id"))
    escalated_org_path: Mapped[str | None] = mapped_column(String(400), info=FOLLOWS_ORG)
    escalations: Mapped[int] = mapped_column(SmallInteger, default=0)
    assignee: Mapped[str | None] = mapped_column(String(64))

    submitted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    paused_seconds: Mapped[int | None] = mapped_column(Integer)
    # When the sweep next escalates: the deadline, or None (paused, closed, or at the root).
    escalate_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)  # resolution or rejection reason
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # 1–5, by the member
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    reopened: Mapped[int] = mapped_column(SmallInteger, default=0)


class ServiceStep(UUIDv7AuditBase):
    """One entry of a request's timeline; the member sees every step."""

    __tablename__ = "service_step"
    __table_args__ = (Index("ix_service_step_request_at", "request_id", "at"),)

    # In the key: distributed by request, every unique key holds the request (docs/scaling.md).
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    kind: Mapped[str] = mapped_column(String(24))  # see servicereq.steps.STEP_LABELS
    actor_type: Mapped[str] = mapped_column(String(8))  # member | staff | system
    actor: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[uuid.UUID | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(Integer)  # payments recorded offline
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class ServiceAttachment(UUIDv7AuditBase):
    """A file on a request, stored outside the database under its content hash."""

    __tablename__ = "service_attachment"

    # In the key: distributed by request, every unique key holds the request (docs/scaling.md).
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_request.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(128))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))  # member:<no> or a staff username


class ServiceLevel(UUIDv7AuditBase):
    """An org's service-level times for one kind (hours); holds for its subtree unless a
    lower org sets its own. Without any row the settings' defaults apply."""

    __tablename__ = "service_level"
    __table_args__ = (UniqueConstraint("org_id", "kind"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"))
    org_path: Mapped[str] = mapped_column(String(400), index=True, info=FOLLOWS_ORG)
    kind: Mapped[RequestKind] = mapped_column(Enum(RequestKind, native_enum=False, length=16))
    accept_hours: Mapped[int] = mapped_column(Integer)
    resolve_hours: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(64))
