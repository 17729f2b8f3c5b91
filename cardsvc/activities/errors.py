"""The activities' refusals, each with a stable code (rendered as problem details)."""

from __future__ import annotations

from typing import Any

from cardsvc.kernel.errors import AppError, Conflict, NotFound

ACTIVITY_NOT_FOUND = ("activity_not_found", "未找到该活动", "Activity not found")


def activity_not_found() -> NotFound:
    return NotFound(*ACTIVITY_NOT_FOUND)


def signup_not_found() -> NotFound:
    return NotFound("signup_not_found", "未找到该报名", "Sign-up not found")


def certificate_not_found() -> NotFound:
    return NotFound("certificate_not_found", "未找到该证书", "Certificate not found")


class NotEligible(AppError):
    status = 403
    code = "not_eligible"
    message_zh = "不符合该活动的报名条件"
    message_en = "You do not meet the activity's conditions"

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__(reasons=reasons)


def signup_closed() -> Conflict:
    return Conflict("signup_closed", "不在报名时间内", "Sign-up is not open")


def already_signed_up() -> Conflict:
    return Conflict("already_signed_up", "您已报名该活动", "You have already signed up")


def not_signed_up() -> Conflict:
    return Conflict("not_signed_up", "该会员未报名此活动", "The member has not signed up")


def cancel_closed() -> Conflict:
    return Conflict(
        "cancel_deadline_passed", "已过取消报名截止时间", "The cancellation deadline has passed"
    )


def activity_cancelled() -> Conflict:
    return Conflict("activity_cancelled", "该活动已取消", "The activity was cancelled")


def waitlisted() -> Conflict:
    return Conflict(
        "waitlisted", "该会员在候补名单中，尚未获得名额", "The member is on the waiting list"
    )


def checkin_closed() -> Conflict:
    return Conflict("checkin_closed", "不在签到时间内", "Check-in is not open now")


def not_training() -> Conflict:
    return Conflict(
        "not_training", "只有培训课程记录结业", "Only training courses record completion"
    )


def not_attended() -> Conflict:
    return Conflict("not_attended", "该会员未签到，不能记录结业", "The member did not check in")
