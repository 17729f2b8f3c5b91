"""Domain errors of the benefits engine, each with a stable ``code``.

``benefits`` may not import ``cardsvc``, so it has its own base class with the same fields and
the same constructor as ``cardsvc.kernel.errors.AppError`` (``code``, ``message_zh``,
``message_en``, ``status``, ``errors``, ``headers``, ``extra``); the application renders both with
the one problem-details handler (``cardsvc.kernel.problems.problem_handler``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: a dotted path (``limits[0].period``) and why, in Chinese and English."""

    field: str
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason_zh, "reason_en": self.reason_en}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a programme does not apply: a stable code and a message in both languages."""

    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


class BenefitsError(Exception):
    """Base of every error the engine raises on purpose; never a 500."""

    status: int = 400
    code: str = "bad_request"
    message_zh: str = "请求无效"
    message_en: str = "Bad request"

    def __init__(
        self,
        code: str | None = None,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.code = code or self.code
        self.message_zh = message_zh or self.message_zh
        self.message_en = message_en or self.message_en
        self.status = status or self.status
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra
        super().__init__(f"{self.code}: {self.message_en}")


class ValidationError(BenefitsError):
    status = 422
    code = "validation_error"
    message_zh = "输入有误"
    message_en = "Invalid input"

    @classmethod
    def from_fields(cls, errors: list[FieldError]) -> ValidationError:
        first = errors[0]
        return cls(
            message_zh=f"{first.field}:{first.reason_zh}",
            message_en=f"{first.field}: {first.reason_en}",
            errors=errors,
        )

    @classmethod
    def field(cls, field: str, reason_zh: str, reason_en: str) -> ValidationError:
        return cls.from_fields([FieldError(field, reason_zh, reason_en)])


def out_of_range(field: str) -> ValidationError:
    """A time outside the years the engine computes with (see ``rules.periods.within_range``)."""
    err = ValidationError.field(
        field, "须在 1970 年至 2999 年之间", "must lie between the years 1970 and 2999"
    )
    err.status = 400
    return err


class NotFound(BenefitsError):
    status = 404
    code = "not_found"
    message_zh = "未找到"
    message_en = "Not found"


class Conflict(BenefitsError):
    status = 409
    code = "conflict"
    message_zh = "状态冲突"
    message_en = "Conflict"


class RefusalError(BenefitsError):
    """A redemption refused by a rule; ``reasons`` lists every rule that refused it.

    The reasons also go into ``extra`` (and so into the problem body) unless they are
    sensitive: eligibility reasons can reveal hardship status or age, which merchants must
    never see (PIPL), so :class:`NotEligible` keeps them on the exception only.
    """

    status = 409
    expose_reasons = True

    def __init__(self, reasons: list[Reason], **extra: Any) -> None:
        first = reasons[0] if reasons else None
        if self.expose_reasons:
            extra["reasons"] = [r.as_dict() for r in reasons]
        super().__init__(
            message_zh=first.message_zh if first else None,
            message_en=first.message_en if first else None,
            **extra,
        )
        self.reasons = reasons


class NotEligible(RefusalError):
    status = 403
    code = "not_eligible"
    message_zh = "会员不符合该项目的享受条件"
    message_en = "The member is not eligible for this programme"
    expose_reasons = False

    def __init__(self, reasons: list[Reason], **extra: Any) -> None:
        super().__init__(reasons, **extra)
        # Keep the generic message: the first reason may name a sensitive category.
        self.message_zh, self.message_en = type(self).message_zh, type(self).message_en


class NotInScope(RefusalError):
    status = 403
    code = "not_in_scope"
    message_zh = "该门店不在项目适用范围内"
    message_en = "This store is not in the programme's scope"


class ProgramInactive(RefusalError):
    status = 409
    code = "program_inactive"
    message_zh = "项目未在有效期内或未启用"
    message_en = "The programme is not active"


class BelowMinSpend(RefusalError):
    status = 422
    code = "below_min_spend"
    message_zh = "未达到最低消费金额"
    message_en = "The amount is below the minimum spend"


class QuotaExhausted(RefusalError):
    status = 409
    code = "quota_exhausted"
    message_zh = "本期额度已用完"
    message_en = "The quota for this period is used up"


class BudgetExhausted(RefusalError):
    status = 409
    code = "budget_exhausted"
    message_zh = "项目预算已用完"
    message_en = "The programme's budget is spent"


class StackingConflict(BenefitsError):
    status = 409
    code = "stacking_conflict"
    message_zh = "这些项目不能叠加使用"
    message_en = "These programmes cannot be combined"


class BillStackingConflict(BenefitsError):
    """The bill already carries a redemption this one may not be combined with."""

    status = 409
    code = "bill_stacking_conflict"
    message_zh = "该账单已核销的项目不能与本项目叠加使用"
    message_en = "A programme already redeemed on this bill cannot be combined with this one"


class IdempotencyConflict(BenefitsError):
    status = 409
    code = "idempotency_conflict"
    message_zh = "幂等键已用于另一笔不同的请求"
    message_en = "The idempotency key was used for a different request"


class TokenReplayed(BenefitsError):
    status = 409
    code = "token_replayed"
    message_zh = "该二维码已被使用"
    message_en = "This QR token has already been used"


class AlreadyReversed(BenefitsError):
    status = 409
    code = "already_reversed"
    message_zh = "该笔核销已撤销"
    message_en = "This redemption has already been reversed"


class InvalidTransition(BenefitsError):
    status = 409
    code = "invalid_transition"
    message_zh = "项目当前状态不允许此操作"
    message_en = "The programme's status does not allow this"


class VersionImmutable(BenefitsError):
    status = 409
    code = "version_immutable"
    message_zh = "已发布的版本不可修改，请编辑项目以发布新版本"
    message_en = "A published version cannot be changed; edit the programme to publish a new one"
