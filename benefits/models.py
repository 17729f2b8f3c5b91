"""Tables of the benefits engine.

Member, merchant, store, terminal, card and org ids are plain UUID columns: those rows belong to
other packages, and the engine must not depend on their tables.

* ``benefit_program``: the programme, its status and its working rules (the draft, or a copy of
  the current version once published).
* ``benefit_program_version``: immutable snapshot of the rules each time a programme is
  published; redemptions point at the version they used.
* ``benefit_counter``: one row per (programme, policy, metric, scope key, period key) holding
  ``used`` and the ``limit`` in force; created on first use, charged with one conditional
  upsert per redemption. A programme-scope counter may be split into stripes, one row each
  (scope keys ``p``, ``p#1``…; see ``benefits.engine.counters``). The member's own counters
  are not here but in ``benefit_member_counter``.
* ``benefit_member_counter``: the same for ``member`` and ``member_merchant`` scope, with the
  member's id (in its keys), so that it can be distributed with the member.
* ``benefit_redemption``: the ledger, one immutable row per programme applied in a checkout;
  ``takes`` records exactly which counters it charged and by how much.
* ``benefit_redemption_key`` / ``benefit_redemption_token``: a checkout's merchant + idempotency
  key and its QR token, one row each per checkout, written in the redemption's transaction:
  they hold the uniqueness the ledger cannot (partitioned by month on PostgreSQL, its unique
  keys must contain ``occurred_at``, and a retry comes at another time), and say where the
  checkout is (its ``occurred_at``: one partition).
* ``benefit_reversal``: at most one per redemption row (unique), restoring its ``takes``.
* ``benefit_settlement``: a merchant's statement of a month once someone confirmed it (or a
  reversal claimed the month): open → confirmed (figures frozen) → paid (payment reference).
* ``benefit_bill``: one row per (merchant, bill reference) redeemed on; every redemption that
  names the bill upserts it first, so that redemptions of one bill take turns on its row and
  the stacking rules hold across them (``benefits.engine.bills``).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.base import DefaultBase, UUIDv7AuditBase, UUIDv7Base
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from benefits.errors import VersionImmutable

# A copy of an org's path that follows the org when it moves: the host (cardsvc) rewrites
# every column with this info when an org moves in the union tree.
FOLLOWS_ORG = {"follows_org": True}


class ProgramStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    ended = "ended"


class Program(UUIDv7AuditBase):
    __tablename__ = "benefit_program"
    __table_args__ = (
        Index("ix_benefit_program_owner_path", "owner_org_path"),
        Index("ix_benefit_program_status", "status"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    owner_org_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # Materialised path of the owner ("<id>/<id>/…/"): members whose path starts with it apply.
    owner_org_path: Mapped[str] = mapped_column(String(400), info=FOLLOWS_ORG)
    status: Mapped[ProgramStatus] = mapped_column(
        Enum(ProgramStatus, native_enum=False, length=16), default=ProgramStatus.draft
    )
    rules: Mapped[dict[str, Any]] = mapped_column(JsonB)
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    version_number: Mapped[int] = mapped_column(Integer, default=0)
    # Copies of the current rules for listing and filtering without parsing JSON.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    timezone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class ProgramVersion(UUIDv7Base):
    """Immutable: the ORM refuses updates (see ``_refuse_version_update``)."""

    __tablename__ = "benefit_program_version"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("benefit_program.id"))
    number: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict[str, Any]] = mapped_column(JsonB)
    published_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    published_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class Counter(UUIDv7Base):
    __tablename__ = "benefit_counter"
    __table_args__ = (
        UniqueConstraint(
            "program_id",
            "policy_key",
            "metric",
            "scope_key",
            "period_key",
            name="uq_benefit_counter_key",
        ),
    )

    # In the key: distributed by programme, every unique key holds it (docs/distribution.toml).
    program_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("benefit_program.id"), primary_key=True
    )
    policy_key: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(8))
    # "p" (programme, and its stripes "p#<i>"), "x:<merchant>" (hex id); a member's own counters
    # ("m:…", "mx:…") are MemberCounter rows
    scope_key: Mapped[str] = mapped_column(String(80))
    period_key: Mapped[str] = mapped_column(String(16))
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    limit: Mapped[int] = mapped_column(BigInteger)
    # What the last clamped charge actually took (read back through RETURNING).
    last_take: Mapped[int] = mapped_column(BigInteger, default=0)
    # Programme-scope counters split into stripes (benefits.engine.counters): the number of stripes
    # of this counter, fixed by its stripe 0; 1 for every other counter.
    stripes: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class MemberCounter(UUIDv7Base):
    """A counter of one member: ``member`` and ``member_merchant`` scope (scope keys
    ``m:<member>``, ``mx:<member>:<merchant>``), charged as :class:`Counter` is (never striped).
    Its own table so that it can live with its member's rows (docs/distribution.toml)."""

    __tablename__ = "benefit_member_counter"
    __table_args__ = (
        UniqueConstraint(
            "member_id",
            "program_id",
            "policy_key",
            "metric",
            "scope_key",
            "period_key",
            name="uq_benefit_member_counter_key",
        ),
        # A programme's usage and its reconciliation read its counters across members.
        Index("ix_benefit_member_counter_program", "program_id", "policy_key", "period_key"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("benefit_program.id"))
    policy_key: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(8))
    scope_key: Mapped[str] = mapped_column(String(80))
    period_key: Mapped[str] = mapped_column(String(16))
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    limit: Mapped[int] = mapped_column(BigInteger)
    last_take: Mapped[int] = mapped_column(BigInteger, default=0)


