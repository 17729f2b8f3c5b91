"""Errors with a stable ``code`` and a Chinese and an English message, as every package raises
them: :class:`AppError` and its kinds. ``cardsvc.kernel.problems`` renders them (and Litestar's
own errors, and anything unexpected) as RFC 9457 ``application/problem+json``.

A light module on purpose: the CLI's commands import it without the web stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason_zh, "reason_en": self.reason_en}


class AppError(Exception):
    """An error the client caused or must know about; rendered as problem details."""

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


class ValidationError(AppError):
    status = 422
    code = "validation_error"
    message_zh = "输入有误"
    message_en = "Invalid input"

    @classmethod
    def field(cls, field: str, reason_zh: str, reason_en: str, **kw: Any) -> ValidationError:
        return cls(
            message_zh=f"{field}:{reason_zh}",
            message_en=f"{field}: {reason_en}",
            errors=[FieldError(field, reason_zh, reason_en)],
            **kw,
        )


class NotFound(AppError):
    status = 404
    code = "not_found"
    message_zh = "未找到"
    message_en = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    message_zh = "状态冲突"
    message_en = "Conflict"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message_zh = "未登录或凭据无效"
    message_en = "Not signed in or invalid credentials"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message_zh = "无权执行此操作"
    message_en = "You are not allowed to do this"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message_zh = "服务暂时不可用，请稍后重试"
    message_en = "Service temporarily unavailable, retry later"


def unexpected_file_field() -> AppError:
    """A multipart upload carrying a file under another field than ``file`` (the documented
    one): refused rather than taken, so that what was stored is what the client meant."""
    return AppError(
        "unexpected_field",
        "文件须放在字段 file 中上传，请勿使用其他字段名",
        "Send the file in the form field `file`; other fields may not carry files",
        errors=[FieldError("file", "文件须放在字段 file 中", "files go in the field `file`")],
    )


class ProblemError(Protocol):
    """What every package's error base carries (``AppError`` here, ``BenefitsError`` in the
    engine, which may not import cardsvc): the one shape rendered as problem details."""

    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def message_zh(self) -> str: ...
    @property
    def message_en(self) -> str: ...
    @property
    def errors(self) -> Sequence[Any]: ...  # each with ``as_dict()``
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def extra(self) -> dict[str, Any]: ...
