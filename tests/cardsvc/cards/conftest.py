"""Fixtures for the card service tests.

``cardsvc.cards.models`` is imported at module level so that the shared metadata has the card
tables before the ``engine`` fixture creates the schema.
"""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import cardsvc.cards.models  # noqa: F401  (registers the card tables)
from cardsvc.cards.keys import KeyRing, ensure_signing_key
from cardsvc.kernel.pii import PiiCipher
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org, OrgLevel
from tests.support.cards import NOW, MakeMember


@pytest.fixture
def cipher() -> PiiCipher:
    return PiiCipher({"t1": os.urandom(32)}, b"lookup-key-for-tests")


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    oid = uuid.uuid4()
    row = Org(id=oid, code="G001", name="测试基层工会", level=OrgLevel.grassroots, path=f"{oid}/")
    session.add(row)
    await session.flush()
    return row


@pytest.fixture
def make_member(session: AsyncSession, org: Org, cipher: PiiCipher) -> MakeMember:
    counter = iter(range(1, 10_000))

    async def make(status: MemberStatus = MemberStatus.active, name: str = "张三明") -> Member:
        n = next(counter)
        id_number = f"11010119900101{n:04d}"
        member = Member(
            member_no=f"M{n:08d}",
            name=name,
            id_number_enc=cipher.encrypt("id_number", id_number),
            id_number_hash=cipher.lookup_hash("id_number", id_number),
            data_key_id=cipher.active_kid,
            birth_date=date(1990, 1, 1),
            gender="M",
            org_id=org.id,
            org_path=org.path,
            status=status,
        )
        session.add(member)
        await session.flush()
        return member

    return make


@pytest.fixture
async def keyring(session: AsyncSession, cipher: PiiCipher) -> KeyRing:
    await ensure_signing_key(session, cipher, now=NOW)
    return KeyRing(cipher)
