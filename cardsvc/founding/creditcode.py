"""The unified social credit code (统一社会信用代码, GB 32100-2015), checked with python-stdnum
(length, alphabet, check character), the way merchant onboarding checks it."""

from __future__ import annotations

from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from cardsvc.kernel.errors import ValidationError


def credit_code_problem(raw: str) -> tuple[str, str] | None:
    """Why the text is not a valid code, in (中文, English), or None when it is one."""
    try:
        uscc.validate(raw)
    except stdnum_errors.InvalidLength:
        return "统一社会信用代码应为 18 位", "a unified social credit code has 18 characters"
    except stdnum_errors.InvalidChecksum:
        return "统一社会信用代码校验位不正确，请核对", "the check character does not match"
    except stdnum_errors.ValidationError:
        return (
            "统一社会信用代码格式不正确（前 8 位为数字，其余为数字或除 I、O、Z、S、V 外的大写字母）",
            "malformed unified social credit code",
        )
    return None


def parse_credit_code(field: str, raw: str) -> str:
    """The code, compact and upper-case, or a 422 on ``field`` saying what is wrong with it."""
    problem = credit_code_problem(raw)
    if problem is not None:
        raise ValidationError.field(field, *problem, code="credit_code_invalid")
    return uscc.compact(raw)
