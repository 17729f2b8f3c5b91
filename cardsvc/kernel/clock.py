"""The one clock of cardsvc and merchants: timezone-aware UTC, never naive.

The benefits engine keeps its own (``benefits.engine.txn.utc_now``) because it imports nothing
from the host; both read the same system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
