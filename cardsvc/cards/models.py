"""Tables of the card service: signing keys, cards (one row per generation) and card events."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column


class KeyStatus(enum.StrEnum):
    active = "active"  # signs tokens and status lists; exactly one
    retiring = "retiring"  # no longer signs, still verifies (tokens already out there)
    retired = "retired"  # neither; left out of the JWKS


class SigningKey(UUIDv7AuditBase):
    __tablename__ = "card_signing_key"
    __table_args__ = (
        # Exactly one signing key: the database refuses a second active row.
        Index(
            "uq_card_signing_key_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    # u16 key id carried in every token; allocated as max+1 and never reused.
    kid: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[KeyStatus] = mapped_column(
        Enum(KeyStatus, native_enum=False, length=16), default=KeyStatus.active, index=True
    )
    public_key: Mapped[str] = mapped_column(String(64))  # base64url of the raw 32 bytes
    # PiiCipher ciphertext (field "signing_key") of the base64url raw private key.
    private_key_enc: Mapped[str] = mapped_column(String(255))
    data_key_id: Mapped[str] = mapped_column(String(16))
    activated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    retiring_since: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class CardStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"  # 挂失/暂停: can be resumed
    revoked = "revoked"  # final: member left, card replaced, or revoked by staff


class Card(UUIDv7AuditBase):
    """One card generation. Re-issue revokes this row and adds a new one (generation + 1,
    new number, new status-list index), so an old generation is revoked offline too."""

    __tablename__ = "card"
    __table_args__ = (
        # At most one current (not revoked) card per member.
        Index(
            "uq_card_member_current",
            "member_id",
            unique=True,
            sqlite_where=text("status != 'revoked'"),
            postgresql_where=text("status != 'revoked'"),
        ),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("member.id"), index=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # 16 digits, Luhn check digit
    generation: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[CardStatus] = mapped_column(
        Enum(CardStatus, native_enum=False, length=16), default=CardStatus.active
    )
    # Bit position in the status list; also the card reference inside tokens (u32).
    status_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    status_reason: Mapped[str | None] = mapped_column(String(255))
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    previous_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("card.id"))


class CardEventKind(enum.StrEnum):
    issued = "issued"
    reissued = "reissued"
    suspended = "suspended"
    resumed = "resumed"
    revoked = "revoked"


class CardEvent(UUIDv7Base):
    """Append-only history of a member's cards."""

    __tablename__ = "card_event"
    __table_args__ = (Index("ix_card_event_member_at", "member_id", "at"),)

    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("card.id"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[CardEventKind] = mapped_column(Enum(CardEventKind, native_enum=False, length=16))
    generation: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(255))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
