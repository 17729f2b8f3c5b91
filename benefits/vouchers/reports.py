"""The vouchers report of a subtree and period: claimed, used, expired and the subsidy owed, per
campaign, per merchant and per owning org, in the reports' one document shape (summary and
sections, for the page, the chart, CSV and XLSX).

Counted from the voucher rows claimed in the period, of the campaigns owned in the subtree. A
voucher is used once the till has marked it (``status`` used, with the merchant and the discount
it gave); the subsidy owed is the discount of the used vouchers of campaigns the federation pays
for (a merchant-funded voucher owes nothing).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.rules.programme import Funding
from benefits.vouchers.models import Campaign, Voucher

_C = cast(Table, Campaign.__table__)
_V = cast(Table, Voucher.__table__)


@dataclass(slots=True)
class VoucherTally:
    claimed: int = 0
    used: int = 0
    expired: int = 0
    discount_fen: int = 0
    subsidy_fen: int = 0

    def add(self, other: VoucherTally) -> None:
        self.claimed += other.claimed
        self.used += other.used
        self.expired += other.expired
        self.discount_fen += other.discount_fen
        self.subsidy_fen += other.subsidy_fen


@dataclass(slots=True)
class CampaignLine:
    campaign_id: uuid.UUID
    code: str
    name: str
    owner_org_id: uuid.UUID
    stock: int
    federation_pays: bool
    tally: VoucherTally = field(default_factory=VoucherTally)


@dataclass(slots=True)
class VoucherFigures:
    total: VoucherTally = field(default_factory=VoucherTally)
    by_campaign: list[CampaignLine] = field(default_factory=list)
    by_merchant: dict[uuid.UUID, VoucherTally] = field(default_factory=dict)
    by_org: dict[uuid.UUID, VoucherTally] = field(default_factory=dict)


async def voucher_figures(
    db: AsyncSession, *, owner_org_prefix: str, since: datetime, until: datetime
) -> VoucherFigures:
    """The figures of vouchers claimed in ``[since, until)`` of campaigns owned under the prefix."""
    conn = await db.connection()
    campaigns = await conn.execute(
        select(_C.c.id, _C.c.code, _C.c.name, _C.c.owner_org_id, _C.c.stock, _C.c.terms)
        .where(_C.c.owner_org_path.startswith(owner_org_prefix, autoescape=True))
        .order_by(_C.c.created_at)
    )
    lines = {
        r.id: CampaignLine(
            r.id,
            r.code,
            r.name,
            r.owner_org_id,
            r.stock,
            (r.terms or {}).get("funded_by", Funding.federation) == Funding.federation,
        )
        for r in campaigns
    }
    out = VoucherFigures(by_campaign=list(lines.values()))
    if not lines:
        return out
    rows = await conn.execute(
        select(
            _V.c.campaign_id,
            _V.c.status,
            _V.c.merchant_id,
            func.count(),
            func.coalesce(func.sum(_V.c.discount_fen), 0),
        )
        .where(
            _V.c.campaign_id.in_(list(lines)),
            _V.c.claimed_at >= since,
            _V.c.claimed_at < until,
        )
        .group_by(_V.c.campaign_id, _V.c.status, _V.c.merchant_id)
    )
    by_merchant: dict[uuid.UUID, VoucherTally] = defaultdict(VoucherTally)
    by_org: dict[uuid.UUID, VoucherTally] = defaultdict(VoucherTally)
    for campaign_id, status, merchant_id, n, discount in rows:
        line = lines[campaign_id]
        t = VoucherTally(claimed=int(n))
        if str(status) == "used":
            t.used, t.discount_fen = int(n), int(discount)
            t.subsidy_fen = t.discount_fen if line.federation_pays else 0
        elif str(status) == "expired":
            t.expired = int(n)
        line.tally.add(t)
        out.total.add(t)
        by_org[line.owner_org_id].add(t)
        if merchant_id is not None:
            by_merchant[merchant_id].add(t)
    out.by_merchant, out.by_org = dict(by_merchant), dict(by_org)
    for org_id in {line.owner_org_id for line in lines.values()}:
        out.by_org.setdefault(org_id, VoucherTally())
    return out


def _col(key: str, label: str, label_en: str) -> dict[str, str]:
    return {"key": key, "label": label, "label_en": label_en}


def _fig(key: str, label: str, label_en: str, value: Any) -> dict[str, Any]:
    return {"key": key, "label": label, "label_en": label_en, "value": value}


TALLY_COLUMNS = [
    _col("claimed", "已领取", "Claimed"),
    _col("used", "已使用", "Used"),
    _col("expired", "已过期", "Expired"),
    _col("discount_fen", "优惠金额（分）", "Discount (fen)"),
    _col("subsidy_fen", "应付补贴（分）", "Subsidy owed (fen)"),
]


def _tally(t: VoucherTally) -> dict[str, int]:
    return {
        "claimed": t.claimed,
        "used": t.used,
        "expired": t.expired,
        "discount_fen": t.discount_fen,
        "subsidy_fen": t.subsidy_fen,
    }


def voucher_summary(f: VoucherFigures) -> list[dict[str, Any]]:
    return [
        _fig("campaigns", "活动数", "Campaigns", len(f.by_campaign)),
        _fig("claimed", "已领取", "Claimed", f.total.claimed),
        _fig("used", "已使用", "Used", f.total.used),
        _fig("expired", "已过期", "Expired", f.total.expired),
        _fig("subsidy_fen", "应付补贴（分）", "Subsidy owed (fen)", f.total.subsidy_fen),
    ]


def voucher_sections(
    f: VoucherFigures, org_names: dict[uuid.UUID, str], merchant_names: dict[uuid.UUID, str]
) -> list[dict[str, Any]]:
    """By campaign, by owning org and by merchant (where used)."""
    return [
        {
            "key": "by_campaign",
            "title": "按活动",
            "title_en": "By campaign",
            "columns": [
                _col("campaign_id", "活动ID", "Campaign id"),
                _col("code", "活动编码", "Code"),
                _col("name", "活动名称", "Campaign"),
                _col("stock", "发放总量", "Stock"),
                *TALLY_COLUMNS,
            ],
            "rows": [
                {
                    "campaign_id": str(c.campaign_id),
                    "code": c.code,
                    "name": c.name,
                    "stock": c.stock,
                }
                | _tally(c.tally)
                for c in f.by_campaign
            ],
        },
        {
            "key": "by_org",
            "title": "按组织",
            "title_en": "By org",
            "columns": [
                _col("org_id", "组织ID", "Org id"),
                _col("org", "组织", "Org"),
                *TALLY_COLUMNS,
            ],
            "rows": [
                {"org_id": str(oid), "org": org_names.get(oid, "")} | _tally(t)
                for oid, t in sorted(f.by_org.items(), key=lambda kv: org_names.get(kv[0], ""))
            ],
        },
        {
            "key": "by_merchant",
            "title": "按商户",
            "title_en": "By merchant",
            "columns": [
                _col("merchant_id", "商户ID", "Merchant id"),
                _col("name", "商户名称", "Merchant"),
                *TALLY_COLUMNS,
            ],
            "rows": [
                {"merchant_id": str(mid), "name": merchant_names.get(mid)} | _tally(t)
                for mid, t in f.by_merchant.items()
            ],
        },
    ]


def voucher_chart(f: VoucherFigures, lang: str) -> dict[str, Any]:
    """The chart: per campaign, vouchers claimed, used and expired."""
    en = lang == "en"
    return {
        "vouchers": {
            "labels": [c.name for c in f.by_campaign],
            "datasets": [
                {
                    "label": "Claimed" if en else "已领取",
                    "data": [c.tally.claimed for c in f.by_campaign],
                },
                {
                    "label": "Used" if en else "已使用",
                    "data": [c.tally.used for c in f.by_campaign],
                    "tone": "good",
                },
                {
                    "label": "Expired" if en else "已过期",
                    "data": [c.tally.expired for c in f.by_campaign],
                    "tone": "bad",
                },
            ],
        }
    }
