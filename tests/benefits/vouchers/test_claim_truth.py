"""The database is the truth of a campaign's stock and each member's limit, whatever the
admission store says: a store that lies (a stale or lost Redis) cannot oversell, concurrent
claims never do, and a store lost mid-campaign is rebuilt from the voucher rows."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.errors import BenefitsError
from benefits.vouchers.admission import MemoryAdmission, RedisAdmission, Snapshot, epoch_ms
from benefits.vouchers.campaigns import create_campaign, move_campaign
from benefits.vouchers.claims import claim
from benefits.vouchers.models import CampaignMode, Voucher, VoucherSlot
from cardsvc.kernel.db import make_sessionmaker
from tests.benefits.conftest import CITY, CITY_PATH, member
from tests.benefits.vouchers.conftest import claim as claim_http
from tests.benefits.vouchers.conftest import published_campaign
from tests.support.front import Front

NOW = datetime.now(UTC)


@pytest.fixture
async def store(admission: str) -> Any:
    if not admission:
        yield MemoryAdmission()
        return
    client = Redis.from_url(admission)
    yield RedisAdmission(client)
    await client.aclose()


async def _campaign(engine: AsyncEngine, stock: int, per_member: int) -> uuid.UUID:
    async with engine.connect() as conn:
        c = await create_campaign(
            conn,
            code=f"T{uuid.uuid4().hex[:8]}",
            name="测试券",
            owner_org_id=CITY,
            owner_org_path=CITY_PATH,
            mode=CampaignMode.first_come,
            terms={"value": {"kind": "amount_off", "off_fen": 500}, "valid_days": 3},
            stock=stock,
            per_member=per_member,
            opens_at=NOW - timedelta(minutes=5),
            closes_at=NOW + timedelta(hours=1),
        )
        await move_campaign(conn, c.id, "publish", NOW)
        return c.id


async def _storm(
    engine: AsyncEngine, store: Any, cid: uuid.UUID, requests: list[tuple[Any, str]]
) -> list[tuple[Any, str]]:
    """Every (member, request key) claimed concurrently, each on its own session; what each
    got: the voucher or the refusal's code."""
    sessions = make_sessionmaker(engine)

    async def one(facts: Any, key: str) -> tuple[Any, str]:
        async def load() -> Any:
            return facts

        async with sessions() as s:
            try:
                v, _ = await claim(
                    s, store, campaign_id=cid, request=key, member=load, at=datetime.now(UTC)
                )
                return v, "ok"
            except BenefitsError as exc:
                return None, exc.code

    return list(await asyncio.gather(*(one(f, k) for f, k in requests)))


async def _rows(engine: AsyncEngine, cid: uuid.UUID) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (await conn.execute(select(Voucher.__table__).where(Voucher.campaign_id == cid))).all()
        )


async def test_a_lying_store_cannot_oversell(engine: AsyncEngine, store: Any) -> None:
    cid = await _campaign(engine, stock=5, per_member=1)
    # A stale store: it believes in 100 vouchers and 5 per member.
    lie = Snapshot(
        epoch_ms(NOW - timedelta(minutes=5)),
        epoch_ms(NOW + timedelta(hours=1)),
        100,
        5,
        0,
        [],
        {},
        {},
    )
    await store.load(cid.hex, lie)
    people = [member() for _ in range(10)]
    got = await _storm(
        engine, store, cid, [(p, uuid.uuid4().hex) for p in people for _ in range(3)]
    )
    rows = await _rows(engine, cid)
    assert len(rows) <= 5
    assert max(Counter(r.member_id for r in rows).values()) == 1
    granted = {v.id for v, outcome in got if outcome == "ok"}
    assert granted == {r.id for r in rows}  # every success has its row, and only those
    assert {o for _, o in got} <= {"ok", "voucher_busy", "voucher_limit", "voucher_sold_out"}


async def test_concurrent_claims_fill_the_stock_exactly(engine: AsyncEngine, store: Any) -> None:
    cid = await _campaign(engine, stock=7, per_member=2)
    people = [member() for _ in range(8)]
    requests = [(p, uuid.uuid4().hex) for p in people for _ in range(3)]
    got = await _storm(engine, store, cid, requests)
    rows = await _rows(engine, cid)
    assert len(rows) == 7 == sum(1 for _, o in got if o == "ok")
    assert max(Counter(r.member_id for r in rows).values()) <= 2
    assert Counter(o for _, o in got)["voucher_sold_out"] + 7 + Counter(o for _, o in got)[
        "voucher_limit"
    ] == len(requests)