class Redemption(UUIDv7Base):
    """One programme applied in one checkout; ``checkout_id`` is the id of line 0."""

    __tablename__ = "benefit_redemption"
    # On PostgreSQL partitioned by month on ``occurred_at`` (migration 0023_ledger_partitions;
    # primary key ``(id, occurred_at, member_id)`` there). The ledger has no unique key of its
    # own: a retry's key and a token's single use are held by RedemptionKey and RedemptionToken.
    # The ids of a checkout's rows are UUIDv7 of ``occurred_at`` (benefits.engine.statements
    # ``line_id``), so a lookup by id names its month.
    __table_args__ = (
        Index("ix_benefit_redemption_member", "member_id", "occurred_at"),
        Index("ix_benefit_redemption_merchant", "merchant_id", "occurred_at"),
        Index("ix_benefit_redemption_program", "program_id", "occurred_at"),
        Index("ix_benefit_redemption_checkout", "checkout_id"),
        # Only redemptions that name a bill are indexed: the hot path without one pays nothing.
        Index(
            "ix_benefit_redemption_bill",
            "merchant_id",
            "bill_ref",
            postgresql_where=text("bill_ref IS NOT NULL"),
            sqlite_where=text("bill_ref IS NOT NULL"),
        ),
        # Reports filter "redemptions by members of a subtree" with a prefix LIKE: on
        # PostgreSQL only a pattern-ops index serves LIKE 'prefix%' under a non-C collation.
        Index(
            "ix_benefit_redemption_member_org",
            "member_org_path",
            "occurred_at",
            postgresql_ops={"member_org_path": "varchar_pattern_ops"},
        ),
    )

    checkout_id: Mapped[uuid.UUID]
    line: Mapped[int] = mapped_column(SmallInteger, default=0)
    merchant_id: Mapped[uuid.UUID]
    store_id: Mapped[uuid.UUID | None]
    terminal_id: Mapped[uuid.UUID | None]
    member_id: Mapped[uuid.UUID]
    # The member's org path when redeemed (MemberFacts.org_path), copied so that reports of
    # a subtree are a prefix filter here; a later transfer does not move past redemptions.
    member_org_path: Mapped[str] = mapped_column(String(400))
    card_id: Mapped[uuid.UUID | None]
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("benefit_program.id"))
    program_version_id: Mapped[uuid.UUID] = mapped_column(
        # named by hand: the conventional name is 64 characters, one over PostgreSQL's limit
        ForeignKey("benefit_program_version.id", name="fk_benefit_redemption_version")
    )
    version_number: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # the amount this line applied to
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    payable_fen: Mapped[int] = mapped_column(BigInteger)  # amount_fen - discount_fen
    units: Mapped[int] = mapped_column(Integer)
    subsidy_fen: Mapped[int] = mapped_column(BigInteger)
    value_fen: Mapped[int] = mapped_column(BigInteger)  # what amount limits counted
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(String(64))
    # The merchant's own reference of the bill (its POS order number), when the terminal gave one.
    bill_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    # [{"p": policy, "m": metric, "s": scope key, "k": period key, "n": taken, "l": limit}]:
    #   exactly what a reversal gives back and what reconciliation sums.
    takes: Mapped[list[dict[str, Any]]] = mapped_column(JsonB)


