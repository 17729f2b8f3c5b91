from __future__ import annotations

import enum
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column


class OrgLevel(enum.StrEnum):
    national = "national"
    provincial = "provincial"
    city = "city"
    district = "district"  # district or industry federation
    grassroots = "grassroots"


LEVEL_RANK = {lvl: i for i, lvl in enumerate(OrgLevel)}


class OrgStatus(enum.StrEnum):
    active = "active"
    closed = "closed"


class Org(UUIDv7AuditBase):
    """A node of the union tree. ``path`` is the materialised path of ids ("<id>/<id>/…/")."""

    __tablename__ = "org"
    __table_args__ = (Index("ix_org_path", "path"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    level: Mapped[OrgLevel] = mapped_column(Enum(OrgLevel, native_enum=False, length=16))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("org.id"), index=True)
    path: Mapped[str] = mapped_column(String(400))
    region_code: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 (kernel/regions)
    status: Mapped[OrgStatus] = mapped_column(
        Enum(OrgStatus, native_enum=False, length=16), default=OrgStatus.active
    )
