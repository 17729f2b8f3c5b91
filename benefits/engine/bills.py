"""Stacking across a bill: every redemption naming the same merchant + bill reference.

A terminal may name the bill it redeems for (``bill_ref``, its POS order number). The
stacking rules (an ``exclusive`` programme stands alone; programmes in ``group`` mode combine
only within one group; a programme applies once) then hold across all the bill's live
redemptions, whether they came in one call, in several, or at the same time:

1. inside the redemption's transaction, before any counter is charged, the bill's row in
   ``benefit_bill`` is upserted (``INSERT … ON CONFLICT DO UPDATE``). On PostgreSQL that locks
   the row until COMMIT, so two redemptions of one bill take turns (a second one waits for the
   first to commit, then sees its ledger rows); on SQLite every write transaction is already
   exclusive (``BEGIN IMMEDIATE``);
2. the bill's live ledger rows (not reversed) are read and checked together with the new
   programmes. A refused redemption rolls back, counters and all.

A reversal frees the bill: a reversed checkout's lines no longer count once the reversal has
committed. A reversal needs no lock here: it only ever removes lines, so a redemption that
raced it and still saw the lines was refused, never wrongly allowed.

The bill row is taken before any counter (which are taken in a fixed order after it), so the
lock order is the same in every transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import bindparam, text
from uuid_utils.compat import uuid7

from benefits.engine.counter_sql import to_asyncpg
from benefits.engine.evaluate import check_stacking
from benefits.engine.statements import PgStatements, SaStatements, Statements
from benefits.engine.versions import CompiledRules, load_versions
from benefits.errors import BillStackingConflict, ValidationError
from benefits.rules.facts import MerchantContext

MAX_BILL_REF = 64
# A POS order number: letters and digits, and the separators receipts use.
_BILL_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}")


def bill_ref_problem(value: str) -> tuple[str, str] | None:
    """Why ``value`` is not a bill reference (Chinese, English), or ``None`` if it is one."""
    if not 1 <= len(value) <= MAX_BILL_REF:
        return (
            f"账单号须为 1–{MAX_BILL_REF} 个字符",
            f"must be 1–{MAX_BILL_REF} characters",
        )
    if _BILL_REF.fullmatch(value) is None:
        return (
            "账单号只能包含字母、数字及 - _ . / : #，且以字母或数字开头",
            "may hold only letters, digits and - _ . / : #, starting with a letter or digit",
        )
    return None


def check_bill_ref(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError.field("bill_ref", "账单号必须为文本", "must be text")
    if (problem := bill_ref_problem(value)) is not None:
        raise ValidationError.field("bill_ref", *problem)
    return value


_LOCK_SQL = """
INSERT INTO benefit_bill (id, merchant_id, bill_ref, opened_at, last_redeemed_at)
VALUES (:bill_id, :merchant_id, :bill_ref, :at, :at)
ON CONFLICT (merchant_id, bill_ref) DO UPDATE SET last_redeemed_at = excluded.last_redeemed_at
"""
# The bill's lines that still count: not reversed.
_LINES_SQL = """
SELECT r.checkout_id, r.program_id, r.program_version_id, r.idempotency_key, p.code
FROM benefit_redemption r
JOIN benefit_program p ON p.id = r.program_id
WHERE r.merchant_id = :merchant_id AND r.bill_ref = :bill_ref
  AND NOT EXISTS (SELECT 1 FROM benefit_reversal v WHERE v.redemption_id = r.id)
"""
_SA_LOCK = text(_LOCK_SQL).bindparams(
    bindparam("bill_id", type_=GUID()),
    bindparam("merchant_id", type_=GUID()),
    bindparam("at", type_=DateTimeUTC(timezone=True)),
)
_SA_LINES = (
    text(_LINES_SQL)
    .bindparams(bindparam("merchant_id", type_=GUID()))
    .columns(checkout_id=GUID(), program_id=GUID(), program_version_id=GUID())
)
_PG_LOCK = to_asyncpg(_LOCK_SQL)
_PG_LINES = to_asyncpg(_LINES_SQL)


class BillRequest(Protocol):
    """What of a redemption request the bill needs (``benefits.engine.request.Request``)."""

    @property
    def merchant(self) -> MerchantContext: ...
    @property
    def bill_ref(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def idempotency_key(self) -> str: ...


@dataclass(frozen=True, slots=True)
class BillLine:
    checkout_id: uuid.UUID
    program_id: uuid.UUID
    version_id: uuid.UUID
    idempotency_key: str
    program_code: str


async def lock_bill(
    st: Statements, merchant_id: uuid.UUID, bill_ref: str, at: datetime
) -> list[BillLine]:
    """Take the bill's row (until COMMIT) and return its live lines, read after taking it."""
    params: dict[str, Any] = {
        "bill_id": uuid7(),
        "merchant_id": merchant_id,
        "bill_ref": bill_ref,
        "at": at,
    }
    if isinstance(st, PgStatements):
        for sql, names in (_PG_LOCK, _PG_LINES):
            rows = await st.driver.fetch(sql, *[params[n] for n in names])
    else:
        assert isinstance(st, SaStatements)
        await st.conn.execute(_SA_LOCK, params)
        rows = list(await st.conn.execute(_SA_LINES, params))
    return [BillLine(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def bill_turn(
    st: Statements, req: BillRequest, programs: Sequence[tuple[Any, CompiledRules]]
) -> uuid.UUID | None:
    """Wait for the bill's turn (its row's lock) and check ``programs`` (each a programme row
    with ``id`` and ``code``, and its rules) against the bill's live lines.

    Returns the checkout of a twin (same key) that committed on this bill while we waited."""
    assert req.bill_ref is not None
    on_bill = await lock_bill(st, req.merchant.merchant_id, req.bill_ref, req.at)
    for line in on_bill:
        if line.idempotency_key == req.idempotency_key:
            return line.checkout_id
    adding = [(row.id, row.code, compiled) for row, compiled in programs]
    await check_bill(st, bill_ref=req.bill_ref, on_bill=on_bill, adding=adding)
    return None


async def check_bill(
    st: Statements,
    *,
    bill_ref: str,
    on_bill: list[BillLine],
    adding: list[tuple[uuid.UUID, str, CompiledRules]],
) -> None:
    """Refuse (``bill_stacking_conflict``) when ``adding`` (programme id, code, rules) may not
    join what the bill already carries."""
    if not on_bill:
        return
    versions = await load_versions(st, {line.version_id for line in on_bill})
    present = {line.program_id: (line.program_code, versions[line.version_id]) for line in on_bill}
    repeated = [code for pid, code, _ in adding if pid in present]
    combined = list(present.values()) + [(code, c) for _, code, c in adding]
    if not repeated and check_stacking(combined) is None:
        return
    raise BillStackingConflict(
        bill_ref=bill_ref,
        on_bill=[_stacking(code, c) for code, c in present.values()],
        programs=[_stacking(code, c) for _, code, c in adding],
        repeated=repeated,
    )


def _stacking(code: str, c: CompiledRules) -> dict[str, Any]:
    return {"code": code, "mode": c.rules.stacking.mode.value, "group": c.rules.stacking.group}
