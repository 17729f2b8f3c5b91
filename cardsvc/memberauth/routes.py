"""Member sign-in with phone + one-time code, sign-out, and who am I."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.masking import mask_phone
from cardsvc.kernel.openapi import RATE_LIMITED, problem_responses
from cardsvc.kernel.web import json_body_only
from cardsvc.memberauth import signin
from cardsvc.memberauth.sessions import (
    MEMBER_COOKIE,
    MemberSession,
    member_for_phone,
)
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org


class OtpIn(msgspec.Struct):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["13800138000"])]


class OtpOut(msgspec.Struct):
    sent: bool
    expires_in: int
    resend_after: int


class SignInIn(msgspec.Struct):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=12)]


class MembershipOut(msgspec.Struct):
    member_no: str
    name: str
    status: MemberStatus
    union_id: str
    union_name: str
    joined_on: date | None
    categories: list[str]


class MeOut(msgspec.Struct):
    phone_masked: str
    member: MembershipOut | None
    csrf_token: str | None = None


async def membership_out(db_session: AsyncSession, member: Member | None) -> MembershipOut | None:
    if member is None:
        return None
    org = await db_session.get(Org, member.org_id)
    return MembershipOut(
        member_no=member.member_no,
        name=member.name,
        status=member.status,
        union_id=str(member.org_id),
        union_name=org.name if org else "",
        joined_on=member.joined_on,
        categories=list(member.categories or []),
    )


# Sending codes and guessing them are both throttled per phone and per address.
SIGN_IN_LIMITED = problem_responses(
    {
        "otp_attempts_exceeded": (
            429,
            "验证码尝试次数过多，请重新获取验证码",
            "Too many attempts; request a new code",
        )
    },
    "rate_limited",
    "otp_attempts_exceeded",
)


class MemberAuthController(Controller):
    path = "/api/v1/me"
    tags = ["member: sign-in"]

    @post(
        "/otp",
        summary="Send a one-time sign-in code to a phone",
        status_code=202,
        guards=[json_body_only],
        responses=RATE_LIMITED,
    )
    async def send_code(self, request: Request[Any, Any, Any], state: State, data: OtpIn) -> OtpOut:
        policy = await signin.send_code(request, state, data.phone)
        return OtpOut(sent=True, expires_in=policy.ttl, resend_after=policy.resend_after)

    @post(
        "/session",
        summary="Sign in with the phone and its one-time code",
        status_code=200,
        guards=[json_body_only],
        responses=SIGN_IN_LIMITED,
    )
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        data: SignInIn,
    ) -> Response[MeOut]:
        done = await signin.sign_in(request, state, data.phone, data.code)
        member = await member_for_phone(db_session, done.phone_hash)
        body = MeOut(
            mask_phone(done.phone), await membership_out(db_session, member), done.session.csrf
        )
        return Response(body, cookies=[done.cookie])

    @delete(
        "/session",
        summary="Sign out",
        status_code=204,
        # A static cookie on a None return: the 204 is documented without a body.
        response_cookies=[Cookie(key=MEMBER_COOKIE, value="", max_age=0, path="/", httponly=True)],
    )
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> None:
        await signin.sign_out(request, state)

    @get("/", summary="Who am I: the signed-in phone and its membership, if any")
    async def whoami(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> MeOut:
        phone = state.cipher.decrypt("phone", member_session.phone_enc)
        member = await member_for_phone(db_session, member_session.phone_hash)
        return MeOut(
            mask_phone(phone), await membership_out(db_session, member), member_session.csrf
        )
