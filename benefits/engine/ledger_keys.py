"""The ledger's ids and its lookup rows.

On PostgreSQL the ledger is partitioned by month on ``occurred_at`` (migration
0023_ledger_partitions). Every id of a checkout's rows is a UUIDv7 of its ``occurred_at``, so a
lookup by id names the millisecond it happened in, hence one partition. Rows written before that
(ids of the clock when written, not of ``occurred_at``) are found by the same lookup without the
window, when the window finds nothing. A checkout's idempotency key and token live in lookup
tables (``benefit_redemption_key``, ``benefit_redemption_token``), written with its line 0.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from uuid_utils.compat import uuid7

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def line_id(at: datetime) -> uuid.UUID:
    """A new ledger row id: a UUIDv7 of ``at`` (the row's ``occurred_at``)."""
    return uuid7(nanoseconds=(at - _EPOCH) // timedelta(microseconds=1) * 1000)


def id_window(row_id: uuid.UUID) -> tuple[datetime, datetime] | None:
    """The millisecond a ledger row id says it happened in, ``[lo, hi)``; ``None`` for an id
    that is no UUIDv7 of a representable time (then no row of this schema has it)."""
    if row_id.version != 7:
        return None
    try:
        lo = _EPOCH + timedelta(milliseconds=row_id.int >> 80)
        return lo, lo + _MS
    except OverflowError:
        return None


def lookup_rows_sql(param: dict[str, str]) -> str:
    """Data-modifying CTEs writing a checkout's lookup rows (its key; its token, if it has one),
    from the parameters of its line 0 (``param``: column → placeholder, ``$n``)."""
    p = param
    return f"""k AS (INSERT INTO benefit_redemption_key
    (merchant_id, idempotency_key, checkout_id, member_id, occurred_at)
    VALUES ({p["merchant_id"]}, {p["idempotency_key"]}, {p["checkout_id"]}, {p["member_id"]},
            {p["occurred_at"]})),
t AS (INSERT INTO benefit_redemption_token (token_id, member_id, checkout_id, occurred_at)
    SELECT {p["token_id"]}, {p["member_id"]}, {p["checkout_id"]}, {p["occurred_at"]}
    WHERE {p["token_id"]}::varchar IS NOT NULL)"""


def key_row(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "merchant_id": line["merchant_id"],
        "idempotency_key": line["idempotency_key"],
        "checkout_id": line["checkout_id"],
        "member_id": line["member_id"],
        "occurred_at": line["occurred_at"],
    }


def token_row(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "member_id": line["member_id"],
        "token_id": line["token_id"],
        "checkout_id": line["checkout_id"],
        "occurred_at": line["occurred_at"],
    }
