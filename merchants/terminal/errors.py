"""Errors of the scan / redeem / reverse contract and the mapping of other packages' errors onto
the codes partners integrate against (docs/merchant-api.md).

The card service and the benefits engine have codes of their own; the merchant API keeps them
where the contract names them (``card_revoked``, ``quota_exhausted`` …) and folds the rest into
the contract's code with the original kept in ``reason`` (``not_yet_valid`` → ``token_expired``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from benefits.errors import BenefitsError
from benefits.public import bill_ref_problem
from cardsvc.kernel.errors import AppError, FieldError, NotFound, ValidationError
from cardsvc.public import CardError, TokenError

MAX_IDEMPOTENCY_KEY = 128  # the ledger's column
MAX_PROGRAMS = 8  # programmes in one redeem call


class MemberInactive(AppError):
    status = 403
    code = "member_inactive"
    message_zh = "会员状态无效（已暂停、待审核或已离会），不能享受普惠"
    message_en = "The membership is not active (suspended, pending or left)"


class IdempotencyKeyRequired(AppError):
    status = 400
    code = "idempotency_key_required"
    message_zh = "缺少 Idempotency-Key 请求头（每笔交易一个唯一值，重试时保持不变）"
    message_en = "Missing Idempotency-Key header (one unique value per transaction, same on retry)"


class IdempotencyKeyInvalid(AppError):
    status = 400
    code = "idempotency_key_invalid"
    message_zh = f"Idempotency-Key 须为 1–{MAX_IDEMPOTENCY_KEY} 个可见 ASCII 字符"
    message_en = f"Idempotency-Key must be 1–{MAX_IDEMPOTENCY_KEY} visible ASCII characters"


class IdempotencyConflict(AppError):
    status = 409
    code = "idempotency_conflict"
    message_zh = "该 Idempotency-Key 已用于另一笔不同的请求"
    message_en = "The Idempotency-Key was used for a different request"


class TokenReplayed(AppError):
    status = 409
    code = "token_replayed"
    message_zh = "该二维码已被使用，请会员刷新后重新出示"
    message_en = "This QR code has already been used; ask the member to refresh it"


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"
    message_zh = "未找到该核销记录"
    message_en = "Redemption not found"


class ProgramNotFound(NotFound):
    code = "program_not_found"
    message_zh = "未找到该普惠项目"
    message_en = "Programme not found"


class ReversalWindowClosed(AppError):
    status = 409
    code = "reversal_window_closed"
    message_zh = "已超过可撤销期限，请联系工会处理"
    message_en = "The reversal window has passed; contact the union"


class InvalidCursor(AppError):
    status = 400
    code = "invalid_cursor"
    message_zh = "分页游标无效，请从第一页重新查询"
    message_en = "Invalid page cursor; start again from the first page"


class InvalidMonth(AppError):
    status = 400
    code = "invalid_month"
    message_zh = "月份格式应为 YYYY-MM"
    message_en = "The month must be YYYY-MM"


class CardVelocityLimited(AppError):
    """A printed card's static code used too often: 429 like a terminal's own limit."""

    status = 429
    code = "rate_limited"
    message_zh = "该实体卡短时间内使用过于频繁，请稍后再试或出示手机动态码"
    message_en = "This printed card was used too often; retry later or show the phone's code"

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
            limit=limit,
            limit_scope="card",
        )


# Card-service token codes that the contract names differently.
_TOKEN_CODE = {"unsupported_version": "malformed", "not_yet_valid": "token_expired"}


def from_card(exc: TokenError | CardError) -> AppError:
    """A card-service error as the contract's error (same messages, contract code)."""
    code = _TOKEN_CODE.get(exc.code, exc.code)
    extra: dict[str, Any] = dict(exc.extra)
    if code != exc.code:
        extra["reason"] = exc.code
    return AppError(code, exc.message_zh, exc.message_en, status=exc.status, **extra)


def from_benefits(exc: BenefitsError, *, not_found: type[AppError] = ProgramNotFound) -> AppError:
    """An engine error as problem details. Its codes are the contract's (``not_eligible``,
    ``quota_exhausted`` …); its generic ``not_found`` names what was not found."""
    if exc.code == "not_found":
        return not_found(**exc.extra)
    return AppError(
        exc.code,
        exc.message_zh,
        exc.message_en,
        status=exc.status,
        errors=[FieldError(e.field, e.reason_zh, e.reason_en) for e in exc.errors],
        **exc.extra,
    )


def check_idempotency_key(value: str | None) -> str:
    if value is None or not value.strip():
        raise IdempotencyKeyRequired()
    if len(value) > MAX_IDEMPOTENCY_KEY or not all(33 <= ord(c) <= 126 for c in value):
        raise IdempotencyKeyInvalid()
    return value


def _bad_request(field: str, zh: str, en: str) -> ValidationError:
    # 400 like every other malformed request body (msgspec's own checks).
    return ValidationError.field(field, zh, en, status=400)


def check_bill_ref(value: str | None) -> str | None:
    if value is not None and (problem := bill_ref_problem(value)) is not None:
        raise _bad_request("bill_ref", *problem)
    return value


def programmes_of(
    program_id: uuid.UUID | None, program_ids: Sequence[uuid.UUID] | None
) -> uuid.UUID | tuple[uuid.UUID, ...]:
    """The programme(s) of a redeem body: ``program_id`` or ``program_ids``, exactly one."""
    if program_id is not None and program_ids is not None:
        raise _bad_request(
            "program_ids",
            "program_id 与 program_ids 只能给出其一",
            "give program_id or program_ids, not both",
        )
    if program_id is not None:
        return program_id
    if not program_ids:
        raise _bad_request("program_id", "请选择要核销的项目", "give program_id (or program_ids)")
    if len(program_ids) > MAX_PROGRAMS:
        raise _bad_request(
            "program_ids",
            f"一次最多核销 {MAX_PROGRAMS} 个项目",
            f"at most {MAX_PROGRAMS} programmes in one call",
        )
    if len(set(program_ids)) != len(program_ids):
        raise _bad_request("program_ids", "项目重复", "lists a programme twice")
    return tuple(program_ids)
