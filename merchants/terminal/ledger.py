"""A merchant's ledger, page by page: newest first, with a cursor that survives rows sharing a
time (the terminal's list, the staff view and the till's page)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import RedemptionRecord, list_redemptions
from merchants.terminal.errors import InvalidCursor


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: rows before ``until`` (newest first), minus the first
    ``skip`` of them (those already returned that share the last row's time)."""

    until: datetime
    skip: int

    def encode(self) -> str:
        raw = json.dumps({"u": self.until.isoformat(), "s": self.skip}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
            until = datetime.fromisoformat(data["u"])
            skip = int(data["s"])
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidCursor() from None
        if until.tzinfo is None or not 0 <= skip <= 1_000_000:
            raise InvalidCursor()
        return cls(until.astimezone(UTC), skip)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[RedemptionRecord]
    next_cursor: str | None


async def redemption_page(
    session: AsyncSession,
    *,
    merchant_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    bill_ref: str | None = None,
) -> Page:
    """One page of a merchant's ledger rows, newest first, in ``[since, until)`` (and of one
    bill, with ``bill_ref``)."""
    skip = 0
    if cursor:
        c = Cursor.decode(cursor)
        until, skip = (c.until if until is None else min(until, c.until)), c.skip
        if until != c.until:  # the client narrowed the range: the skip no longer applies
            skip = 0
    rows = await list_redemptions(
        session,
        merchant_id=merchant_id,
        since=since,
        until=until,
        limit=limit + 1,
        offset=skip,
        bill_ref=bill_ref,
    )
    more, rows = len(rows) > limit, rows[:limit]
    if not more or not rows:
        return Page(rows, None)
    last = rows[-1].occurred_at
    nxt = last + timedelta(microseconds=1)
    same = sum(1 for r in rows if r.occurred_at == last)
    if until is not None and nxt == until:
        same += skip  # the skipped rows share that time too
    return Page(rows, Cursor(nxt, same).encode())
