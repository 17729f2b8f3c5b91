"""The benefits HTTP API as staff and members use it: programmes, scope, simulate, /me/benefits.

Runs on the demo federation (宜昌市总工会 HB-YC owns the demo programmes; ``yc.benefits`` is its
benefits manager), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.public import redeem
from benefits.rules.facts import MerchantContext
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.staff.service import create_staff
from tests.cardsvc import conftest as api_fixtures
from tests.cardsvc.membership.test_membership import member_client
from tests.support.contract import contract_client
from tests.support.staff import PASSWORD, login

# The HTTP fixtures of tests/cardsvc: an app per test on the ``engine`` database; its client
# checks every response against the published contract.
settings = api_fixtures.settings
app = api_fixtures.app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with contract_client(app) as c:
        yield c


Client = AsyncTestClient[Litestar]
API = "/api/v1/programs"
OUTDOOR = {"flexible_worker", "migrant_worker"}


async def orgs(engine: AsyncEngine) -> dict[str, Org]:
    async with make_sessionmaker(engine)() as s:
        return {o.code: o for o in (await s.scalars(select(Org))).all()}


async def add_staff(engine: AsyncEngine, username: str, role: Role, org_code: str) -> None:
    async with make_sessionmaker(engine)() as s, s.begin():
        org = await s.scalar(select(Org).where(Org.code == org_code))
        assert org is not None
        await create_staff(
            s,
            SYSTEM,
            username=username,
            display_name=username,
            password=PASSWORD,
            grants=[(role, org.id)],
        )


async def add_city(engine: AsyncEngine) -> None:
    """Another city under the province, with its own benefits manager."""
    async with make_sessionmaker(engine)() as s, s.begin():
        hb = await s.scalar(select(Org).where(Org.code == "HB"))
        assert hb is not None
        await create_org(
            s,
            SYSTEM,
            code="HB-XY",
            name="襄阳市总工会",
            level=OrgLevel.city,
            parent_id=hb.id,
            region_code="420600",
        )
    await add_staff(engine, "xy.benefits", Role.benefits_manager, "HB-XY")


def rules(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "测试餐饮九折",
        "description": "测试用",
        "benefit": {"kind": "percent_off", "basis_points": 1000, "cap_fen": 3000},
        "scope": {"merchant_categories": ["dining"]},
        "limits": [
            {"key": "monthly", "metric": "count", "scope": "member", "period": "month", "limit": 4},
        ],
    }
    base.update(kw)
    return base


async def create(client: Client, org_id: uuid.UUID | str, code: str, **kw: Any) -> Any:
    return await client.post(
        API + "/", json={"code": code, "owner_org_id": str(org_id), "rules": rules(**kw)}
    )


def fields(resp: Any) -> list[str]:
    return [e["field"] for e in resp.json().get("errors", [])]


def program_id(demo: dict[str, Any], code: str) -> str:
    return next(p["id"] for p in demo["programs"] if p["code"] == code)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"benefit": {"kind": "percent_off", "basis_points": 10001}}, "rules.benefit.basis_points"),
        (
            {"limits": [{"metric": "count", "scope": "member", "period": "day", "limit": 0}]},
            "rules.limits[0].limit",
        ),
        (
            {"limits": [{"metric": "units", "scope": "member", "period": "day", "limit": -3}]},
            "rules.limits[0].limit",
        ),
        (
            {"limits": [{"metric": "count", "scope": "member", "period": "fortnight", "limit": 2}]},
            "rules.limits[0].period",
        ),
        (
            {"limits": [{"metric": "visits", "scope": "member", "period": "day", "limit": 2}]},
            "rules.limits[0].metric",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "rules.timezone"),
        (
            {"valid_from": "2026-06-01T00:00:00+08:00", "valid_until": "2026-05-01T00:00:00+08:00"},
            "rules.valid_until",
        ),
    ],
)
async def test_bad_rules_are_refused_naming_the_field(
    client: Client,
    engine: AsyncEngine,
    demo: dict[str, Any],
    override: dict[str, Any],
    field: str,
) -> None:
    await login(client, "yc.benefits")
    city = (await orgs(engine))["HB-YC"]
    resp = await create(client, city.id, "BAD-1", **override)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "validation_error"
    assert field in fields(resp)
    # The validate button gives the same field errors with 200 and saves nothing.
    body = {"rules": rules(**override)}
    check = await client.post(API + "/validate", json=body)
    assert check.status_code == 200
    assert check.json()["valid"] is False
    assert field in [e["field"] for e in check.json()["errors"]]
    page = (await client.get(API + "/", params={"q": "BAD-1"})).json()
    assert page["total"] == 0


async def test_validate_accepts_good_rules(client: Client, demo: dict[str, Any]) -> None:
    await login(client, "yc.benefits")
    resp = await client.post(API + "/validate", json={"rules": rules()})
    assert resp.status_code == 200
    out = resp.json()
    assert out["valid"] is True and out["errors"] == []
    assert out["rules"]["limits"][0]["on_exceed"] == "reject"  # canonical form, defaults filled
    # A draft may have an empty scope; publishing may not.
    empty = await client.post(API + "/validate", json={"rules": rules(scope={})})
    assert "rules.scope" in [e["field"] for e in empty.json()["errors"]]
    draft_ok = await client.post(
        API + "/validate", json={"rules": rules(scope={}), "for_publish": False}
    )
    assert draft_ok.json()["valid"] is True


async def test_publish_edit_and_end_rules(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.benefits")
    city = (await orgs(engine))["HB-YC"]

    # Empty scope: a draft is fine, publishing names the field.
    draft = await create(client, city.id, "T-SCOPE", scope={})
    assert draft.status_code == 201, draft.text
    pid = draft.json()["id"]
    resp = await client.post(f"{API}/{pid}/publish")
    assert resp.status_code == 422
    assert fields(resp) == ["rules.scope"]

    # A draft is edited in place (no version yet), then published as version 1.
    resp = await client.patch(f"{API}/{pid}", json={"rules": rules(name="测试餐饮八八折")})
    assert resp.status_code == 200, resp.text
    assert resp.json()["version_number"] == 0 and resp.json()["name"] == "测试餐饮八八折"
    assert (await client.get(f"{API}/{pid}/versions")).json() == []
    resp = await client.post(f"{API}/{pid}/publish")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "active" and resp.json()["version_number"] == 1
    versions = (await client.get(f"{API}/{pid}/versions")).json()
    assert [v["number"] for v in versions] == [1]
    assert versions[0]["rules"]["name"] == "测试餐饮八八折"

    # Editing the published version in place is refused, naming the field to set.
    resp = await client.patch(f"{API}/{pid}", json={"rules": rules(name="改名")})
    assert resp.status_code == 409
    assert resp.json()["code"] == "version_immutable"
    assert fields(resp) == ["new_version"]
    # Bad rules on an edit name the field too.
    bad = rules(benefit={"kind": "percent_off", "basis_points": 20000})
    resp = await client.patch(f"{API}/{pid}", json={"rules": bad, "new_version": True})
    assert resp.status_code == 422 and "rules.benefit.basis_points" in fields(resp)
    # With new_version the edit goes live as version 2; version 1 stays as it was.
    resp = await client.patch(
        f"{API}/{pid}",
        json={"rules": rules(name="改名"), "new_version": True, "expected_version": 1},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["version_number"] == 2 and resp.json()["status"] == "active"
    versions = (await client.get(f"{API}/{pid}/versions")).json()
    assert [(v["number"], v["rules"]["name"]) for v in versions] == [
        (2, "改名"),
        (1, "测试餐饮八八折"),
    ]
    one = await client.get(f"{API}/{pid}/versions/1")
    assert one.status_code == 200 and one.json()["rules"]["name"] == "测试餐饮八八折"
    assert (await client.get(f"{API}/{pid}/versions/9")).status_code == 404
    # A stale editor loses cleanly.
    resp = await client.patch(
        f"{API}/{pid}", json={"rules": rules(), "new_version": True, "expected_version": 1}
    )
    assert resp.status_code == 409 and resp.json()["code"] == "version_conflict"

    # Pause / resume / end, then publishing or editing the ended programme is refused.
    assert (await client.post(f"{API}/{pid}/pause")).json()["status"] == "paused"
    assert (await client.post(f"{API}/{pid}/pause")).status_code == 409
    assert (await client.post(f"{API}/{pid}/resume")).json()["status"] == "active"
    assert (await client.post(f"{API}/{pid}/end")).json()["status"] == "ended"
    resp = await client.post(f"{API}/{pid}/publish")
    assert resp.status_code == 409
    assert resp.json()["code"] == "invalid_transition" and fields(resp) == ["status"]
    resp = await client.patch(f"{API}/{pid}", json={"rules": rules(), "new_version": True})
    assert resp.status_code == 409 and fields(resp) == ["status"]

    # Every mutation is audited, with the staff member and the programme's org.
    async with make_sessionmaker(engine)() as s:
        entries = (
            await s.scalars(
                select(AuditEntry).where(AuditEntry.target_id == pid).order_by(AuditEntry.at)
            )
        ).all()
    assert [e.action for e in entries] == [
        "program.create",
        "program.update",
        "program.publish",
        "program.update",
        "program.pause",
        "program.resume",
        "program.end",
    ]
    assert {e.actor_name for e in entries} == {"yc.benefits"}
    assert {e.org_path for e in entries} == {city.path}


async def test_code_must_be_unique(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.benefits")
    city = (await orgs(engine))["HB-YC"]
    resp = await create(client, city.id, "YC-CINEMA")
    assert resp.status_code == 422 and fields(resp) == ["code"]


async def test_list_filters_and_pages(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    await login(client, "yc.benefits")
    o = await orgs(engine)
    assert (
        await create(client, o["HB-YC-XL"].id, "XL-DRAFT", name="西陵区测试")
    ).status_code == 201

    page = (await client.get(API + "/")).json()
    assert page["total"] == 6
    assert {p["code"] for p in page["items"]} >= {p["code"] for p in demo["programs"]}
    active = (await client.get(API + "/", params={"status": "active"})).json()
    assert active["total"] == 5 and {p["status"] for p in active["items"]} == {"active"}
    drafts = (await client.get(API + "/", params={"status": ["draft", "paused"]})).json()
    assert [p["code"] for p in drafts["items"]] == ["XL-DRAFT"]
    assert drafts["items"][0]["status_label"] == "草稿"
    under = (await client.get(API + "/", params={"owner_org_id": str(o["HB-YC-XL"].id)})).json()
    assert [p["code"] for p in under["items"]] == ["XL-DRAFT"]
    found = (await client.get(API + "/", params={"q": "观影"})).json()
    assert [p["code"] for p in found["items"]] == ["YC-CINEMA"]
    first = (await client.get(API + "/", params={"limit": 4})).json()
    rest = (await client.get(API + "/", params={"limit": 4, "offset": 4})).json()
    assert len(first["items"]) == 4 and len(rest["items"]) == 2
    assert {p["id"] for p in first["items"]}.isdisjoint({p["id"] for p in rest["items"]})
    assert (await client.get(API + "/", params={"limit": 0})).status_code == 400


async def test_detail_shows_usage_per_policy_and_budget(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    pid = program_id(demo, "YC-CINEMA")
    member = await _member(engine, lambda m: True)
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=member,
            merchant=MerchantContext(merchant_id=uuid.uuid4(), category="cinema"),
            program_ids=uuid.UUID(pid),
            amount_fen=8000,
            units=2,
            idempotency_key="t-usage-1",
        )
    await login(client, "yc.benefits")
    resp = await client.get(f"{API}/{pid}")
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["code"] == "YC-CINEMA" and out["status"] == "active" and out["version_number"] == 1
    usage = out["usage"]
    policies = {p["policy"]: p for p in usage["policies"]}
    assert policies["monthly_tickets"]["used_max"] == 2
    assert policies["monthly_tickets"]["limit"] == 2
    assert policies["budget"]["used_total"] == 4000
    assert usage["budget_limit_fen"] == 20_000_000 and usage["budget_spent_fen"] == 4000
    assert usage["redemptions"] == 1 and usage["subsidy_fen"] == 4000 and usage["units"] == 2


# ---------------------------------------------------------------- scope


async def test_scope_district_and_other_city(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    o = await orgs(engine)
    await add_staff(engine, "xl.benefits", Role.benefits_manager, "HB-YC-XL")
    await add_city(engine)
    cinema = program_id(demo, "YC-CINEMA")

    # A district benefits manager cannot see or touch the city's programme.
    await login(client, "xl.benefits")
    assert (await client.get(f"{API}/{cinema}")).status_code == 404
    assert (await client.get(f"{API}/{cinema}/versions")).status_code == 404
    for action in ("pause", "end", "publish"):
        assert (await client.post(f"{API}/{cinema}/{action}")).status_code == 404
    resp = await client.patch(f"{API}/{cinema}", json={"rules": rules(), "new_version": True})
    assert resp.status_code == 404
    resp = await create(client, o["HB-YC"].id, "XL-TRY")
    assert resp.status_code == 404 and fields(resp) == ["owner_org_id"]
    # … but runs its own district's programmes.
    mine = await create(client, o["HB-YC-XL"].id, "XL-OWN")
    assert mine.status_code == 201, mine.text
    assert (await client.post(f"{API}/{mine.json()['id']}/publish")).status_code == 200
    assert [p["code"] for p in (await client.get(API + "/")).json()["items"]] == ["XL-OWN"]

    # Another city's manager: not found, and not listed.
    await login(client, "xy.benefits")
    assert (await client.get(f"{API}/{cinema}")).status_code == 404
    assert (await client.post(f"{API}/{cinema}/pause")).status_code == 404
    assert (await client.get(API + "/")).json()["total"] == 0

    # The city manager sees the district's programme (its subtree); the auditor reads only.
    await login(client, "yc.benefits")
    assert (await client.get(f"{API}/{mine.json()['id']}")).status_code == 200
    await login(client, "hb.auditor")
    assert (await client.get(f"{API}/{cinema}")).status_code == 200
    assert (await client.get(API + "/")).json()["total"] == 6
    resp = await client.post(f"{API}/{cinema}/pause")
    assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
    assert (await create(client, o["HB-YC"].id, "AUD-TRY")).status_code == 403
    assert (await client.post(API + "/validate", json={"rules": rules()})).status_code == 403
    # A union admin holds no benefits role at all.
    await login(client, "xl.admin")
    assert (await client.get(f"{API}/{cinema}")).status_code == 404
    assert (await client.get(API + "/")).json()["total"] == 0


async def test_staff_api_needs_a_signed_in_staff_member(
    client: Client, demo: dict[str, Any]
) -> None:
    assert (await client.get(API + "/")).status_code == 401
    pid = program_id(demo, "YC-CINEMA")
    assert (await client.get(f"{API}/{pid}")).status_code == 401


# ---------------------------------------------------------------- simulate


async def _member(engine: AsyncEngine, pred: Any) -> Any:
    """MemberFacts of the first active demo member (by member number) matching ``pred``."""
    from benefits.rules.facts import MemberFacts

    async with make_sessionmaker(engine)() as s:
        rows = (
            await s.scalars(
                select(Member)
                .where(Member.status == MemberStatus.active)
                .order_by(Member.member_no)
            )
        ).all()
    m = next(m for m in rows if pred(m))
    return MemberFacts(
        id=m.id,
        status=str(m.status),
        org_path=m.org_path,
        categories=frozenset(m.categories),
        hardship_level=m.hardship_level,
        joined_on=m.joined_on,
        birth_date=m.birth_date,
        region=m.region_code,
    )


async def _member_no(engine: AsyncEngine, member_id: uuid.UUID) -> str:
    async with make_sessionmaker(engine)() as s:
        no = await s.scalar(select(Member.member_no).where(Member.id == member_id))
    assert no is not None
    return no


async def test_simulate_shows_eligible_and_why_not(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    outdoor = await _member(engine, lambda m: OUTDOOR & set(m.categories))
    office = await _member(engine, lambda m: not (OUTDOOR & set(m.categories)))
    await login(client, "yc.benefits")
    rest_station = {"category": "rest_station", "region": "420502"}

    resp = await client.post(
        API + "/simulate",
        json={
            "member_no": await _member_no(engine, outdoor.id),
            "merchant": rest_station,
            "amount_fen": 0,
        },
    )
    assert resp.status_code == 200, resp.text
    [sim] = resp.json()["members"]
    assert sim["member_id"] == str(outdoor.id)
    [rest] = [a for a in sim["applicable"] if a["code"] == "YC-REST"]
    assert rest["units"] == 1
    assert [(x["policy"], x["remaining"], x["take"]) for x in rest["limits"]] == [
        ("daily_visit", 1, 1)
    ]
    # The cinema programme does not apply at a rest station: out of scope, with the reason.
    cinema = next(r for r in sim["not_applicable"] if r["code"] == "YC-CINEMA")
    assert cinema["error_code"] == "not_in_scope"
    assert cinema["reasons"][0]["code"] == "merchant_category_not_listed"

    resp = await client.post(
        API + "/simulate",
        json={"member_id": str(office.id), "merchant": rest_station, "amount_fen": 0},
    )
    [sim] = resp.json()["members"]
    assert "YC-REST" not in [a["code"] for a in sim["applicable"]]
    rest = next(r for r in sim["not_applicable"] if r["code"] == "YC-REST")
    assert rest["error_code"] == "not_eligible"
    assert rest["reasons"][0]["code"] == "category_missing"  # staff see why; merchants never

    # A sample of a district's members, with a per-programme tally of the reasons.
    xl = (await orgs(engine))["HB-YC-XL"]
    resp = await client.post(
        API + "/simulate",
        json={"org_id": str(xl.id), "sample": 40, "merchant": rest_station, "amount_fen": 0},
    )
    out = resp.json()
    assert 0 < len(out["members"]) <= 40
    summary = {p["code"]: p for p in out["programs"]}
    rest_sum = summary["YC-REST"]
    assert rest_sum["applicable"] + rest_sum["not_applicable"] == len(out["members"])
    assert rest_sum["applicable"] == sum(
        any(a["code"] == "YC-REST" for a in m["applicable"]) for m in out["members"]
    )
    assert rest_sum["reasons"].get("category_missing", 0) > 0

    # A draft can be simulated before it is published (drafts count as if active).
    draft = await create(
        client,
        (await orgs(engine))["HB-YC"].id,
        "T-DRAFT-SIM",
        scope={"merchant_categories": ["rest_station"]},
    )
    resp = await client.post(
        API + "/simulate",
        json={
            "member_id": str(office.id),
            "merchant": rest_station,
            "amount_fen": 1000,
            "program_ids": [draft.json()["id"]],
        },
    )
    [sim] = resp.json()["members"]
    assert [(a["code"], a["status"], a["discount_fen"]) for a in sim["applicable"]] == [
        ("T-DRAFT-SIM", "draft", 100)
    ]


async def test_simulate_bad_input_and_scope(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    member = await _member(engine, lambda m: True)
    await login(client, "yc.benefits")
    resp = await client.post(API + "/simulate", json={"amount_fen": 100})
    assert resp.status_code == 422 and fields(resp) == ["member_id"]
    resp = await client.post(
        API + "/simulate",
        json={"amount_fen": 100, "member_id": str(member.id), "member_no": "1"},
    )
    assert resp.status_code == 422 and fields(resp) == ["member_no"]
    resp = await client.post(API + "/simulate", json={"amount_fen": 100, "member_no": "nope"})
    assert resp.status_code == 404 and fields(resp) == ["member_no"]
    resp = await client.post(
        API + "/simulate",
        json={"amount_fen": 100, "member_id": str(member.id), "program_ids": [str(uuid.uuid4())]},
    )
    assert resp.status_code == 404
    # Another city's manager cannot look at this city's members.
    await add_city(engine)
    await login(client, "xy.benefits")
    resp = await client.post(
        API + "/simulate", json={"amount_fen": 100, "member_id": str(member.id)}
    )
    assert resp.status_code == 404 and resp.json()["code"] == "member_not_found"


# ---------------------------------------------------------------- member view


async def test_me_benefits_lists_demo_programmes_with_what_is_left(
    settings: Settings, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    sample = demo["members"][0]
    async with make_sessionmaker(engine)() as s:
        m = await s.scalar(select(Member).where(Member.member_no == sample["member_no"]))
    assert m is not None
    me = await _member(engine, lambda x: x.id == m.id)

    async with member_client(settings, sample["phone"]) as c:
        resp = await c.get("/api/v1/me/benefits")
        assert resp.status_code == 200, resp.text
        assert "no-store" in resp.headers.get("cache-control", "")
        items = {i["code"]: i for i in resp.json()["items"]}
        expected = {"YC-CINEMA", "YC-HEALTH", "YC-DINING"}
        if OUTDOOR & set(m.categories):
            expected.add("YC-REST")
        if "hardship" in m.categories and m.hardship_level in (2, 3):
            expected.add("YC-HARDSHIP")
        assert set(items) == expected
        cinema = items["YC-CINEMA"]
        assert cinema["usable_now"] is True
        assert cinema["benefit"] == {"kind": "subsidy", "per_unit_fen": 2000}
        assert cinema["scope"]["merchant_categories"] == ["cinema"]
        # Only the member's own limits: no programme budget figures.
        assert [(x["policy"], x["limit"], x["used"], x["remaining"]) for x in cinema["limits"]] == [
            ("monthly_tickets", 2, 0, 2)
        ]
        assert items["YC-DINING"]["limits"] == []
        assert "eligibility" not in cinema

        async with engine.connect() as conn:
            await redeem(
                conn,
                member=me,
                merchant=MerchantContext(merchant_id=uuid.uuid4(), category="cinema"),
                program_ids=uuid.UUID(cinema["program_id"]),
                amount_fen=4500,
                idempotency_key="t-me-1",
                at=datetime.now(UTC),
            )
        items = {i["code"]: i for i in (await c.get("/api/v1/me/benefits")).json()["items"]}
        [limit] = items["YC-CINEMA"]["limits"]
        assert (limit["used"], limit["remaining"]) == (1, 1)
        assert items["YC-CINEMA"]["usable_now"] is True


async def test_me_benefits_needs_a_member(client: Client, demo: dict[str, Any]) -> None:
    assert (await client.get("/api/v1/me/benefits")).status_code == 401


async def test_openapi_lists_the_benefits_routes(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "/api/v1/programs/{program_id}/publish" in paths
    assert "/api/v1/me/benefits" in paths
    params = {p["name"] for p in paths["/api/v1/programs"]["get"].get("parameters", [])}
    assert {"status", "owner_org_id", "q", "limit", "offset"} <= params
    assert not params & {"staff", "benefits_directory", "db_session"}