async def test_lost_store_is_rebuilt_from_the_database(engine: AsyncEngine, store: Any) -> None:
    cid = await _campaign(engine, stock=4, per_member=1)
    a, b, c, d = (member() for _ in range(4))
    keys = {p.id: uuid.uuid4().hex for p in (a, b)}
    first = await _storm(engine, store, cid, [(a, keys[a.id]), (b, keys[b.id])])
    assert [o for _, o in first] == ["ok", "ok"]
    await store.forget(cid.hex)  # Redis restarted empty
    # A retry of a granted request gets the same voucher; the member's limit holds; the
    # stock left is what the database says.
    again = await _storm(engine, store, cid, [(a, keys[a.id])])
    assert again[0][0].id == first[0][0].id
    assert [o for _, o in await _storm(engine, store, cid, [(b, uuid.uuid4().hex)])] == [
        "voucher_limit"
    ]
    more = await _storm(engine, store, cid, [(p, uuid.uuid4().hex) for p in (c, d, member())])
    assert sorted(o for _, o in more) == ["ok", "ok", "voucher_sold_out"]
    assert len(await _rows(engine, cid)) == 4


async def test_sold_out_is_refused_without_the_database(engine: AsyncEngine, store: Any) -> None:
    """Once the admission has answered "sold out", the storm's refusals come from the store
    alone: no member read, no connection taken from the database's pool."""
    cid = await _campaign(engine, stock=2, per_member=1)
    first = await _storm(engine, store, cid, [(member(), uuid.uuid4().hex) for _ in range(3)])
    assert sorted(o for _, o in first) == ["ok", "ok", "voucher_sold_out"]
    loads: list[Any] = []
    checkouts: list[Any] = []

    def on_checkout(*args: Any) -> None:
        checkouts.append(args)

    event.listen(engine.sync_engine.pool, "checkout", on_checkout)
    sessions = make_sessionmaker(engine)
    try:
        for _ in range(5):
            facts = member()

            async def load(facts: Any = facts) -> Any:
                loads.append(facts)
                return facts

            async with sessions() as s:
                with pytest.raises(BenefitsError) as refused:
                    await claim(
                        s,
                        store,
                        campaign_id=cid,
                        request=uuid.uuid4().hex,
                        member=load,
                        at=datetime.now(UTC),
                    )
            assert refused.value.code == "voucher_sold_out"
    finally:
        event.remove(engine.sync_engine.pool, "checkout", on_checkout)
    assert loads == [] and checkouts == []


class _LateOk(MemoryAdmission):
    """Admits at once but hands the "slow" request's answer back only when let go, as a
    Redis reply can come back after a later claim's refusal."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = asyncio.Event()
        self.held = asyncio.Event()

    async def admit(self, campaign: str, now_ms: int, member: str, request: str) -> Any:
        verdict = await super().admit(campaign, now_ms, member, request)
        if request == "slow":
            self.held.set()
            await self.let_go.wait()
        return verdict


async def test_an_ok_answered_after_the_sell_out_does_not_reopen_it(engine: AsyncEngine) -> None:
    cid = await _campaign(engine, stock=1, per_member=1)
    store = _LateOk()
    slow = asyncio.create_task(_storm(engine, store, cid, [(member(), "slow")]))
    await store.held.wait()  # the last voucher is admitted; its answer is held
    refused = await _storm(engine, store, cid, [(member(), uuid.uuid4().hex)])
    assert [o for _, o in refused] == ["voucher_sold_out"]
    store.let_go.set()
    assert [o for _, o in await slow] == ["ok"]
    loads: list[Any] = []

    async def load() -> Any:
        loads.append(1)
        return member()

    async with make_sessionmaker(engine)() as s:
        with pytest.raises(BenefitsError) as again:
            await claim(s, store, campaign_id=cid, request="r", member=load, at=datetime.now(UTC))
    assert again.value.code == "voucher_sold_out" and loads == []


async def test_a_retry_after_the_sell_out_gets_its_voucher(front: Front) -> None:
    """A member whose answer was lost retries with the same request id after the last voucher
    went: the retry is recognised, not refused as sold out (on Redis and in-process alike)."""
    c = await published_campaign(front, stock=1)
    org = await front.grassroots("HB-YC-XL")
    first, other = await front.member(org), await front.member(org)
    key = uuid.uuid4().hex
    granted = await claim_http(front, first.phone, c["id"], key)
    assert granted.status_code == 201
    refused = await claim_http(front, other.phone, c["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "voucher_sold_out"
    for _ in range(3):  # at once, as a client's retry would come
        again = await claim_http(front, first.phone, c["id"], key)
        assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]


async def test_a_request_id_of_another_member_gives_no_voucher(front: Front) -> None:
    """A request id is the member's own: another member sending it is refused (not handed the
    first member's voucher, not their admission undone) and claims with a fresh id as usual;
    the first member's retry still gets their voucher."""
    c = await published_campaign(front, stock=3)
    org = await front.grassroots("HB-YC-XL")
    first, other = await front.member(org), await front.member(org)
    key = uuid.uuid4().hex
    granted = await claim_http(front, first.phone, c["id"], key)
    assert granted.status_code == 201
    for _ in range(2):
        reused = await claim_http(front, other.phone, c["id"], key)
        assert reused.status_code == 409 and reused.json()["code"] == "voucher_request_reused"
    own = await claim_http(front, other.phone, c["id"])
    assert own.status_code == 201 and own.json()["id"] != granted.json()["id"]
    again = await claim_http(front, first.phone, c["id"], key)
    assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]
    limit = await claim_http(front, other.phone, c["id"])
    assert limit.status_code == 409 and limit.json()["code"] == "voucher_limit"


