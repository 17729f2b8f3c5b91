"""A merchant's ledger, page by page: newest first, with a cursor that survives rows sharing a
time (the terminal's list, the staff view and the till's page); its voucher uses the same way."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import RedemptionRecord, VoucherUseResult, list_redemptions, list_uses
from merchants.terminal.errors import InvalidCursor


class _Timed(Protocol):
    @property
    def occurred_at(self) -> datetime: ...


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


T = TypeVar("T", bound=_Timed)
Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Page(Generic[Item]):
    items: list[Item]
    next_cursor: str | None


# Rows in ``[since, until)`` newest first: (since, until, limit, offset) → rows.
_Fetch = Callable[[datetime | None, datetime | None, int, int], Awaitable[list[T]]]


async def _page(
    fetch: _Fetch[T],
    *,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[T]:
    """One page of rows newest first in ``[since, until)``, from ``fetch`` (ordered by time,
    newest first, with an offset): the cursor's time bound and its skip of the rows already
    returned that share the last row's time."""
    skip = 0
    if cursor:
        c = Cursor.decode(cursor)
        until, skip = (c.until if until is None else min(until, c.until)), c.skip
        if until != c.until:  # the client narrowed the range: the skip no longer applies
            skip = 0
    rows = await fetch(since, until, limit + 1, skip)
    more, rows = len(rows) > limit, rows[:limit]
    if not more or not rows:
        return Page(rows, None)
    last = rows[-1].occurred_at
    nxt = last + timedelta(microseconds=1)
    same = sum(1 for r in rows if r.occurred_at == last)
    if until is not None and nxt == until:
        same += skip  # the skipped rows share that time too
    return Page(rows, Cursor(nxt, same).encode())


def _merchant_rows(
    lister: Callable[..., Awaitable[list[T]]],
    session: AsyncSession,
    merchant_id: uuid.UUID,
    bill_ref: str | None,
) -> _Fetch[T]:
    """A merchant's rows (of one bill, with ``bill_ref``) from ``lister``, which takes the
    range and the page as keywords (``list_redemptions``, ``list_uses``)."""

    async def fetch(
        since: datetime | None, until: datetime | None, limit: int, offset: int
    ) -> list[T]:
        return await lister(
            session,
            merchant_id=merchant_id,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
            bill_ref=bill_ref,
        )

    return fetch


async def redemption_page(
    session: AsyncSession,
    *,
    merchant_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    bill_ref: str | None = None,
) -> Page[RedemptionRecord]:
    """One page of a merchant's ledger rows, newest first, in ``[since, until)`` (and of one
    bill, with ``bill_ref``)."""
    fetch = _merchant_rows(list_redemptions, session, merchant_id, bill_ref)
    return await _page(fetch, since=since, until=until, cursor=cursor, limit=limit)


async def voucher_use_page(
    session: AsyncSession,
    *,
    merchant_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    bill_ref: str | None = None,
) -> Page[VoucherUseResult]:
    """One page of a merchant's voucher uses (消费券), as :func:`redemption_page` pages its
    ledger (the same cursor): the terminal's list and the till's day read it."""
    fetch = _merchant_rows(list_uses, session, merchant_id, bill_ref)
    return await _page(fetch, since=since, until=until, cursor=cursor, limit=limit)
