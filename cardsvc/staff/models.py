from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cardsvc.kernel.db import FOLLOWS_ORG
from cardsvc.kernel.permissions import Role


class StaffUser(UUIDv7AuditBase):
    __tablename__ = "staff_user"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="staff", lazy="selectin", cascade="all, delete-orphan"
    )


class RoleGrant(UUIDv7AuditBase):
    """A role on an org, valid for that org's whole subtree."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("staff_id", "org_id", "role"),)

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("org.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=32))
    # Denormalised org path so that authorisation is a string-prefix check without a join.
    org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)

    staff: Mapped[StaffUser] = relationship(back_populates="grants")
