"""One membership and one pending application per person, held by lookup tables (a schema
ready for Citus, docs/distribution.toml): ``member_identity`` and ``application_identity`` are
written with the member and the application, and what they hold is refused with the same
coded errors as before, through the join, approval and member APIs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.activities.models import ActivitySignup, IssuedCertificate
from cardsvc.cards.models import Card, CardIndex
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher
from cardsvc.members.models import Member, MemberIdentity
from cardsvc.membership.models import ApplicationIdentity, JoinApplication, RequestStatus
from tests.cardsvc.membership.test_join_duplicates import APPLY, QUEUE, someones_id_number
from tests.cardsvc.membership.test_membership import (
    NEW_ID,
    _org_id,
    _valid_id,
    application,
    member_client,
)
from tests.support.staff import login

OTHER_ID = _valid_id("42050219900101124")  # not in the demo


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as st:
        yield st


def _cipher(client: AsyncTestClient) -> PiiCipher:
    cipher: PiiCipher = client.app.state.cipher
    return cipher


async def _add(engine: AsyncEngine, row: Any) -> None:
    """A row committed by another transaction (one that won a race past the service's check)."""
    async with make_sessionmaker(engine)() as s, s.begin():
        s.add(row)


async def _rows(engine: AsyncEngine, *stmt: Any) -> list[set[tuple[Any, ...]]]:
    async with make_sessionmaker(engine)() as s:
        return [{tuple(r) for r in await s.execute(q)} for q in stmt]


async def test_the_lookup_tables_hold_every_member_card_and_pending_application(
    engine: AsyncEngine, demo: Any
) -> None:
    """The demo federation, made through the services (members, joins, cards, courses)."""
    members, identities, cards, indexes, apps, holds, signups, certs = await _rows(
        engine,
        select(Member.id_number_hash, Member.id),
        select(MemberIdentity.id_number_hash, MemberIdentity.member_id),
        select(Card.status_index, Card.member_id, Card.id),
        select(CardIndex.status_index, CardIndex.member_id, CardIndex.card_id),
        select(JoinApplication.id_number_hash, JoinApplication.member_id, JoinApplication.id).where(
            JoinApplication.status == RequestStatus.pending, JoinApplication.review_flag.is_(None)
        ),
        select(
            ApplicationIdentity.id_number_hash,
            ApplicationIdentity.member_id,
            ApplicationIdentity.application_id,
        ),
        select(ActivitySignup.cert_no, ActivitySignup.member_id, ActivitySignup.id).where(
            ActivitySignup.cert_no.is_not(None)
        ),
        select(IssuedCertificate.cert_no, IssuedCertificate.member_id, IssuedCertificate.signup_id),
    )
    assert members and cards and apps
    assert (identities, indexes, holds, certs) == (members, cards, apps, signups)


async def test_the_application_names_its_member_from_submission(
    stack: AsyncExitStack, settings: Any, client: AsyncTestClient, engine: AsyncEngine, demo: Any
) -> None:
    worker = await stack.enter_async_context(member_client(settings, "13687170001"))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    fresh = (await worker.post(APPLY, json=application(org_id))).json()
    theirs = await someones_id_number(client)  # signs the client in as xl.admin
    prober = await stack.enter_async_context(member_client(settings, "13687170002"))
    probe = (await prober.post(APPLY, json=application(org_id, theirs))).json()
    digest = _cipher(client).lookup_hash("id_number", theirs)
    [apps, owner] = await _rows(
        engine,
        select(JoinApplication.id, JoinApplication.member_id),
        select(MemberIdentity.member_id).where(MemberIdentity.id_number_hash == digest),
    )
    given = dict(apps)
    # An ID number that is a member's: the application is on that member's shard.
    assert {(given[uuid.UUID(probe["id"])],)} == owner
    ok = await client.post(f"{QUEUE}/{fresh['id']}/approve")
    assert ok.status_code == 200, ok.text
    [made] = await _rows(
        engine, select(Member.id).where(Member.member_no == ok.json()["member_no"])
    )
    # A new person: the member made at approval takes the id the application was given.
    assert made == {(given[uuid.UUID(fresh["id"])],)}


async def test_an_id_number_held_by_another_writer_is_refused_with_the_coded_error(
    stack: AsyncExitStack, settings: Any, client: AsyncTestClient, engine: AsyncEngine, demo: Any
) -> None:
    """Another transaction holds the ID number (it committed between the service's check and
    its insert): staff registration and approval answer 409 duplicate_id_number, not 500."""
    worker = await stack.enter_async_context(member_client(settings, "13687170001"))
    org_id = await _org_id(worker, "XL-NEWFORMS")
    pending = (await worker.post(APPLY, json=application(org_id, OTHER_ID))).json()
    cipher = _cipher(client)
    for number in (NEW_ID, OTHER_ID):
        digest = cipher.lookup_hash("id_number", number)
        await _add(engine, MemberIdentity(id_number_hash=digest, member_id=uuid.uuid4()))
    await login(client, "xl.admin")
    made = await client.post(
        "/api/v1/members", json={"name": "王小明", "id_number": NEW_ID, "org_id": org_id}
    )
    assert (made.status_code, made.json()["code"]) == (409, "duplicate_id_number"), made.text
    approved = await client.post(f"{QUEUE}/{pending['id']}/approve")
    assert (approved.status_code, approved.json()["code"]) == (409, "duplicate_id_number")
    queue = {a["id"]: a["status"] for a in (await client.get(QUEUE)).json()["items"]}
    assert queue[pending["id"]] == "pending"  # nothing of the refused approval stayed


async def test_a_pending_application_holds_its_id_number_until_it_ends(
    stack: AsyncExitStack, settings: Any, client: AsyncTestClient, engine: AsyncEngine, demo: Any
) -> None:
    first = await stack.enter_async_context(member_client(settings, "13687170001"))
    org_id = await _org_id(first, "XL-NEWFORMS")
    a = (await first.post(APPLY, json=application(org_id))).json()
    withdrawn = await first.post(f"{APPLY}/{a['id']}/withdraw")
    assert withdrawn.status_code in (200, 201), withdrawn.text
    # Withdrawn, it holds nothing: another phone's application is not flagged.
    second = await stack.enter_async_context(member_client(settings, "13687170002"))
    b = (await second.post(APPLY, json=application(org_id))).json()
    # A third, racing past the check while another transaction holds the number (stood in
    # for by a row committed here), is taken and flagged for staff like a duplicate.
    digest = _cipher(client).lookup_hash("id_number", OTHER_ID)
    await _add(
        engine,
        ApplicationIdentity(
            id_number_hash=digest, member_id=uuid.uuid4(), application_id=uuid.uuid4()
        ),
    )
    third = await stack.enter_async_context(member_client(settings, "13687170003"))
    c = await third.post(APPLY, json=application(org_id, OTHER_ID))
    assert c.status_code == 201, c.text
    await login(client, "xl.admin")
    flags = {x["id"]: x["review_flag"] for x in (await client.get(QUEUE)).json()["items"]}
    assert (flags[b["id"]], flags[c.json()["id"]]) == (None, "pending")
    # Rejected, b no longer holds the number either.
    rejected = await client.post(f"{QUEUE}/{b['id']}/reject", json={"reason": "材料不全"})
    assert rejected.status_code == 200, rejected.text
    digest_b = _cipher(client).lookup_hash("id_number", NEW_ID)
    [held] = await _rows(
        engine,
        select(ApplicationIdentity.application_id).where(
            ApplicationIdentity.id_number_hash == digest_b
        ),
    )
    assert held == set()
