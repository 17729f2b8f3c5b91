from __future__ import annotations

from cardsvc.kernel.errors import AppError


class RosterFileError(AppError):
    """The file as a whole cannot be imported (nothing is written); the message says why."""

    status = 422
    code = "roster_file_invalid"
    message_zh = "文件无法导入"
    message_en = "The file cannot be imported"


def file_error(code: str, zh: str, en: str) -> RosterFileError:
    return RosterFileError(code, zh, en)
