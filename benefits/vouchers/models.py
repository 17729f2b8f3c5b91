"""Tables of voucher campaigns (消费券).

* ``voucher_campaign``: one kind of voucher offered by an org (its terms as JSON), the stock,
  the per-member limit and the claim window; draft → published → ended.
* ``voucher_application``: a member's entry to a lottery campaign, under a random pseudonym
  (the published applicant list names no member), unique per campaign in ``draw_entry``.
* ``voucher``: one claimed (or won) voucher. The database is the source of truth for the stock and the
  per-member limit, whatever the fast admission in front of it says: a voucher takes a *slot*
  (0 ≤ slot < stock, unique per campaign: a ``voucher_slot`` row written with the voucher) and
  the member's *nth* claim (0 ≤ nth < limit, unique per campaign and member), and the insert
  checks both bounds against the campaign row.
  So no lost or stale admission state can ever hand out more vouchers than the stock. An
  expired voucher of a campaign that restocks gives its slot back (slot NULL and its
  ``voucher_slot`` row deleted, the nth kept: the member's limit still counts it), so the slot
  can be claimed once more.
  ``request_key`` (the client's random id of the claim, unique per campaign and member) makes a
  retried claim return the same voucher.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from benefits.models import FOLLOWS_ORG


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    ended = "ended"


class CampaignMode(enum.StrEnum):
    first_come = "first_come"
    lottery = "lottery"


class VoucherStatus(enum.StrEnum):
    active = "active"
    used = "used"
    expired = "expired"


class Campaign(UUIDv7AuditBase):
    __tablename__ = "voucher_campaign"
    __table_args__ = (
        Index("ix_voucher_campaign_owner_path", "owner_org_path"),
        CheckConstraint("stock > 0", name="stock"),
        CheckConstraint("per_member > 0", name="per_member"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    owner_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    owner_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    status: Mapped[CampaignStatus] = mapped_column(
        Enum(CampaignStatus, native_enum=False, length=16), default=CampaignStatus.draft
    )
    mode: Mapped[CampaignMode] = mapped_column(
        Enum(CampaignMode, native_enum=False, length=16), default=CampaignMode.first_come
    )
    # The voucher's value, scope, eligibility, validity and funding (benefits.vouchers.terms).
    terms: Mapped[dict[str, Any]] = mapped_column(JsonB)
    stock: Mapped[int] = mapped_column(Integer)
    per_member: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Lottery: SHA-256 of the seed, shown from creation; the seed itself is kept secret until
    # the draw (``benefits.rules.draw``).
    commitment: Mapped[str | None] = mapped_column(String(64), default=None)
    seed: Mapped[str | None] = mapped_column(String(64), default=None)
    drawn_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Whether an unused voucher that expires gives its slot back, to be claimed again.
    restock_expired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class Application(UUIDv7Base):
    """A member's entry to a lottery campaign, known in the published list by ``pseudonym``."""

    __tablename__ = "voucher_application"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", name="uq_voucher_application_member"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("voucher_campaign.id"))
    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32))
    applied_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Voucher(UUIDv7Base):
    __tablename__ = "voucher"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", "nth", name="uq_voucher_member_nth"),
        # A claim request is the member's own: the key holds the member (distributed by member);
        # campaign and request key first, so that a reused key is found without the member.
        UniqueConstraint("campaign_id", "request_key", "member_id", name="uq_voucher_request"),
        Index("ix_voucher_member", "member_id", "claimed_at"),
        Index("ix_voucher_due", "status", "expires_at"),
        CheckConstraint("slot >= 0 AND nth >= 0", name="slot_nth"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("voucher_campaign.id"))
    # In the key: distributed by member, every unique key holds the member (docs/scaling.md).
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # None once an expired voucher has given its slot back (``benefits.vouchers.lifecycle``).
    slot: Mapped[int | None] = mapped_column(Integer)
    nth: Mapped[int] = mapped_column(Integer)
    request_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[VoucherStatus] = mapped_column(
        Enum(VoucherStatus, native_enum=False, length=16), default=VoucherStatus.active
    )
    claimed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Where the till used it and what it took off the bill (the subsidy owed, if the
    # federation pays): filled in when the voucher is used.
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    discount_fen: Mapped[int | None] = mapped_column(Integer, default=None)
    # When the member was told of the lottery win and of the coming expiry (each once).
    won_notified_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    expiry_notified_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )


class VoucherSlot(DefaultBase):
    """A campaign's stock slot → the voucher holding it: the slot is unique per campaign,
    which a key on ``voucher`` (distributed by member) would not hold under Citus; this table,
    distributed by campaign, does. Written in the voucher's own statement or transaction,
    deleted when an expired voucher gives its slot back."""

    __tablename__ = "voucher_slot"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("voucher_campaign.id"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[uuid.UUID]
    voucher_id: Mapped[uuid.UUID]


class DrawEntry(DefaultBase):
    """A lottery applicant's pseudonym → the member: unique per campaign (the published list
    names each applicant once), held here, distributed by campaign, written with the
    application."""

    __tablename__ = "draw_entry"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("voucher_campaign.id"), primary_key=True
    )
    pseudonym: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[uuid.UUID]


class VoucherUse(UUIDv7Base):
    """A voucher used at a till (``benefits.vouchers.use``): the bill, what it took off and
    what the merchant is owed for it (``subsidy_fen``: the discount when the federation pays,
    0 when the merchant bears it), and its reversal. ``idempotency_key`` (the till's, unique
    per merchant) makes a retried redemption return the same use; ``reversal_key`` the same
    for the reversal. A voucher given back by a reversal may be used again: a new row."""

    __tablename__ = "voucher_use"
    __table_args__ = (
        UniqueConstraint("merchant_id", "idempotency_key", name="uq_voucher_use_key"),
        UniqueConstraint("merchant_id", "reversal_key", name="uq_voucher_use_reversal_key"),
        Index("ix_voucher_use_merchant_at", "merchant_id", "occurred_at"),
        Index("ix_voucher_use_voucher", "voucher_id"),
        CheckConstraint(
            "amount_fen >= 0 AND discount_fen >= 0 AND subsidy_fen >= 0", name="amounts"
        ),
    )

    # In the key: distributed by merchant, every unique key holds the merchant (docs/scaling.md).
    merchant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    voucher_id: Mapped[uuid.UUID] = mapped_column()
    campaign_id: Mapped[uuid.UUID] = mapped_column()
    member_id: Mapped[uuid.UUID] = mapped_column()
    store_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    card_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    amount_fen: Mapped[int] = mapped_column(Integer)
    discount_fen: Mapped[int] = mapped_column(Integer)
    subsidy_fen: Mapped[int] = mapped_column(Integer)
    funded_by: Mapped[str] = mapped_column(String(16))
    bill_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    reversal_key: Mapped[str | None] = mapped_column(String(128), default=None)
    reversal_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    # What the reversal did to the voucher: "returned" (claimed again) or "lapsed" (expired).
    reversal_outcome: Mapped[str | None] = mapped_column(String(16), default=None)
