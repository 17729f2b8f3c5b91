"""A redemption request checked and fingerprinted: what ``redeem`` works from."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from benefits.engine.bills import check_bill_ref
from benefits.engine.txn import as_utc
from benefits.errors import ValidationError
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.validation import MAX_FEN


# Not frozen, unlike most value types here: one is built per redemption, and a frozen
# dataclass's __init__ (object.__setattr__ per field) costs five times as much. Read-only by use.
@dataclass(slots=True)
class Request:
    member: MemberFacts
    merchant: MerchantContext
    program_ids: tuple[uuid.UUID, ...]
    amount_fen: int
    units: int
    at: datetime
    idempotency_key: str
    card_id: uuid.UUID | None
    token_id: str | None
    fingerprint: str
    bill_ref: str | None = None


def request_fingerprint(
    *,
    member_id: uuid.UUID,
    store_id: uuid.UUID | None,
    program_ids: Sequence[uuid.UUID],
    amount_fen: int,
    units: int,
    bill_ref: str | None = None,
) -> str:
    """What makes two requests "the same" for idempotency (not the time, terminal or token);
    the bill only when given, so that a request without one keeps its old fingerprint."""
    parts = [
        "v1",
        member_id.hex,
        store_id.hex if store_id else "-",
        ",".join(sorted(p.hex for p in program_ids)),
        str(amount_fen),
        str(units),
    ]
    if bill_ref is not None:
        parts.append(f"bill:{bill_ref}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def prepare_request(
    member: MemberFacts,
    merchant: MerchantContext,
    program_ids: Sequence[uuid.UUID] | uuid.UUID,
    amount_fen: int,
    units: int,
    at: datetime | None,
    idempotency_key: str,
    card_id: uuid.UUID | None,
    token_id: str | None,
) -> Request:
    ids = (program_ids,) if isinstance(program_ids, uuid.UUID) else tuple(program_ids)
    if not ids:
        raise ValidationError.field(
            "program_ids", "至少选择一个项目", "name at least one programme"
        )
    if len(ids) > 1 and len(set(ids)) != len(ids):
        raise ValidationError.field("program_ids", "项目重复", "lists a programme twice")
    if (
        isinstance(amount_fen, bool)
        or not isinstance(amount_fen, int)
        or not 0 <= amount_fen <= MAX_FEN
    ):
        raise ValidationError.field(
            "amount_fen", "金额必须为非负整数（分）", "must be a whole number of fen >= 0"
        )
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= 10_000:
        raise ValidationError.field(
            "units", "数量必须为 1–10000 的整数", "must be an integer from 1 to 10000"
        )
    if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= 128:
        raise ValidationError.field(
            "idempotency_key", "必须为 1–128 个字符", "must be 1–128 characters"
        )
    if token_id is not None and not 1 <= len(token_id) <= 64:
        raise ValidationError.field("token_id", "必须为 1–64 个字符", "must be 1–64 characters")
    return Request(
        member=member,
        merchant=merchant,
        program_ids=ids,
        amount_fen=amount_fen,
        units=units,
        at=as_utc(at),
        idempotency_key=idempotency_key,
        card_id=card_id,
        token_id=token_id,
        fingerprint=request_fingerprint(
            member_id=member.id,
            store_id=merchant.store_id,
            program_ids=ids,
            amount_fen=amount_fen,
            units=units,
        ),
    )


def with_bill(req: Request, bill_ref: str | None) -> Request:
    """The request for a bill: its reference checked, and counted in the fingerprint."""
    if (bill_ref := check_bill_ref(bill_ref)) is None:
        return req
    fingerprint = request_fingerprint(
        member_id=req.member.id,
        store_id=req.merchant.store_id,
        program_ids=req.program_ids,
        amount_fen=req.amount_fen,
        units=req.units,
        bill_ref=bill_ref,
    )
    return replace(req, bill_ref=bill_ref, fingerprint=fingerprint)
