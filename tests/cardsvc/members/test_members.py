"""Members over HTTP: validation, encryption at rest, masking, unmasking, role × subtree.

Runs on SQLite and PostgreSQL (``engine``) against the seeded demo federation.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.cn import ric

from cardsvc.demo.people import generate_people
from cardsvc.demo.seed import DEMO_MEMBERS
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from tests.support.staff import login

MEMBERS = "/api/v1/members"
PHONE = "13812345678"
PHONE_E164 = "+86" + PHONE


def id_number(body17: str = "42050219900101123") -> str:
    """A resident ID number with a correct check character."""
    return body17 + ric.calc_check_digit(body17 + "0")


ID_NUMBER = id_number()  # 420502 19900101 123 → male, born 1990-01-01


def wrong_check(number: str) -> str:
    right = number[-1]
    return number[:-1] + ("0" if right != "0" else "1")


@pytest.fixture
async def org_ids(engine: AsyncEngine, demo: dict[str, Any]) -> dict[str, str]:
    async with make_sessionmaker(engine)() as s:
        rows = (await s.execute(select(Org.code, Org.id))).all()
    return {code: str(oid) for code, oid in rows}


@pytest.fixture
async def xl_member(engine: AsyncEngine, org_ids: dict[str, str]) -> str:
    """Id of an active demo member of XL-JIDIAN (西陵 subtree)."""
    async with make_sessionmaker(engine)() as s:
        mid = await s.scalar(
            select(Member.id)
            .where(Member.org_id == uuid.UUID(org_ids["XL-JIDIAN"]), Member.status == "active")
            .order_by(Member.member_no)
            .limit(1)
        )
    assert mid is not None
    return str(mid)


def assert_problem(resp: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    if field is not None:
        assert body["errors"][0]["field"] == field, body
        assert body["errors"][0]["reason"] and body["errors"][0]["reason_en"]
    return body


def new_member(org_id: str, **kw: Any) -> dict[str, Any]:
    return {"name": "张三明", "id_number": ID_NUMBER, "phone": PHONE, "org_id": org_id, **kw}


async def member_count(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as s:
        return int(await s.scalar(select(func.count()).select_from(Member)) or 0)


async def audit_rows(engine: AsyncEngine, action: str, target_id: str) -> list[AuditEntry]:
    async with make_sessionmaker(engine)() as s:
        rows = await s.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.target_id == target_id)
        )
        return list(rows)


# ----------------------------------------------------------------- create and validation


async def test_create_member_masks_identity(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    resp = await client.post(
        MEMBERS,
        json=new_member(org_ids["XL-JIDIAN"], categories=["model_worker"]),
    )
    assert resp.status_code == 201, resp.text
    m = resp.json()
    assert m["id_number_masked"] == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert m["phone_masked"] == "138****5678"
    assert m["birth_date"] == "1990-01-01" and m["gender"] == "M"
    assert m["status"] == "active" and m["joined_on"]
    assert m["categories"] == ["model_worker"] and m["hardship_level"] is None
    no = m["member_no"]
    assert len(no) == 11 and no.isdigit()
    # Neither the plain ID number nor the phone appear anywhere in the response.
    assert ID_NUMBER not in resp.text and PHONE not in resp.text

    detail = await client.get(f"{MEMBERS}/{m['id']}")
    assert detail.status_code == 200
    assert detail.json()["member_no"] == no
    assert ID_NUMBER not in detail.text and PHONE not in detail.text


async def test_member_numbers_are_unique_and_checked(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    from stdnum import luhn

    await login(client, "xl.admin")
    numbers = set()
    for body in ("42050219900101123", "42050219850615456"):
        resp = await client.post(
            MEMBERS,
            json=new_member(org_ids["XL-JIDIAN"], id_number=id_number(body), phone=None),
        )
        assert resp.status_code == 201, resp.text
        numbers.add(resp.json()["member_no"])
    assert len(numbers) == 2
    assert all(luhn.is_valid(n) for n in numbers)


@pytest.mark.parametrize(
    ("payload", "field", "reason_zh"),
    [
        ({"id_number": wrong_check(ID_NUMBER)}, "id_number", "校验"),
        # 30 February 1990, with a correct check character.
        ({"id_number": id_number("42050219900230123")}, "id_number", "出生日期"),
        ({"id_number": id_number("42050220990101123")}, "id_number", "出生日期"),
        ({"id_number": "42050219900101"}, "id_number", "18"),
        ({"phone": "12345"}, "phone", ""),
        ({"phone": "010-62345678"}, "phone", "固定电话"),
        ({"phone": "+1 650 253 0000"}, "phone", "+86"),
        ({"phone": "138abcd5678"}, "phone", ""),
        ({"name": "张3"}, "name", "数字"),
        ({"categories": ["vip"]}, "categories", ""),
        ({"employment_type": "astronaut"}, "employment_type", ""),
        ({"status": "suspended"}, "status", ""),
    ],
)
async def test_invalid_member_is_rejected_naming_the_field(
    client: AsyncTestClient,
    engine: AsyncEngine,
    org_ids: dict[str, str],
    payload: dict[str, Any],
    field: str,
    reason_zh: str,
) -> None:
    await login(client, "xl.admin")
    before = await member_count(engine)
    resp = await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"], **payload))
    body = assert_problem(resp, 422, "validation_error", field=field)
    assert reason_zh in body["errors"][0]["reason"]
    assert field in body["message_en"]
    assert await member_count(engine) == before


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": "张三明"},
        {"name": "张三明", "id_number": ID_NUMBER, "org_id": "not-a-uuid"},
        {"name": 12, "id_number": ID_NUMBER, "org_id": str(uuid.uuid4())},
        {"name": "张三明", "id_number": ID_NUMBER, "org_id": str(uuid.uuid4()), "categories": "x"},
        {"name": "张三明", "id_number": "x" * 40, "org_id": str(uuid.uuid4())},
        {"name": "张三明", "id_number": ID_NUMBER, "org_id": str(uuid.uuid4()), "status": "gone"},
        {"name": "张三明", "id_number": "４２０５０２１９９００１０１１２３８", "phone": "1" * 33},
    ],
)
async def test_malformed_member_body_is_4xx_never_500(
    client: AsyncTestClient, demo: Any, payload: dict[str, Any]
) -> None:
    await login(client, "xl.admin")
    resp = await client.post(MEMBERS, json=payload)
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"]


async def test_member_in_unknown_org_or_non_grassroots(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    resp = await client.post(MEMBERS, json=new_member(str(uuid.uuid4())))
    assert_problem(resp, 404, "org_not_found")
    resp = await client.post(MEMBERS, json=new_member(org_ids["HB-YC-XL"]))
    assert_problem(resp, 422, "validation_error", field="org_id")


async def test_duplicate_id_number_is_a_conflict(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "admin")
    first = await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"]))
    assert first.status_code == 201, first.text
    before = await member_count(engine)
    # Same person typed differently (lower-case x does not apply here; spaces and full-width
    # digits do), in another district: still one member per ID number.
    typed = " ".join([ID_NUMBER[:6], ID_NUMBER[6:14], ID_NUMBER[14:]])
    for number in (ID_NUMBER, typed):
        resp = await client.post(
            MEMBERS,
            json=new_member(org_ids["WJG-SCHOOL"], id_number=number, phone="13912345678"),
        )
        assert_problem(resp, 409, "duplicate_id_number", field="id_number")
    assert await member_count(engine) == before


# ----------------------------------------------------------------- encryption at rest


async def test_raw_row_never_holds_plain_id_number_or_phone(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    created = (await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"]))).json()
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text("SELECT * FROM member WHERE member_no = :no"), {"no": created["member_no"]}
                )
            )
            .mappings()
            .one()
        )
    raw = " ".join(str(v) for v in row.values())
    for plain in (ID_NUMBER, ID_NUMBER[6:14] + ID_NUMBER[14:], PHONE, PHONE_E164):
        assert plain not in raw
    assert row["id_number_enc"].startswith("t1.") and row["phone_enc"].startswith("t1.")
    assert row["data_key_id"] == "t1"
    # Keyed hash: not a plain digest an attacker could precompute over all ID numbers.
    assert row["id_number_hash"] != hashlib.sha256(ID_NUMBER.encode()).hexdigest()
    assert len(row["id_number_hash"]) == 64 and len(row["phone_hash"]) == 64
    assert row["id_number_hash"] != row["phone_hash"]


async def test_no_demo_member_is_stored_in_clear(engine: AsyncEngine, demo: Any) -> None:
    people = generate_people(DEMO_MEMBERS, seed=2026)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM member"))).mappings().all()
        audit = (await conn.execute(text("SELECT * FROM audit_entry"))).mappings().all()
    assert len(rows) == DEMO_MEMBERS
    dump = "\n".join(" ".join(str(v) for v in r.values()) for r in [*rows, *audit])
    leaked = [p.id_number for p in people if p.id_number in dump]
    leaked += [p.phone for p in people if p.phone in dump or p.phone[3:] in dump]
    assert leaked == []


async def test_exact_lookup_by_id_number_and_phone(
    client: AsyncTestClient, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    created = (await client.post(MEMBERS, json=new_member(org_ids["XL-COMMERCE"]))).json()

    async def ids(**params: str) -> list[str]:
        resp = await client.get(MEMBERS, params=params)
        assert resp.status_code == 200, resp.text
        return [m["id"] for m in resp.json()["items"]]

    async def found(**body: str) -> list[str]:
        resp = await client.post(f"{MEMBERS}/lookup", json=body)
        assert resp.status_code == 200, resp.text
        return [m["id"] for m in resp.json()["items"]]

    for number in (ID_NUMBER, f"{ID_NUMBER[:6]} {ID_NUMBER[6:]}"):
        assert await found(id_number=number) == [created["id"]]
    for phone in (PHONE, PHONE_E164, "138 1234 5678", "+86-138-1234-5678"):
        assert await found(phone=phone) == [created["id"]]
    assert await found(id_number=id_number("42050219850615456")) == []
    assert await found(id_number=wrong_check(ID_NUMBER)) == []
    assert await found(phone="13812345679") == []
    assert await ids(member_no=created["member_no"]) == [created["id"]]
    assert created["id"] in await ids(name="张三")


async def test_search_by_category_status_and_paging(client: AsyncTestClient, demo: Any) -> None:
    await login(client, "admin")
    everyone = (await client.get(MEMBERS, params={"limit": 1})).json()
    assert everyone["total"] == DEMO_MEMBERS
    seen: set[str] = set()
    for offset in range(0, DEMO_MEMBERS, 100):
        page = (await client.get(MEMBERS, params={"limit": 100, "offset": offset})).json()
        seen |= {m["id"] for m in page["items"]}
    assert len(seen) == DEMO_MEMBERS
    hardship = (await client.get(MEMBERS, params={"category": "hardship", "limit": 200})).json()
    assert hardship["total"] > 0
    assert all("hardship" in m["categories"] for m in hardship["items"])
    pending = (await client.get(MEMBERS, params={"status": "pending", "limit": 200})).json()
    assert pending["total"] > 0 and all(m["status"] == "pending" for m in pending["items"])


async def test_list_responses_are_masked(client: AsyncTestClient, demo: Any) -> None:
    plain = {p.id_number for p in generate_people(DEMO_MEMBERS, seed=2026)}
    await login(client, "admin")
    resp = await client.get(MEMBERS, params={"limit": 200})
    items = resp.json()["items"]
    assert len(items) == 200
    for m in items:
        assert m["id_number_masked"].count("*") == 11
        assert m["phone_masked"] is None or m["phone_masked"].count("*") == 4
    assert not any(number in resp.text for number in plain)


# ----------------------------------------------------------------- unmask


async def test_union_admin_unmasks_and_it_is_audited(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    created = (await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"]))).json()
    resp = await client.post(f"{MEMBERS}/{created['id']}/identity")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"id_number": ID_NUMBER, "phone": PHONE_E164}
    rows = await audit_rows(engine, "member.unmask", created["id"])
    assert len(rows) == 1
    assert rows[0].actor_name == "xl.admin"
    # The grassroots admin may unmask its own union's members too.
    await login(client, "xl.jidian")
    assert (await client.post(f"{MEMBERS}/{created['id']}/identity")).status_code == 200
    assert len(await audit_rows(engine, "member.unmask", created["id"])) == 2


@pytest.mark.parametrize("username", ["hb.auditor", "yc.benefits"])
async def test_read_only_roles_cannot_unmask(
    client: AsyncTestClient, engine: AsyncEngine, xl_member: str, username: str
) -> None:
    await login(client, username)
    # They may read the masked member …
    assert (await client.get(f"{MEMBERS}/{xl_member}")).status_code == 200
    # … but not the identity.
    resp = await client.post(f"{MEMBERS}/{xl_member}/identity")
    assert_problem(resp, 403, "unmask_forbidden")
    assert await audit_rows(engine, "member.unmask", xl_member) == []


async def test_unmask_outside_subtree_is_not_found(
    client: AsyncTestClient, engine: AsyncEngine, xl_member: str
) -> None:
    await login(client, "wjg.admin")
    assert_problem(await client.post(f"{MEMBERS}/{xl_member}/identity"), 404, "member_not_found")
    assert await audit_rows(engine, "member.unmask", xl_member) == []


# ----------------------------------------------------------------- role × subtree


async def test_other_district_member_is_not_found(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str], xl_member: str
) -> None:
    await login(client, "wjg.admin")
    assert_problem(await client.get(f"{MEMBERS}/{xl_member}"), 404, "member_not_found")
    resp = await client.patch(f"{MEMBERS}/{xl_member}", json={"name": "李四"})
    assert_problem(resp, 404, "member_not_found")
    resp = await client.post(
        f"{MEMBERS}/{xl_member}/status", json={"status": "suspended", "reason": "欠缴会费"}
    )
    assert_problem(resp, 404, "member_not_found")
    resp = await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"]))
    assert_problem(resp, 404, "org_not_found")
    resp = await client.get(MEMBERS, params={"org_id": org_ids["HB-YC-XL"]})
    assert_problem(resp, 404, "org_not_found")
    async with make_sessionmaker(engine)() as s:
        m = await s.get(Member, uuid.UUID(xl_member))
        assert m is not None and m.name != "李四" and m.status == "active"


async def test_lists_return_only_own_subtree(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str], xl_member: str
) -> None:
    wjg_unions = {org_ids[c] for c in org_ids if c.startswith("WJG-")}
    async with make_sessionmaker(engine)() as s:
        n_wjg = await s.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.org_id.in_([uuid.UUID(i) for i in wjg_unions]))
        )
        xl_no = await s.scalar(select(Member.member_no).where(Member.id == uuid.UUID(xl_member)))
    await login(client, "wjg.admin")
    page = (await client.get(MEMBERS, params={"limit": 200})).json()
    assert page["total"] == n_wjg > 0
    assert {m["org_id"] for m in page["items"]} <= wjg_unions
    # An exact lookup of the other district's member finds nothing rather than leaking it.
    assert (await client.get(MEMBERS, params={"member_no": xl_no})).json()["total"] == 0

    await login(client, "xl.jidian")
    page = (await client.get(MEMBERS, params={"limit": 200})).json()
    assert page["total"] > 0
    assert {m["org_id"] for m in page["items"]} == {org_ids["XL-JIDIAN"]}


async def test_merchant_manager_cannot_read_a_member(
    client: AsyncTestClient, xl_member: str
) -> None:
    await login(client, "yc.merchants")
    assert_problem(await client.get(f"{MEMBERS}/{xl_member}"), 404, "member_not_found")
    assert_problem(await client.post(f"{MEMBERS}/{xl_member}/identity"), 404, "member_not_found")


async def test_merchant_manager_list_shows_no_member(client: AsyncTestClient, demo: Any) -> None:
    """Whatever the status, the list must not expose a single member to a merchant manager."""
    await login(client, "yc.merchants")
    resp = await client.get(MEMBERS)
    assert resp.status_code in (200, 403)
    if resp.status_code == 200:
        assert resp.json()["total"] == 0 and resp.json()["items"] == []


async def test_merchant_manager_member_list_is_forbidden(
    client: AsyncTestClient, demo: Any
) -> None:
    await login(client, "yc.merchants")
    assert_problem(await client.get(MEMBERS), 403, "forbidden")


@pytest.mark.parametrize("username", ["hb.auditor", "yc.benefits", "yc.merchants"])
async def test_read_only_roles_cannot_change_members(
    client: AsyncTestClient,
    engine: AsyncEngine,
    org_ids: dict[str, str],
    xl_member: str,
    username: str,
) -> None:
    await login(client, username)
    before = await member_count(engine)
    resp = await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"]))
    assert resp.status_code in (403, 404), resp.text
    resp = await client.patch(f"{MEMBERS}/{xl_member}", json={"name": "李四"})
    assert resp.status_code in (403, 404), resp.text
    assert await member_count(engine) == before


# ----------------------------------------------------------------- update and status


async def test_update_phone_rehashes_and_bad_patch_writes_nothing(
    client: AsyncTestClient, engine: AsyncEngine, org_ids: dict[str, str]
) -> None:
    await login(client, "xl.admin")
    m = (await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"]))).json()
    resp = await client.patch(f"{MEMBERS}/{m['id']}", json={"phone": "139 8765 4321"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["phone_masked"] == "139****4321"
    found = await client.post(f"{MEMBERS}/lookup", json={"phone": "13987654321"})
    assert found.json()["total"] == 1
    assert (await client.post(f"{MEMBERS}/lookup", json={"phone": PHONE})).json()["total"] == 0

    # A valid name with an invalid phone: rejected as a whole, the name is not changed.
    resp = await client.patch(f"{MEMBERS}/{m['id']}", json={"name": "李四", "phone": "12345"})
    assert_problem(resp, 422, "validation_error", field="phone")
    assert (await client.get(f"{MEMBERS}/{m['id']}")).json()["name"] == "张三明"
    resp = await client.patch(f"{MEMBERS}/{m['id']}", json={})
    assert_problem(resp, 422, "validation_error", field="body")
    async with make_sessionmaker(engine)() as s:
        updates = await s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "member.update", AuditEntry.target_id == m["id"])
        )
    assert updates == 1


async def test_status_changes(client: AsyncTestClient, org_ids: dict[str, str]) -> None:
    await login(client, "xl.admin")
    m = (await client.post(MEMBERS, json=new_member(org_ids["XL-JIDIAN"], status="pending"))).json()
    assert m["status"] == "pending" and m["joined_on"] is None
    url = f"{MEMBERS}/{m['id']}/status"

    resp = await client.post(url, json={"status": "active"})
    assert resp.status_code == 200 and resp.json()["joined_on"]
    assert_problem(
        await client.post(url, json={"status": "suspended"}),
        422,
        "validation_error",
        field="reason",
    )
    resp = await client.post(url, json={"status": "suspended", "reason": "欠缴会费"})
    assert resp.status_code == 200 and resp.json()["status_reason"] == "欠缴会费"
    resp = await client.post(url, json={"status": "left", "reason": "调离本单位"})
    assert resp.status_code == 200 and resp.json()["status"] == "left"
    assert_problem(await client.post(url, json={"status": "active"}), 409, "invalid_status_change")
    resp = await client.post(url, json={"status": "deleted"})
    assert 400 <= resp.status_code < 500 and resp.json()["errors"][0]["field"] == "status"
