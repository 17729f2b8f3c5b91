"""Helpers for the benefits engine tests: an org tree, members, merchants, programmes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Redemption, Reversal
from benefits.public import ProgramView, create_program, publish_program
from benefits.rules.facts import MemberFacts, MerchantContext
from tests.support.counters import all_counters

ROOT = uuid.UUID("00000000-0000-7000-8000-000000000001")
CITY = uuid.UUID("00000000-0000-7000-8000-000000000002")
TOWN = uuid.UUID("00000000-0000-7000-8000-000000000003")
OTHER_CITY = uuid.UUID("00000000-0000-7000-8000-000000000004")
ROOT_PATH = f"{ROOT}/"
CITY_PATH = f"{ROOT}/{CITY}/"
TOWN_PATH = f"{ROOT}/{CITY}/{TOWN}/"
OTHER_PATH = f"{ROOT}/{OTHER_CITY}/"

# 2025-06-11 10:00 in Shanghai, a Wednesday.
NOON = datetime(2025, 6, 11, 2, 0, tzinfo=UTC)


def member(**kw: Any) -> MemberFacts:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "status": "active",
        "org_path": TOWN_PATH,
        "categories": frozenset(),
        "hardship_level": None,
        "joined_on": date(2020, 1, 1),
        "birth_date": date(1990, 5, 1),
        "region": "110105",
    }
    values.update(kw)
    if isinstance(values["categories"], list | set | tuple):
        values["categories"] = frozenset(values["categories"])
    return MemberFacts(**values)


def merchant(**kw: Any) -> MerchantContext:
    values: dict[str, Any] = {
        "merchant_id": uuid.uuid4(),
        "store_id": uuid.uuid4(),
        "terminal_id": uuid.uuid4(),
        "category": "dining",
        "region": "110105",
    }
    values.update(kw)
    return MerchantContext(**values)


def rules(**kw: Any) -> dict[str, Any]:
    """A valid dining programme: 10 % off, in scope for dining; override any part."""
    base: dict[str, Any] = {
        "name": "餐饮九折",
        "description": "合作餐厅九折",
        "benefit": {"kind": "percent_off", "basis_points": 1000},
        "scope": {"merchant_categories": ["dining"]},
        "limits": [],
    }
    base.update(kw)
    return base


_codes = iter(range(1, 10**6))


async def published(
    engine: AsyncEngine, owner_path: str = CITY_PATH, code: str | None = None, **kw: Any
) -> ProgramView:
    async with engine.connect() as conn:
        p = await create_program(
            conn,
            code=code or f"P{next(_codes):05d}",
            owner_org_id=uuid.UUID(owner_path.strip("/").split("/")[-1]),
            owner_org_path=owner_path,
            rules=rules(**kw),
        )
        return await publish_program(conn, program_id=p.id, at=datetime(2025, 1, 1, tzinfo=UTC))


async def counters(engine: AsyncEngine, program_id: uuid.UUID) -> dict[tuple[str, str, str], int]:
    c = all_counters()
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(c.c.policy_key, c.c.scope_key, c.c.period_key, c.c.used).where(
                c.c.program_id == program_id
            )
        )
        return {(r[0], r[1], r[2]): r[3] for r in rows}


async def ledger(engine: AsyncEngine, program_id: uuid.UUID | None = None) -> list[Any]:
    r, v = Redemption.__table__, Reversal.__table__
    stmt = select(r, v.c.id.label("reversal_id")).outerjoin(v, v.c.redemption_id == r.c.id)
    if program_id is not None:
        stmt = stmt.where(r.c.program_id == program_id)
    async with engine.connect() as conn:
        return list((await conn.execute(stmt.order_by(r.c.occurred_at))).all())


@pytest.fixture
def shop() -> MerchantContext:
    return merchant()
