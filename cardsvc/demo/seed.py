"""``unioncard demo seed``: the demo federation, idempotent, plus ``var/demo.json``.

Every step looks its rows up by a natural key (org code, username, ID number's keyed hash), so
a second run adds nothing. Other packages add their own demo data through ``DemoStep``s that
the composition root hands in (cardsvc may not import them itself).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.demo.banner import DEMO_PASSWORD
from cardsvc.demo.hardship import approved_record
from cardsvc.demo.people import DEMO_UNIONS, DemoPerson, generate_people
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import import_all_models, make_sessionmaker, settings_engine
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.regions import is_known
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Category, Member, MemberStatus
from cardsvc.members.service import ID_FIELD, MemberInput, create_member, find_by_id_number
from cardsvc.membership.models import JoinApplication
from cardsvc.membership.service import PRIVACY_VERSION, ApplicationInput, submit_application
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import create_staff

DEMO_MEMBERS = 240
DEMO_APPLICATIONS = 6  # waiting in the approval queue

# (code, name, level, parent code, GB/T 2260 region code)
ORGS: tuple[tuple[str, str, OrgLevel, str | None, str], ...] = (
    ("HB", "湖北省总工会", OrgLevel.provincial, None, "420000"),
    ("HB-YC", "宜昌市总工会", OrgLevel.city, "HB", "420500"),
    ("HB-YC-XL", "西陵区总工会", OrgLevel.district, "HB-YC", "420502"),
    ("HB-YC-WJG", "伍家岗区总工会", OrgLevel.district, "HB-YC", "420503"),
)
DISTRICT_CODE = {"420502": "HB-YC-XL", "420503": "HB-YC-WJG"}

# (username, display name, role, org code, what they do)
STAFF: tuple[tuple[str, str, Role, str, str], ...] = (
    ("admin", "省总管理员 王建国", Role.federation_admin, "HB", "全省管理"),
    ("yc.admin", "市总管理员 李秀英", Role.federation_admin, "HB-YC", "宜昌市管理"),
    ("yc.benefits", "市总普惠专员 陈志强", Role.benefits_manager, "HB-YC", "普惠项目"),
    ("yc.merchants", "市总商户专员 刘芳", Role.merchant_manager, "HB-YC", "商户管理"),
    ("hb.auditor", "省总审计 赵敏", Role.auditor, "HB", "只读审计"),
    ("xl.admin", "西陵区总工会 张伟", Role.union_admin, "HB-YC-XL", "西陵区会员管理"),
    ("wjg.admin", "伍家岗区总工会 杨静", Role.union_admin, "HB-YC-WJG", "伍家岗区会员管理"),
    ("xl.jidian", "峡江机电工会 周磊", Role.union_admin, "XL-JIDIAN", "基层工会"),
)

# Members from this index on may get a recent join date or a redemption history; the first
# ones are the samples in demo.json that scripts and tests sign in as.
HISTORY_FROM = 40
RECENT_JOIN_DAYS = 548  # 18 months
# demo[HISTORY_KEY]: ids of active members a later step gives a redemption history.
HISTORY_KEY = "_history_member_ids"

DemoStep = Callable[[AsyncSession, Settings, dict[str, Any]], Awaitable[dict[str, Any]]]


class DemoRefused(RuntimeError):
    """The demo federation is never seeded into a production service: its staff accounts share
    a published password and ``demo.json`` holds live terminal keys."""


def union_code(key: str) -> str:
    return key.upper()


async def _org_by_code(session: AsyncSession, code: str) -> Org | None:
    return await session.scalar(select(Org).where(Org.code == code))


async def _apply(session: AsyncSession, cipher: PiiCipher, p: DemoPerson) -> bool:
    """A join application from a demo person, unless one is already there."""
    id_hash = cipher.lookup_hash(ID_FIELD, p.id_number)
    if await session.scalar(
        select(JoinApplication.id).where(JoinApplication.id_number_hash == id_hash)
    ):
        return False
    org = await _org_by_code(session, union_code(p.union_key))
    assert org is not None
    await submit_application(
        session,
        cipher,
        phone=p.phone,
        throttle=None,
        data=ApplicationInput(
            name=p.name,
            id_number=p.id_number,
            org_id=org.id,
            employment_type=p.employment_type,
            employer=p.employer,
            job=p.job,
            privacy_version=PRIVACY_VERSION,
            consent=True,
        ),
    )
    return True


async def _seed_orgs(session: AsyncSession, created: Counter[str]) -> None:
    """The federation tree, then the demo grassroots unions under their districts."""
    for code, name, level, parent, region in ORGS:
        if await _org_by_code(session, code) is None:
            parent_org = await _org_by_code(session, parent) if parent else None
            await create_org(
                session,
                SYSTEM,
                code=code,
                name=name,
                level=level,
                parent_id=parent_org.id if parent_org else None,
                region_code=region,
            )
            created["orgs"] += 1
    for u in DEMO_UNIONS:
        code = union_code(u.key)
        if await _org_by_code(session, code) is None:
            parent_org = await _org_by_code(session, DISTRICT_CODE[u.district_code])
            assert parent_org is not None
            await create_org(
                session,
                SYSTEM,
                code=code,
                name=u.name,
                level=OrgLevel.grassroots,
                parent_id=parent_org.id,
                region_code=u.district_code,
            )
            created["orgs"] += 1


async def _seed_staff(session: AsyncSession, created: Counter[str]) -> None:
    for username, display, role, org_code, _ in STAFF:
        if await session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            continue
        org = await _org_by_code(session, org_code)
        assert org is not None
        await create_staff(
            session,
            SYSTEM,
            username=username,
            display_name=display,
            password=DEMO_PASSWORD,
            grants=[(role, org.id)],
        )
        created["staff"] += 1


async def _seed_members(
    session: AsyncSession,
    settings: Settings,
    people: list[DemoPerson],
    created: Counter[str],
    demo: dict[str, Any],
) -> list[dict[str, Any]]:
    """The demo members (most active); returns a few active ones as samples for scripts.
    Those in hardship get it from an approved hardship record, as any member does."""
    cipher = PiiCipher.from_settings(settings)
    now = utc_now()
    today = now.astimezone(ZoneInfo(settings.time_zone)).date()
    samples: list[dict[str, Any]] = []
    history: list[str] = []
    for i, p in enumerate(people):
        # A few applications still waiting, a few suspended or gone: the console has work.
        status = MemberStatus.pending if i % 40 == 7 else MemberStatus.active
        existing = await find_by_id_number(session, cipher, p.id_number)
        if existing is None:
            org = await _org_by_code(session, union_code(p.union_key))
            assert org is not None
            existing = await create_member(
                session,
                SYSTEM,
                cipher,
                MemberInput(
                    name=p.name,
                    id_number=p.id_number,
                    phone=p.phone,
                    org_id=org.id,
                    categories=[c for c in p.categories if c != Category.hardship.value],
                    employment_type=p.employment_type,
                    employer=p.employer,
                    job=p.job,
                    # A code retired since the ID was issued: the union's region instead.
                    region_code=p.region_code if is_known(p.region_code) else None,
                    status=status,
                    joined_on=_joined_on(i, p.joined_on, today)
                    if status == MemberStatus.active
                    else None,
                ),
            )
            created["members"] += 1
        level = p.hardship_level if existing.status == MemberStatus.active else None
        if level and await approved_record(session, settings, existing, level, now):
            created["hardship_records"] += 1
        if i >= HISTORY_FROM and i % 3 == 0 and existing.status == MemberStatus.active:
            history.append(str(existing.id))
        if len(samples) < 12 and existing.status == MemberStatus.active:
            samples.append(
                {
                    "member_no": existing.member_no,
                    "name": existing.name,
                    "phone": p.phone,
                    "union": union_code(p.union_key),
                    "categories": list(existing.categories),
                }
            )
    demo[HISTORY_KEY] = history
    return samples


def _joined_on(i: int, generated: date, today: date) -> date:
    """A third of the members (none of the samples scripts and tests use) joined during the
    last 18 months, so the joins chart has a history; the others keep their generated date."""
    if i < HISTORY_FROM or i % 3 != 1:
        return generated
    return today - timedelta(days=(i * 53) % RECENT_JOIN_DAYS)


async def seed_federation(
    session: AsyncSession, settings: Settings, demo: dict[str, Any]
) -> dict[str, Any]:
    created: Counter[str] = Counter()
    await _seed_orgs(session, created)
    await _seed_staff(session, created)
    cipher = PiiCipher.from_settings(settings)
    people = generate_people(DEMO_MEMBERS + DEMO_APPLICATIONS, seed=2026)
    for p in people[DEMO_MEMBERS:]:
        if await _apply(session, cipher, p):
            created["applications"] += 1
    samples = await _seed_members(session, settings, people[:DEMO_MEMBERS], created, demo)
    demo["staff"] = [
        {"username": u, "password": DEMO_PASSWORD, "name": d, "role": r.value, "org": o, "for": w}
        for u, d, r, o, w in STAFF
    ]
    demo["orgs"] = [c for c, *_ in ORGS] + [union_code(u.key) for u in DEMO_UNIONS]
    demo["members"] = samples
    return dict(created)


async def seed_demo(settings: Settings, steps: Sequence[DemoStep] = ()) -> dict[str, Any]:
    """Run the federation step and then ``steps``, all in one transaction; write demo.json
    (mode 0600: it holds terminal keys and the staff password). Refused in production."""
    if settings.production:
        raise DemoRefused(
            "refusing to seed the demo federation in production (UNIONCARD_ENVIRONMENT="
            "production): its staff accounts share a published password"
        )
    import_all_models()
    engine = settings_engine(settings)
    demo: dict[str, Any] = {
        "base_url": settings.public_url,
        "generated_at": utc_now().isoformat(timespec="seconds"),
    }
    summary: dict[str, Any] = {}
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for step in (seed_federation, *steps):
                summary[step.__name__] = await step(session, settings, demo)
            demo["counts"] = {
                "members": len((await session.scalars(select(Member.id))).all()),
            }
    finally:
        await engine.dispose()
    demo.pop(HISTORY_KEY, None)  # passed between steps, not for scripts
    path = settings.var_dir / "demo.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # a leftover would keep its (wider) mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(demo, fh, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
    return summary
