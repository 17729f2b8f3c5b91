"""Programme lifecycle: drafts, immutable versions, pause / resume / end, listing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.errors import (
    InvalidTransition,
    NotFound,
    ProgramInactive,
    ValidationError,
    VersionImmutable,
)
from benefits.models import ProgramVersion
from benefits.public import (
    create_program,
    end_program,
    get_program,
    get_version,
    list_programs,
    list_versions,
    pause_program,
    publish_program,
    redeem,
    resume_program,
    update_program,
)
from cardsvc.kernel.db import make_sessionmaker
from tests.benefits.conftest import (
    CITY,
    CITY_PATH,
    NOON,
    OTHER_PATH,
    TOWN_PATH,
    member,
    merchant,
    published,
    rules,
)


async def test_create_publish_edit_makes_versions(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        draft = await create_program(
            conn, code="DINING", owner_org_id=CITY, owner_org_path=CITY_PATH, rules=rules(scope={})
        )
        assert (draft.status, draft.version_number, draft.current_version_id) == ("draft", 0, None)
        # A draft may be edited in place, even with an empty scope …
        draft = await update_program(
            conn, program_id=draft.id, rules=rules(name="餐饮八折", scope={})
        )
        assert draft.name == "餐饮八折" and draft.version_number == 0
        # … but cannot be published until it names where it applies.
        with pytest.raises(ValidationError) as info:
            await publish_program(conn, program_id=draft.id)
        assert [e.field for e in info.value.errors] == ["scope"]
        await update_program(conn, program_id=draft.id, rules=rules(name="餐饮八折"))
        v1 = await publish_program(conn, program_id=draft.id)
        assert (v1.status, v1.version_number) == ("active", 1)
        # Editing an active programme publishes version 2 at once; version 1 is untouched.
        v2 = await update_program(
            conn,
            program_id=draft.id,
            rules=rules(name="餐饮七折", benefit={"kind": "percent_off", "basis_points": 3000}),
            expected_version=1,
        )
        assert (v2.status, v2.version_number, v2.name) == ("active", 2, "餐饮七折")
        history = await list_versions(conn, program_id=draft.id)
        assert [v.number for v in history] == [2, 1]
        first = await get_version(conn, program_id=draft.id, number=1)
        assert first.rules["name"] == "餐饮八折"
        assert first.rules["benefit"]["basis_points"] == 1000
        # A stale editor loses instead of overwriting.
        with pytest.raises(InvalidTransition) as stale:
            await update_program(conn, program_id=draft.id, rules=rules(), expected_version=1)
        assert stale.value.code == "version_conflict"
        # An edit of an active programme must pass the publishing checks.
        with pytest.raises(ValidationError) as bad:
            await update_program(conn, program_id=draft.id, rules=rules(scope={}))
        assert [e.field for e in bad.value.errors] == ["scope"]
        with pytest.raises(NotFound):
            await get_version(conn, program_id=draft.id, number=9)


async def test_redemptions_record_the_version_they_used(engine: AsyncEngine) -> None:
    p = await published(engine)
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        r1 = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=10_000,
            idempotency_key="a",
            at=NOON,
        )
        await update_program(
            conn,
            program_id=p.id,
            rules=rules(benefit={"kind": "percent_off", "basis_points": 2000}),
        )
        r2 = await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=10_000,
            idempotency_key="b",
            at=NOON,
        )
    assert (r1.lines[0].version_number, r1.discount_fen) == (1, 1000)
    assert (r2.lines[0].version_number, r2.discount_fen) == (2, 2000)
    assert r1.lines[0].version_id != r2.lines[0].version_id


async def test_status_transitions(engine: AsyncEngine) -> None:
    p = await published(engine)
    m, shop = member(), merchant()
    async with engine.connect() as conn:
        paused = await pause_program(conn, program_id=p.id)
        assert paused.status == "paused"
        with pytest.raises(ProgramInactive) as info:
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="x",
                at=NOON,
            )
        assert info.value.reasons[0].code == "program_paused"
        with pytest.raises(InvalidTransition):
            await pause_program(conn, program_id=p.id)
        # A paused programme may still be edited (new version, stays paused).
        edited = await update_program(conn, program_id=p.id, rules=rules(priority=3))
        assert (edited.status, edited.version_number, edited.priority) == ("paused", 2, 3)
        assert (await resume_program(conn, program_id=p.id)).status == "active"
        await redeem(
            conn,
            member=m,
            merchant=shop,
            program_ids=p.id,
            amount_fen=100,
            idempotency_key="x",
            at=NOON,
        )
        ended = await end_program(conn, program_id=p.id)
        assert ended.status == "ended"
        for action in (pause_program, resume_program, end_program, publish_program):
            with pytest.raises(InvalidTransition) as bad:
                await action(conn, program_id=p.id)
            assert bad.value.errors[0].field == "status"
        with pytest.raises(InvalidTransition) as bad:
            await update_program(conn, program_id=p.id, rules=rules())
        assert bad.value.errors[0].field == "status" and bad.value.status == 409
        with pytest.raises(ProgramInactive) as info:
            await redeem(
                conn,
                member=m,
                merchant=shop,
                program_ids=p.id,
                amount_fen=100,
                idempotency_key="y",
                at=NOON,
            )
        assert info.value.reasons[0].code == "program_ended"


async def test_a_draft_cannot_be_redeemed(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        d = await create_program(
            conn, code="DRAFT", owner_org_id=CITY, owner_org_path=CITY_PATH, rules=rules()
        )
        with pytest.raises(ProgramInactive) as info:
            await redeem(
                conn,
                member=member(),
                merchant=merchant(),
                program_ids=d.id,
                amount_fen=100,
                idempotency_key="k",
                at=NOON,
            )
        assert info.value.reasons[0].code == "program_draft"
        with pytest.raises(NotFound):
            await redeem(
                conn,
                member=member(),
                merchant=merchant(),
                program_ids=uuid.uuid4(),
                amount_fen=100,
                idempotency_key="k2",
                at=NOON,
            )


async def test_published_versions_cannot_be_edited_in_place(engine: AsyncEngine) -> None:
    p = await published(engine)
    async with make_sessionmaker(engine)() as session:
        version = (
            await session.execute(select(ProgramVersion).where(ProgramVersion.program_id == p.id))
        ).scalar_one()
        version.rules = {**version.rules, "name": "tampered"}
        with pytest.raises(VersionImmutable) as info:
            await session.flush()
        assert info.value.status == 409
        await session.rollback()
    async with engine.connect() as conn:
        assert (await get_version(conn, program_id=p.id, number=1)).rules["name"] == "餐饮九折"


async def test_codes_and_owner_paths_are_checked(engine: AsyncEngine) -> None:
    await published(engine, code="TAKEN")
    async with engine.connect() as conn:
        with pytest.raises(ValidationError) as info:
            await create_program(
                conn, code="TAKEN", owner_org_id=CITY, owner_org_path=CITY_PATH, rules=rules()
            )
        assert info.value.errors[0].field == "code"
        with pytest.raises(ValidationError) as info:
            await create_program(
                conn, code="bad code!", owner_org_id=CITY, owner_org_path=CITY_PATH, rules=rules()
            )
        assert info.value.errors[0].field == "code"
        with pytest.raises(ValidationError) as info:
            await create_program(
                conn, code="OK", owner_org_id=CITY, owner_org_path="", rules=rules()
            )
        assert info.value.errors[0].field == "owner_org_path"
        with pytest.raises(NotFound):
            await get_program(conn, program_id=uuid.uuid4())


async def test_listing_filters(engine: AsyncEngine) -> None:
    await published(engine, code="CITY-DINING", owner_path=CITY_PATH, priority=1)
    await published(engine, code="TOWN-CINEMA", owner_path=TOWN_PATH, name="观影补贴")
    other = await published(engine, code="OTHER", owner_path=OTHER_PATH)
    async with engine.connect() as conn:
        await pause_program(conn, program_id=other.id)
        everything, total = await list_programs(conn)
        assert total == 3 and next(p.code for p in everything) == "CITY-DINING"
        subtree, total = await list_programs(conn, owner_path_prefix=CITY_PATH)
        assert {p.code for p in subtree} == {"CITY-DINING", "TOWN-CINEMA"} and total == 2
        for_member, _ = await list_programs(conn, member_org_path=TOWN_PATH)
        assert {p.code for p in for_member} == {"CITY-DINING", "TOWN-CINEMA"}
        paused, _ = await list_programs(conn, status="paused")
        assert [p.code for p in paused] == ["OTHER"]
        found, _ = await list_programs(conn, search="观影")
        assert [p.code for p in found] == ["TOWN-CINEMA"]
        page, total = await list_programs(conn, limit=1, offset=1)
        assert len(page) == 1 and total == 3
        assert (await get_program(conn, program_id=other.id)).status == "paused"