class RedemptionKey(DefaultBase):
    """A checkout's merchant + idempotency key: a retry finds its checkout here, a concurrent
    twin fails on the key. Distributed by merchant on Citus (docs/distribution.toml)."""

    __tablename__ = "benefit_redemption_key"

    merchant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    checkout_id: Mapped[uuid.UUID]
    member_id: Mapped[uuid.UUID]
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class RedemptionToken(DefaultBase):
    """A QR token redeemed once: a second checkout with it fails on the key (globally, as the
    token id is: card index and nonce). Distributed by the token id on Citus."""

    __tablename__ = "benefit_redemption_token"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[uuid.UUID]
    checkout_id: Mapped[uuid.UUID]
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Reversal(UUIDv7Base):
    __tablename__ = "benefit_reversal"
    # One reversal per ledger row. The member (copied from the redemption, which has one) is in
    # the key so that it holds on a table distributed by member (docs/distribution.toml).
    __table_args__ = (
        UniqueConstraint(
            "redemption_id", "member_id", name="uq_benefit_reversal_member_redemption"
        ),
    )

    # No foreign key: one to a partitioned ledger would have to name the ledger row's month
    # (its key is (id, occurred_at, member_id)). A reversal is written only by
    # benefits.engine.reverse, in the transaction that read the ledger rows it names, and ledger
    # rows are never updated or deleted.
    redemption_id: Mapped[uuid.UUID]
    # In the key as well: a reversal is on its member's shard.
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    checkout_id: Mapped[uuid.UUID] = mapped_column(index=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    terminal_id: Mapped[uuid.UUID | None]
    reason: Mapped[str | None] = mapped_column(String(255))
    reversed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # The month ("YYYY-MM", federation zone) whose statement nets this reversal out: the
    # redemption's own month, or the next open one when that month was already confirmed or
    # paid (benefits.engine.booking). NULL: the redemption's own month.
    booked_month: Mapped[str | None] = mapped_column(String(7), default=None)


class Bill(UUIDv7Base):
    """A merchant's bill that redemptions named: the row they lock, one at a time."""

    __tablename__ = "benefit_bill"
    __table_args__ = (UniqueConstraint("merchant_id", "bill_ref", name="uq_benefit_bill_ref"),)

    # In the key: distributed by merchant, every unique key holds the merchant (docs/scaling.md).
    merchant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bill_ref: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_redeemed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class SettlementStatus(enum.StrEnum):
    open = "open"
    confirmed = "confirmed"
    paid = "paid"


class SettlementStatement(UUIDv7Base):
    """A merchant's statement of one month: its status, and its figures frozen at confirmation.

    Absent means open with live figures; a reversal claims its month's row (as open) to take
    turns with a confirmation of that month (benefits.engine.booking).
    """

    __tablename__ = "benefit_settlement"
    __table_args__ = (
        UniqueConstraint("merchant_id", "month", name="uq_benefit_settlement_month"),
        Index("ix_benefit_settlement_month", "month", "status"),
    )

    # In the key: distributed by merchant, every unique key holds the merchant (docs/scaling.md).
    merchant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[SettlementStatus] = mapped_column(
        Enum(SettlementStatus, native_enum=False, length=16), default=SettlementStatus.open
    )
    # {"totals": {...}, "lines": [{...}, ...]}: the statement as confirmed (amounts in fen).
    figures: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)  # the transfer's date
    paid_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    payment_ref: Mapped[str | None] = mapped_column(String(64), default=None)


@event.listens_for(ProgramVersion, "before_update")
@event.listens_for(Redemption, "before_update")
@event.listens_for(Reversal, "before_update")
@event.listens_for(RedemptionKey, "before_update")
@event.listens_for(RedemptionToken, "before_update")
def _refuse_version_update(_mapper: Any, _conn: Any, target: Any) -> None:
    """Versions and ledger rows are facts: changing one in place is a programming error."""
    raise VersionImmutable(
        message_zh="已发布的版本和核销记录不可修改",
        message_en=f"{type(target).__name__} rows are immutable",
    )
