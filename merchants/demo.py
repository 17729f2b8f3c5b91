"""Demo partner merchants in Yichang (宜昌), each with one store and one terminal.

Idempotent: merchants are looked up by USCC, stores and terminals by name. Keys are stored
only hashed, so the plain keys live in ``var/demo.json`` (written by the demo seed): on a
second run each terminal's key is taken from the previous ``demo.json`` if it still
authenticates; if it is unknown (file deleted) or no longer valid (revoked from the console),
the terminal's key is rotated and the new one written.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import uscc as stdnum_uscc

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.public import find_org_by_code
from merchants.keys import matches
from merchants.models import Merchant, MerchantCategory, Store, Terminal, TerminalKey
from merchants.onboarding.service import MerchantInput, create_merchant, create_store, find_by_uscc
from merchants.onboarding.terminals import create_terminal, key_is_live, rotate_key


@dataclass(frozen=True, slots=True)
class DemoMerchant:
    uscc_body: str  # the first 17 characters; the check character is computed
    legal_name: str
    display_name: str
    category: MerchantCategory
    org: str  # owning org code (from cardsvc's demo federation)
    region: str
    region_name: str
    contact: str
    phone: str
    store: str
    address: str
    account: str

    @property
    def uscc(self) -> str:
        return self.uscc_body + stdnum_uscc.calc_check_digit(self.uscc_body)


XL, WJG, YL = ("420502", "西陵区"), ("420503", "伍家岗区"), ("420506", "夷陵区")
DEMO_MERCHANTS: tuple[DemoMerchant, ...] = (
    DemoMerchant(
        "92420502MA4YC0D01",
        "宜昌市西陵区老街面馆",
        "老街面馆",
        MerchantCategory.dining,
        "HB-YC",
        *XL,
        "王建华",
        "13907170001",
        "老街面馆（解放路店）",
        "宜昌市西陵区解放路 18 号",
        "6217001234567890011",
    ),
    DemoMerchant(
        "91420503MA4YC0R02",
        "宜昌惠民超市有限公司",
        "惠民超市",
        MerchantCategory.retail,
        "HB-YC",
        *WJG,
        "李红梅",
        "13907170002",
        "惠民超市（伍家岗店）",
        "宜昌市伍家岗区伍临路 66 号",
        "6217001234567890022",
    ),
    DemoMerchant(
        "91420502MA4YC0C03",
        "宜昌三峡影城有限公司",
        "三峡影城",
        MerchantCategory.cinema,
        "HB-YC",
        *XL,
        "张晓东",
        "13907170003",
        "三峡影城（国贸店）",
        "宜昌市西陵区东山大道 108 号国贸大厦 5 楼",
        "6217001234567890033",
    ),
    DemoMerchant(
        "91420502MA4YC0H04",
        "宜昌康宁体检中心有限公司",
        "康宁体检中心",
        MerchantCategory.health,
        "HB-YC",
        *XL,
        "陈静",
        "13907170004",
        "康宁体检中心（夷陵路）",
        "宜昌市西陵区夷陵大道 56 号",
        "6217001234567890044",
    ),
    DemoMerchant(
        "91420503MA4YC0F05",
        "宜昌动力健身有限公司",
        "动力健身馆",
        MerchantCategory.fitness,
        "HB-YC-WJG",
        *WJG,
        "刘强",
        "13907170005",
        "动力健身馆（万达店）",
        "宜昌市伍家岗区沿江大道 200 号",
        "6217001234567890055",
    ),
    DemoMerchant(
        "81420502MA4YC0R06",
        "西陵区总工会工惠驿家（解放路站）",
        "工惠驿家·解放路站",
        MerchantCategory.rest_station,
        "HB-YC-XL",
        *XL,
        "周敏",
        "13907170006",
        "工惠驿家·解放路站",
        "宜昌市西陵区解放路 32 号",
        "6217001234567890066",
    ),
    DemoMerchant(
        "52420506MA4YC0E07",
        "宜昌市职工技能培训学校",
        "职工技能培训学校",
        MerchantCategory.education,
        "HB-YC",
        *YL,
        "黄志勇",
        "13907170007",
        "职工技能培训学校（夷陵校区）",
        "宜昌市夷陵区发展大道 9 号",
        "6217001234567890077",
    ),
)
TERMINAL_NAME = "1 号收银台"


def _previous_keys(settings: Settings) -> dict[str, str]:
    """Terminal id → plain key, from the demo.json of an earlier run (if any)."""
    path = settings.var_dir / "demo.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {
        str(t["terminal_id"]): str(t["key"])
        for t in data.get("terminals", [])
        if isinstance(t, dict) and t.get("terminal_id") and t.get("key")
    }


async def _known_key_still_valid(session: AsyncSession, terminal: Terminal, plain: str) -> bool:
    now = utc_now()
    keys = await session.scalars(select(TerminalKey).where(TerminalKey.terminal_id == terminal.id))
    return any(key_is_live(k, now) and matches(plain, k.secret_hash) for k in keys)


async def seed_merchants(
    session: AsyncSession, settings: Settings, demo: dict[str, Any]
) -> dict[str, Any]:
    """Demo step: adds ``demo["terminals"] = [{"key", "store", "merchant", "category", …}]``."""
    cipher = PiiCipher.from_settings(settings)
    previous = _previous_keys(settings)
    created: Counter[str] = Counter()
    terminals: list[dict[str, Any]] = []
    for d in DEMO_MERCHANTS:
        merchant = await find_by_uscc(session, d.uscc)
        if merchant is None:
            org = await find_org_by_code(session, d.org)
            if org is None:
                raise RuntimeError(f"demo org {d.org} missing: run the federation step first")
            merchant = await create_merchant(
                session,
                SYSTEM,
                cipher,
                MerchantInput(
                    org_id=org.id,
                    legal_name=d.legal_name,
                    display_name=d.display_name,
                    uscc=d.uscc,
                    category=d.category,
                    region=d.region,
                    region_name=d.region_name,
                    contact_name=d.contact,
                    contact_phone=d.phone,
                    bank_name="中国工商银行宜昌分行",
                    bank_account_name=d.legal_name,
                    bank_account_number=d.account,
                ),
            )
            created["merchants"] += 1
        store = await session.scalar(
            select(Store).where(Store.merchant_id == merchant.id, Store.name == d.store)
        )
        if store is None:
            store = await create_store(
                session, SYSTEM, merchant.id, name=d.store, address=d.address, region=d.region
            )
            created["stores"] += 1
        terminal = await session.scalar(
            select(Terminal).where(Terminal.store_id == store.id, Terminal.name == TERMINAL_NAME)
        )
        if terminal is None:
            terminal, issued = await create_terminal(session, SYSTEM, store.id, name=TERMINAL_NAME)
            plain = issued.plain
            created["terminals"] += 1
        else:
            known = previous.get(str(terminal.id))
            if known and await _known_key_still_valid(session, terminal, known):
                plain = known
            else:
                _, issued, _ = await rotate_key(session, SYSTEM, terminal.id, grace_seconds=0)
                plain = issued.plain
                created["keys_rotated"] += 1
        terminals.append(_entry(merchant, store, terminal, plain))
    demo["terminals"] = terminals
    return dict(created)


def _entry(merchant: Merchant, store: Store, terminal: Terminal, key: str) -> dict[str, Any]:
    return {
        "key": key,
        "store": store.name,
        "merchant": merchant.display_name,
        "category": merchant.category.value,
        "uscc": merchant.uscc,
        "region": store.region,
        "merchant_id": str(merchant.id),
        "store_id": str(store.id),
        "terminal_id": str(terminal.id),
    }


# Redemption history: this many days back, and up to this many redemptions a day.
HISTORY_DAYS = 90
HISTORY_PER_DAY = 3
# Rest-station visits only: a daily quota (so no member's month or year is used up) at the
# one kind of shop whose terminal no till test reads the ledger of.
HISTORY_OF = ("YC-REST",)
HISTORY_AT = ("rest_station",)


async def seed_redemption_history(
    session: AsyncSession, settings: Settings, demo: dict[str, Any]
) -> dict[str, Any]:
    """Demo step (after the programmes): a few redemptions a day over the last 90 days at the
    demo rest station, by members other than demo.json's samples, through the engine's own
    ``redeem`` (limits, budgets and stacking hold as at a till). Idempotent: each has a fixed
    idempotency key, so a second run replays instead of adding."""
    from benefits.public import BenefitsError, MerchantContext, redeem
    from merchants.terminal.scan import member_facts

    if settings.environment == "test":
        # The tests' seeded template keeps an empty ledger: till tests count its rows.
        return {}
    # Left by the federation step (cardsvc.demo.seed.HISTORY_KEY), dropped before demo.json.
    members = [uuid.UUID(m) for m in demo.get("_history_member_ids", [])]
    terminals = [t for t in demo.get("terminals", []) if t["category"] in HISTORY_AT]
    programs = [uuid.UUID(p["id"]) for p in demo.get("programs", []) if p["code"] in HISTORY_OF]
    if not members or not terminals or not programs:
        return {}
    zone = ZoneInfo(settings.time_zone)
    today = utc_now().astimezone(zone).date()
    created: Counter[str] = Counter()
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        for j in range(1 + (back * 7) % HISTORY_PER_DAY):
            member = members[(back * 11 + j * 5) % len(members)]
            t = terminals[(back + j * 3) % len(terminals)]
            where = MerchantContext(
                merchant_id=uuid.UUID(t["merchant_id"]),
                store_id=uuid.UUID(t["store_id"]),
                terminal_id=uuid.UUID(t["terminal_id"]),
                category=t["category"],
                region=t["region"],
            )
            at = datetime.combine(day, time(10 + (back + j * 4) % 10, 5 * j), zone)
            facts = await member_facts(session, member)
            for program in programs:
                try:
                    await redeem(
                        session,
                        member=facts,
                        merchant=where,
                        program_ids=[program],
                        amount_fen=6_000 + (back * 137) % 9_000,
                        idempotency_key=f"demo-history-{day.isoformat()}-{j}",
                        at=at,
                    )
                except BenefitsError:
                    continue  # not this programme here (scope, eligibility, a limit)
                created["redemptions"] += 1
                break
    return dict(created)
