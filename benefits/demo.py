"""Demo programmes of 宜昌市总工会 (org HB-YC), seeded by ``unioncard demo seed``.

A demo step (``cardsvc.demo.seed.DemoStep``): runs in the seed's transaction after the demo
federation exists, idempotent by programme code (an existing programme is left as it is; a
draft left by an interrupted run is published). Adds ``demo["programs"]`` to demo.json.

The org is read with Core on the ``org`` table (code → id, path): benefits may not import
cardsvc's models.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.types import GUID
from sqlalchemy import String, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.engine.txn import utc_now
from benefits.models import Program, ProgramStatus
from benefits.programmes.lifecycle import create_program, publish_program

OWNER_CODE = "HB-YC"
_ORG = table("org", column("id", GUID()), column("code", String), column("path", String))
_P = Program.__table__
_ZONE = ZoneInfo("Asia/Shanghai")


# size: a data table, one rule JSON literal per demo programme
def demo_rules(year: int) -> list[tuple[str, dict[str, Any]]]:
    """(code, rule JSON) of each demo programme; valid from 1 January of ``year`` for two years."""
    start = datetime(year, 1, 1, tzinfo=_ZONE).isoformat()
    until = datetime(year + 2, 1, 1, tzinfo=_ZONE).isoformat()
    window = {"valid_from": start, "valid_until": until, "timezone": "Asia/Shanghai"}
    return [
        (
            "YC-CINEMA",
            {
                "name": "职工观影补贴",
                "description": "每月两张电影票，每张由市总工会补贴 20 元。",
                **window,
                "priority": 20,
                "scope": {"merchant_categories": ["cinema"]},
                "benefit": {"kind": "subsidy", "per_unit_fen": 2000},
                "limits": [
                    {
                        "key": "monthly_tickets",
                        "metric": "units",
                        "scope": "member",
                        "period": "month",
                        "limit": 2,
                    },
                    {
                        "key": "budget",
                        "metric": "amount",
                        "scope": "program",
                        "period": "year",
                        "limit": 20_000_000,
                    },
                ],
            },
        ),
        (
            "YC-HEALTH",
            {
                "name": "职工年度健康体检",
                "description": "每年一次免费健康体检，费用由市总工会按每人 300 元结算。",
                **window,
                "priority": 20,
                "scope": {"merchant_categories": ["health"]},
                "benefit": {"kind": "free_units", "per_unit_fen": 30000},
                "limits": [
                    {
                        "key": "yearly_check",
                        "metric": "units",
                        "scope": "member",
                        "period": "year",
                        "limit": 1,
                    },
                ],
            },
        ),
        (
            "YC-DINING",
            {
                "name": "合作餐厅九折",
                "description": "合作餐厅消费九折，每次最多优惠 30 元；市总工会每月预算用完即止。",
                **window,
                "priority": 10,
                "stacking": {"mode": "group", "group": "dining"},
                "scope": {"merchant_categories": ["dining"]},
                "benefit": {
                    "kind": "percent_off",
                    "basis_points": 1000,
                    "cap_fen": 3000,
                    "funded_by": "federation",
                },
                "limits": [
                    {
                        "key": "monthly_budget",
                        "metric": "amount",
                        "scope": "program",
                        "period": "month",
                        "limit": 1_000_000,
                        "on_exceed": "clamp",
                    },
                ],
            },
        ),
        (
            "YC-REST",
            {
                "name": "工惠驿家歇脚服务",
                "description": "户外劳动者（灵活就业、新就业形态、农民工）每天可在工惠驿家"
                "免费歇脚一次：饮水、热饭、充电、休息。",
                **window,
                "priority": 30,
                "eligibility": {"categories_any": ["flexible_worker", "migrant_worker"]},
                "scope": {"merchant_categories": ["rest_station"]},
                "benefit": {"kind": "free_units"},
                "limits": [
                    {
                        "key": "daily_visit",
                        "metric": "units",
                        "scope": "member",
                        "period": "day",
                        "limit": 1,
                    },
                ],
            },
        ),
        (
            "YC-HARDSHIP",
            {
                "name": "困难职工超市帮扶",
                "description": "困难等级 2–3 级的困难职工在合作超市每月一次立减 50 元。",
                **window,
                "priority": 40,
                "eligibility": {"categories_any": ["hardship"], "hardship_levels": [2, 3]},
                "scope": {"merchant_categories": ["retail"]},
                "benefit": {"kind": "amount_off", "off_fen": 5000, "funded_by": "federation"},
                "limits": [
                    {
                        "key": "monthly_allowance",
                        "metric": "count",
                        "scope": "member",
                        "period": "month",
                        "limit": 1,
                    },
                    {
                        "key": "budget",
                        "metric": "amount",
                        "scope": "program",
                        "period": "year",
                        "limit": 5_000_000,
                    },
                ],
            },
        ),
    ]


async def seed_programs(
    session: AsyncSession, settings: Any, demo: dict[str, Any]
) -> dict[str, Any]:
    """Demo step: the five demo programmes, published and active; ``demo["programs"]``."""
    created: Counter[str] = Counter()
    org = (
        await session.execute(select(_ORG.c.id, _ORG.c.path).where(_ORG.c.code == OWNER_CODE))
    ).first()
    if org is None:
        raise RuntimeError(f"demo org {OWNER_CODE} is missing: seed the federation first")
    year = utc_now().astimezone(_ZONE).year
    listed: list[dict[str, Any]] = []
    for code, rules in demo_rules(year):
        row = (await session.execute(select(_P.c.id, _P.c.status).where(_P.c.code == code))).first()
        if row is None:
            view = await create_program(
                session, code=code, owner_org_id=org.id, owner_org_path=org.path, rules=rules
            )
            program_id, status = view.id, view.status
            created["programs"] += 1
        else:
            program_id, status = row.id, str(row.status)
        if status == ProgramStatus.draft:
            view = await publish_program(session, program_id=program_id)
            created["published"] += 1
        listed.append({"code": code, "name": rules["name"], "id": str(program_id)})
    demo["programs"] = listed
    return dict(created)
