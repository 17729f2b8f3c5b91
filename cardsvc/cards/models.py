"""Tables of the card service: signing keys, cards (one row per generation) and card events."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
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
        # Card numbers come from number_sequence blocks, unique by construction; the key holds
        # the member for Citus, the number first for lookups by number.
        UniqueConstraint("number", "member_id", name="uq_card_number"),
        # A replacement card is the same member's.
        ForeignKeyConstraint(
            ["member_id", "previous_id"],
            ["card.member_id", "card.id"],
            name="fk_card_previous",
        ),
    )

    # In the key: distributed by member, every unique key holds the member (docs/scaling.md);
    # the card's history and its successor point at (member_id, id), a foreign key on one shard.
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member.id"), index=True, primary_key=True
    )
    number: Mapped[str] = mapped_column(String(16))  # 16 digits, Luhn check digit
    generation: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[CardStatus] = mapped_column(
        Enum(CardStatus, native_enum=False, length=16), default=CardStatus.active
    )
    # Bit position in the status list; also the card reference inside tokens (u32).
    # From a number_sequence (unique by construction); unique in card_index, written with the row.
    status_index: Mapped[int] = mapped_column(BigInteger, index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    status_reason: Mapped[str | None] = mapped_column(String(255))
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    previous_id: Mapped[uuid.UUID | None]


class CardEventKind(enum.StrEnum):
    issued = "issued"
    reissued = "reissued"
    suspended = "suspended"
    resumed = "resumed"
    revoked = "revoked"


class CardEvent(UUIDv7Base):
    """Append-only history of a member's cards."""

    __tablename__ = "card_event"
    __table_args__ = (
        Index("ix_card_event_member_at", "member_id", "at"),
        # The event's card is the member's (a foreign key on one shard under Citus).
        ForeignKeyConstraint(
            ["member_id", "card_id"], ["card.member_id", "card.id"], name="fk_card_event_card"
        ),
    )

    card_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("member.id"), primary_key=True)
    kind: Mapped[CardEventKind] = mapped_column(Enum(CardEventKind, native_enum=False, length=16))
    generation: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(255))
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class CardIndex(DefaultBase):
    """Status-list index → card: the index is unique across cards (a token names the card by
    it), which a key on ``card`` would not hold under Citus (distributed by member); this lookup
    table, distributed by the index, does. Written in the card's transaction."""

    __tablename__ = "card_index"

    status_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[uuid.UUID]
    card_id: Mapped[uuid.UUID]
