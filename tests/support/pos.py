"""Point-of-sale fixtures for the scan / redeem tests: cards, codes and a published programme.

Cards and programmes come from the services themselves (``cardsvc.cards.service``,
``benefits.public``), the terminals from the demo seed. Import the ``pos`` fixture into a test
module (``from tests.support.pos import pos_fixture``) to use it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.public import ProgramView, create_program, publish_program
from cardsvc.cards.keys import KeyRing, ensure_signing_key
from cardsvc.cards.minting import rotating_tokens_for_member, static_token_for_card
from cardsvc.cards.models import Card
from cardsvc.cards.service import current_card, issue_card
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org
from merchants.models import ScanLog
from merchants.terminal.wiring import RedeemServices, services_of

ROOT_ORG = "HB"


@dataclass
class Pos:
    engine: AsyncEngine
    app: Litestar
    keyring: KeyRing
    terminals: list[dict[str, Any]]
    members: list[uuid.UUID]
    root_org: Org
    programs: dict[str, ProgramView] = field(default_factory=dict)
    _next_member: int = 0

    @property
    def services(self) -> RedeemServices:
        return services_of(self.app.state)

    def terminal(self, category: str = "dining", index: int = 0) -> dict[str, Any]:
        found = [t for t in self.terminals if t["category"] == category]
        return found[index]

    def headers(self, terminal: dict[str, Any], key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {terminal['key']}"}
        if key is not None:
            h["Idempotency-Key"] = key
        return h

    def member(self) -> uuid.UUID:
        """A fresh active member with a card (each test gets distinct ones)."""
        mid = self.members[self._next_member]
        self._next_member += 1
        return mid

    def member_cycle(self) -> uuid.UUID:
        """Any member with a card, round robin (for many requests that need not be distinct)."""
        self._next_member += 1
        return self.members[self._next_member % len(self.members)]

    async def code(self, member_id: uuid.UUID, *, now: datetime | None = None) -> str:
        async with make_sessionmaker(self.engine)() as session:
            tokens = await rotating_tokens_for_member(
                session, member_id=member_id, keyring=self.keyring, now=now
            )
            return tokens[0].text

    async def static_code(self, member_id: uuid.UUID) -> str:
        async with make_sessionmaker(self.engine)() as session:
            card = await current_card(session, member_id=member_id)
            assert card is not None
            token = await static_token_for_card(session, card_id=card.id, keyring=self.keyring)
            return token.text

    async def card_of(self, member_id: uuid.UUID) -> Card:
        async with make_sessionmaker(self.engine)() as session:
            card = await current_card(session, member_id=member_id)
            assert card is not None
            return card

    async def program(self, code: str, **rules: Any) -> ProgramView:
        """A published programme owned by the federation root (applies to every member)."""
        body: dict[str, Any] = {
            "name": f"测试项目 {code}",
            "benefit": {"kind": "percent_off", "basis_points": 1000},
            "scope": {"merchant_categories": ["dining"]},
            "limits": [],
        }
        body.update(rules)
        async with self.engine.connect() as conn:
            p = await create_program(
                conn,
                code=code,
                owner_org_id=self.root_org.id,
                owner_org_path=self.root_org.path,
                rules=body,
            )
            p = await publish_program(conn, program_id=p.id)
        self.programs[code] = p
        return p

    async def set_member_status(self, member_id: uuid.UUID, status: MemberStatus) -> None:
        async with make_sessionmaker(self.engine)() as session, session.begin():
            await session.execute(
                update(Member).where(Member.id == member_id).values(status=status)
            )


async def make_pos(engine: AsyncEngine, app: Litestar, demo: dict[str, Any], n: int = 12) -> Pos:
    cipher = app.state.cipher
    keyring = KeyRing(cipher)
    async with make_sessionmaker(engine)() as session, session.begin():
        await ensure_signing_key(session, cipher)
        root = await session.scalar(select(Org).where(Org.code == ROOT_ORG))
        assert root is not None
        rows = (
            await session.scalars(
                select(Member.id)
                .where(Member.status == MemberStatus.active)
                .order_by(Member.member_no)
                .limit(n)
            )
        ).all()
        members = []
        for mid in rows:
            if await current_card(session, member_id=mid) is None:
                await issue_card(session, member_id=mid)
            members.append(mid)
    assert len(members) == n
    return Pos(engine, app, keyring, demo["terminals"], members, root)


@pytest.fixture(name="pos")
async def pos_fixture(engine: AsyncEngine, app: Litestar, demo: dict[str, Any]) -> Pos:
    return await make_pos(engine, app, demo)


def later(seconds: float) -> Any:
    """A clock ``seconds`` ahead of the real one (for ``services.clock``)."""
    return lambda: datetime.now(UTC) + timedelta(seconds=seconds)


async def scan_log(engine: AsyncEngine, expect: int, within: float = 5.0) -> list[ScanLog]:
    """The scan-log rows once ``expect`` of them are written (the app writes them in batches,
    off the request path, within ``UNIONCARD_SCAN_LOG_FLUSH_MS``)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with make_sessionmaker(engine)() as session:
            rows = list((await session.scalars(select(ScanLog).order_by(ScanLog.at))).all())
        if len(rows) >= expect or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)
