"""A small, hand-counted dataset for the report and export tests, on the demo federation.

A district ``TST`` (测试区总工会) under 宜昌市总工会 holds three grassroots unions and nothing
else, so every figure of a report on it can be counted by hand from this file. Staff with a
role on ``TST`` only: ``tst.admin`` (union_admin), ``tst.auditor`` (auditor),
``tst.merchants`` (merchant_manager). The demo's ``wjg.admin`` has no role on it.

Range used by the tests: 2026-01-01 … 2026-03-31, Asia/Shanghai (UTC+8).

Members (joined_on):
  m1 U1 active  model_worker              employee        2026-01-15
  m2 U1 active  hardship(2)+migrant       migrant_worker  2026-01-31
  m3 U2 active  —                         flexible_worker 2026-03-01
  m4 U2 left    retired                   retired         2025-12-31  (before the range)
  m5 U3 active  —  named "=cmd"           (none)          2026-02-10
  m6 U3 pending —                         employee        —

Join applications (UTC):
  a1 U1 approved  sub 01-10 00:00  dec 01-12 00:00   2.0 d   (Jan)
  a2 U1 approved  sub 01-20 00:00  dec 01-21 12:00   1.5 d   (Jan)
  a3 U2 approved  sub 02-01 00:00  dec 02-11 00:00  10.0 d   (Feb)
  a4 U2 approved  sub 01-31 17:00  dec 02-28 19:00  28.0833 d: local Feb 1 01:00 → Mar 1 03:00
  a5 U3 rejected  sub 03-05        dec 03-06                  (Mar)
  a6 U3 pending   sub 03-20
  a7 U1 approved  sub 2025-12-01   dec 2025-12-03             (before the range)

Redemptions (P1: 500 fen off, owned by TST, lifetime budget 10 000 fen; P2: 10 % off, owned
by the province, no budget; merchant A is a demo merchant, B an unknown id):
  r1 m1 P1 A 3000 fen at 01-05 02:00Z (local 01-05)         discount 500
  r2 m2 P1 A 2000 fen at 01-05 17:00Z (local 01-06 01:00)   discount 500
  r3 m3 P1 B 1000 fen at 02-01 03:00Z  — reversed            discount 500
  r4 m3 P2 B 4000 fen at 02-02 03:00Z                        discount 400
  r5 m1 P1 A 1000 fen at 04-02 03:00Z (after the range)      discount 500
  r6 a member outside TST, P2, A, 5000 fen in range           discount 500
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.cn import ric

from benefits.public import create_program, publish_program, redeem, reverse
from benefits.rules.facts import MemberFacts, MerchantContext
from cardsvc.demo.seed import DEMO_PASSWORD
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.service import MemberInput, create_member
from cardsvc.membership.models import JoinApplication, RequestStatus
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.servicereq.hardship import service as hs
from cardsvc.servicereq.hardship.models import HardshipCategory
from cardsvc.staff.service import create_staff
from merchants.models import Merchant
from tests.cardsvc.conftest import app, client, settings  # noqa: F401  (fixtures)

FROM, TO = "2026-01-01", "2026-03-31"
U3_NAME = "=HYPERLINK(1)工会"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def id_number(n: int) -> str:
    body = f"420502199001{n:02d}{100 + n:03d}"
    return body + ric.calc_check_digit(body + "0")


@dataclass
class Dataset:
    district: Org
    unions: list[Org]
    members: dict[str, Member]
    id_numbers: dict[str, str]
    phones: dict[str, str]
    merchant_a: uuid.UUID
    merchant_a_name: str
    merchant_b: uuid.UUID
    programs: dict[str, uuid.UUID] = field(default_factory=dict)
    demo_orgs: dict[str, uuid.UUID] = field(default_factory=dict)  # demo org code → id


APPLICATIONS = [
    # key, union index, status, submitted, decided
    ("a1", 0, RequestStatus.approved, utc(2026, 1, 10), utc(2026, 1, 12)),
    ("a2", 0, RequestStatus.approved, utc(2026, 1, 20), utc(2026, 1, 21, 12)),
    ("a3", 1, RequestStatus.approved, utc(2026, 2, 1), utc(2026, 2, 11)),
    ("a4", 1, RequestStatus.approved, utc(2026, 1, 31, 17), utc(2026, 2, 28, 19)),
    ("a5", 2, RequestStatus.rejected, utc(2026, 3, 5), utc(2026, 3, 6)),
    ("a6", 2, RequestStatus.pending, utc(2026, 3, 20), None),
    ("a7", 0, RequestStatus.approved, utc(2025, 12, 1), utc(2025, 12, 3)),
]


async def _build(engine: AsyncEngine, config: Settings) -> Dataset:
    cipher = PiiCipher.from_settings(config)
    async with make_sessionmaker(engine)() as s, s.begin():
        city = await s.scalar(select(Org).where(Org.code == "HB-YC"))
        assert city is not None
        district = await create_org(
            s, SYSTEM, code="TST", name="测试区总工会", level=OrgLevel.district, parent_id=city.id
        )
        unions = [
            await create_org(
                s, SYSTEM, code=code, name=name, level=OrgLevel.grassroots, parent_id=district.id
            )
            for code, name in (("TST-U1", "甲工会"), ("TST-U2", "乙工会"), ("TST-U3", U3_NAME))
        ]
        for username, role in (
            ("tst.admin", Role.union_admin),
            ("tst.auditor", Role.auditor),
            ("tst.merchants", Role.merchant_manager),
        ):
            await create_staff(
                s,
                SYSTEM,
                username=username,
                display_name=username,
                password=DEMO_PASSWORD,
                grants=[(role, district.id)],
            )
        specs: list[
            tuple[str, int, MemberStatus, list[str], int | None, str | None, date | None]
        ] = [
            ("m1", 0, MemberStatus.active, ["model_worker"], None, "employee", date(2026, 1, 15)),
            (
                "m2",
                0,
                MemberStatus.active,
                ["hardship", "migrant_worker"],
                2,
                "migrant_worker",
                date(2026, 1, 31),
            ),
            ("m3", 1, MemberStatus.active, [], None, "flexible_worker", date(2026, 3, 1)),
            ("m4", 1, MemberStatus.active, ["retired"], None, "retired", date(2025, 12, 31)),
            ("m5", 2, MemberStatus.active, [], None, None, date(2026, 2, 10)),
            ("m6", 2, MemberStatus.pending, [], None, "employee", None),
        ]
        members: dict[str, Member] = {}
        ids: dict[str, str] = {}
        phones: dict[str, str] = {}
        for i, (key, u, status, cats, level, employment, joined) in enumerate(specs, start=1):
            ids[key], phones[key] = id_number(i), f"1385678560{i}"
            members[key] = await create_member(
                s,
                SYSTEM,
                cipher,
                MemberInput(
                    name=f"测试{'甲乙丙丁戊己'[i - 1]}",
                    id_number=ids[key],
                    phone=phones[key],
                    org_id=unions[u].id,
                    categories=[c for c in cats if c != "hardship"],
                    employment_type=employment,
                    status=status,
                    joined_on=joined,
                ),
            )
            if level is not None:  # hardship only as an approved record gives it
                rec = await hs.apply(
                    s,
                    SYSTEM,
                    members[key],
                    category=HardshipCategory.relative,
                    level=level,
                    circumstances="测试",
                    now=utc(2026, 1, 31),
                )
                today = datetime.now(UTC).date()
                await hs.approve(s, SYSTEM, rec, now=utc(2026, 1, 31), today=today, review_days=365)
        members["m4"].status = MemberStatus.left  # left later: still joined before the range
        members["m5"].name = "=cmd"  # a name no form accepts, as a stale import might hold
        for n, (_key, u, app_status, submitted, decided) in enumerate(APPLICATIONS, start=20):
            s.add(
                JoinApplication(
                    org_id=unions[u].id,
                    org_path=unions[u].path,
                    status=app_status,
                    source="self",
                    name="申请人",
                    id_number_enc="x",
                    id_number_hash=f"hash-{n}",
                    phone_enc="x",
                    phone_hash=f"phash-{n}",
                    data_key_id="t1",
                    birth_date=date(1990, 1, 1),
                    gender="M",
                    privacy_version="v1",
                    consented_at=submitted,
                    submitted_at=submitted,
                    decided_at=decided,
                    member_id=uuid.uuid4(),  # given at submission
                )
            )
        merchant = await s.scalar(select(Merchant).order_by(Merchant.display_name).limit(1))
        assert merchant is not None
        province = await s.scalar(select(Org).where(Org.code == "HB"))
        xl = await s.scalar(select(Org).where(Org.code == "HB-YC-XL"))
        assert province is not None and xl is not None
        data = Dataset(
            district, unions, members, ids, phones, merchant.id, merchant.display_name, uuid.uuid4()
        )
        data.demo_orgs = {o.code: o.id for o in await s.scalars(select(Org))}

    async with engine.connect() as conn:
        for code, owner, benefit, limits in (
            (
                "TST-P1",
                district,
                {"kind": "amount_off", "off_fen": 500},
                [
                    {
                        "key": "budget",
                        "metric": "amount",
                        "scope": "program",
                        "period": "lifetime",
                        "limit": 10_000,
                    }
                ],
            ),
            ("TST-P2", province, {"kind": "percent_off", "basis_points": 1000}, []),
        ):
            p = await create_program(
                conn,
                code=code,
                owner_org_id=owner.id,
                owner_org_path=owner.path,
                rules={
                    "name": f"测试项目{code[-1]}",
                    "benefit": benefit,
                    "scope": {"merchant_categories": ["dining"]},
                    "limits": limits,
                },
            )
            await publish_program(conn, program_id=p.id, at=utc(2025, 1, 1))
            data.programs[code] = p.id

        def facts(m: Member | None) -> MemberFacts:
            if m is None:  # a member elsewhere in the province
                return MemberFacts(id=uuid.uuid4(), status="active", org_path=xl.path)
            return MemberFacts(
                id=m.id,
                status="active",
                org_path=m.org_path,
                categories=frozenset(m.categories),
                joined_on=m.joined_on,
                birth_date=m.birth_date,
            )

        shop_a = MerchantContext(merchant_id=data.merchant_a, category="dining")
        shop_b = MerchantContext(merchant_id=data.merchant_b, category="dining")
        m = data.members
        redemptions: dict[str, Any] = {}
        for key, who, prog, shop, amount, at in (
            ("r1", m["m1"], "TST-P1", shop_a, 3000, utc(2026, 1, 5, 2)),
            ("r2", m["m2"], "TST-P1", shop_a, 2000, utc(2026, 1, 5, 17)),
            ("r3", m["m3"], "TST-P1", shop_b, 1000, utc(2026, 2, 1, 3)),
            ("r4", m["m3"], "TST-P2", shop_b, 4000, utc(2026, 2, 2, 3)),
            ("r5", m["m1"], "TST-P1", shop_a, 1000, utc(2026, 4, 2, 3)),
            ("r6", None, "TST-P2", shop_a, 5000, utc(2026, 2, 2, 3)),
        ):
            redemptions[key] = await redeem(
                conn,
                member=facts(who),
                merchant=shop,
                program_ids=data.programs[prog],
                amount_fen=amount,
                idempotency_key=key,
                at=at,
            )
        await reverse(conn, redemption_id=redemptions["r3"].redemption_id, reason="test")
    return data


@pytest.fixture
async def data(
    demo: dict[str, Any],
    engine: AsyncEngine,
    settings: Settings,  # noqa: F811  (the fixture imported above)
) -> Dataset:
    return await _build(engine, settings)
