"""Helpers for service-request tests: demo staff as principals, demo members by union, and a
fixed clock far enough in the past that the demo's own requests (filed relative to the real
now) are never due at the test's times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Category, Member, MemberStatus
from cardsvc.orgs.models import Org
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import principal_of

# The app/client fixtures of tests/cardsvc, named here for the API tests.
from tests.cardsvc.conftest import app, client, settings  # noqa: F401


@pytest.fixture
def t0() -> datetime:
    day = (datetime.now(UTC) - timedelta(days=300)).date()
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


async def staff(session: AsyncSession, username: str) -> Principal:
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    assert user is not None, username
    return principal_of(user)


async def org(session: AsyncSession, code: str) -> Org:
    o = await session.scalar(select(Org).where(Org.code == code))
    assert o is not None, code
    return o


async def member_in(
    session: AsyncSession, union_code: str, *, skip: int = 0, hardship: bool = False
) -> Member:
    """An active member of the union; without the hardship category unless asked for."""
    u = await org(session, union_code)
    rows = [
        m
        for m in await session.scalars(
            select(Member)
            .where(Member.org_id == u.id, Member.status == MemberStatus.active)
            .order_by(Member.member_no)
        )
        if (Category.hardship.value in (m.categories or [])) == hardship
    ]
    return rows[skip]