async def lose_admission(app: Litestar, admission: str) -> None:
    """The admission store loses its campaigns (as when Redis restarts without persistence;
    the sessions, also in Redis, are kept so that the test's staff stay signed in)."""
    if not admission:
        app.state.voucher_admission.campaigns.clear()
        return
    client = Redis.from_url(admission)
    async for key in client.scan_iter("unioncard:{vc:*"):
        await client.delete(key)
    await client.aclose()


async def test_reconcile_through_the_api(
    front: Front, app: Litestar, engine: AsyncEngine, admission: str
) -> None:
    c = await published_campaign(front, stock=3)
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(4)]
    assert (await claim_http(front, people[0].phone, c["id"])).status_code == 201
    await lose_admission(app, admission)
    r = await front.client.post(f"/api/v1/voucher-campaigns/{c['id']}/reconcile")
    assert r.status_code == 200 and r.json()["claimed"] == 1 and r.json()["left"] == 2
    again = await claim_http(front, people[0].phone, c["id"])
    assert again.status_code == 409 and again.json()["code"] == "voucher_limit"
    answers = [await claim_http(front, p.phone, c["id"]) for p in people[1:]]
    assert [a.status_code for a in answers] == [201, 201, 409]
    async with make_sessionmaker(engine)() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(Voucher)
            .where(Voucher.campaign_id == uuid.UUID(c["id"]))
        )
    assert n == 3


async def test_the_rebuild_gives_back_a_slot_left_without_its_voucher(
    front: Front, app: Litestar, engine: AsyncEngine, admission: str
) -> None:
    """A stock slot taken in ``voucher_slot`` whose voucher never came (a stale admission's twin
    claim, in flight at the same moment) is given back by the reconcile: the stock sells out in
    full, and no slot held by a voucher is ever given twice."""
    c = await published_campaign(front, stock=2)
    cid = uuid.UUID(c["id"])
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(3)]
    assert (await claim_http(front, people[0].phone, c["id"])).status_code == 201
    async with engine.begin() as conn:
        await conn.execute(
            insert(VoucherSlot).values(
                campaign_id=cid, slot=1, member_id=uuid.uuid4(), voucher_id=uuid.uuid4()
            )
        )
    await lose_admission(app, admission)
    r = await front.client.post(f"/api/v1/voucher-campaigns/{c['id']}/reconcile")
    assert r.status_code == 200 and r.json()["claimed"] == 1 and r.json()["left"] == 1
    answers = [await claim_http(front, p.phone, c["id"]) for p in people[1:]]
    assert [a.status_code for a in answers] == [201, 409]
    assert answers[1].json()["code"] == "voucher_sold_out"
    async with engine.connect() as conn:
        slots = (
            await conn.execute(
                select(VoucherSlot.slot, VoucherSlot.voucher_id).where(
                    VoucherSlot.campaign_id == cid
                )
            )
        ).all()
    held = {(r.slot, r.id) for r in await _rows(engine, cid)}
    assert set(slots) == held and {s for s, _ in held} == {0, 1}
