"""Voucher campaign API shapes (staff and member) and how the engine's views become them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from benefits.vouchers.campaigns import CampaignView
from benefits.vouchers.claims import VoucherView, terms_of
from benefits.vouchers.figures import CampaignFigures
from benefits.vouchers.lottery import DrawRecord, MyEntry
from benefits.vouchers.models import CampaignMode

Terms = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="value (amount_off: off_fen; percent_off: basis_points, cap_fen), "
        "min_spend_fen, funded_by, valid_days or valid_until, eligibility, scope"
    ),
]
RequestKey = Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class CampaignIn(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(min_length=2, max_length=32, examples=["YC-SPRING"])]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    owner_org_id: uuid.UUID
    terms: Terms
    stock: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
    opens_at: datetime
    closes_at: datetime
    per_member: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    mode: CampaignMode = CampaignMode.first_come
    restock_expired: Annotated[
        bool,
        msgspec.Meta(description="an unused voucher that expires goes back to the stock"),
    ] = False


class CampaignOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    owner_org_id: uuid.UUID
    status: str
    mode: str
    terms: dict[str, Any]
    stock: int
    per_member: int
    opens_at: datetime
    closes_at: datetime
    published_at: datetime | None
    created_at: datetime
    commitment: Annotated[
        str | None, msgspec.Meta(description="lottery: SHA-256 (hex) of the draw's seed")
    ] = None
    drawn_at: datetime | None = None
    restock_expired: bool = False


class CampaignPage(msgspec.Struct):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int


class FiguresOut(msgspec.Struct):
    campaign_id: uuid.UUID
    stock: int
    claimed: int
    used: int
    expired: int
    left: int


def figures_out(f: CampaignFigures) -> FiguresOut:
    return FiguresOut(f.campaign_id, f.stock, f.claimed, f.used, f.expired, f.left)


def campaign_out(c: CampaignView) -> CampaignOut:
    return CampaignOut(
        c.id,
        c.code,
        c.name,
        c.owner_org_id,
        c.status,
        c.mode,
        c.terms,
        c.stock,
        c.per_member,
        c.opens_at,
        c.closes_at,
        c.published_at,
        c.created_at,
        c.commitment,
        c.drawn_at,
        c.restock_expired,
    )


def _yuan(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}".rstrip("0")


def describe_value(c: CampaignView) -> str:
    """The voucher's value as a member reads it: 满50减10, 8折（最高减30元）."""
    v = terms_of(c).value
    spend = f"满{_yuan(v.min_spend_fen)}元" if v.min_spend_fen else ""
    if v.kind == "amount_off":
        return f"{spend}减{_yuan(v.off_fen or 0)}元"
    rate = (10000 - (v.basis_points or 0)) / 1000
    cap = f"（最高减{_yuan(v.cap_fen)}元）" if v.cap_fen else ""
    return f"{spend}{rate:g}折{cap}"


class OpenCampaign(msgspec.Struct):
    id: uuid.UUID
    name: str
    value: Annotated[str, msgspec.Meta(description="the voucher's value in words (Chinese)")]
    description: str
    opens_at: datetime
    closes_at: datetime
    opens_in_seconds: Annotated[int, msgspec.Meta(description="0 once open (for a countdown)")]
    mode: str


class OpenCampaigns(msgspec.Struct):
    now: datetime
    items: list[OpenCampaign]


def open_campaign_out(c: CampaignView, now: datetime) -> OpenCampaign:
    wait = max(0, int((c.opens_at - now).total_seconds() + 0.999))
    return OpenCampaign(
        c.id,
        c.name,
        describe_value(c),
        terms_of(c).description,
        c.opens_at,
        c.closes_at,
        wait,
        c.mode,
    )


class ClaimIn(msgspec.Struct):
    request_id: Annotated[
        RequestKey,
        msgspec.Meta(
            description="a random id per claim attempt: a retry with it returns the same voucher"
        ),
    ]


def valid_claim(raw: Any) -> bool:
    """Whether ``raw``, a decoded JSON body, is a ``ClaimIn`` by the API's strict rules (the
    check the route's ``data`` gets after its dependencies)."""
    try:
        msgspec.convert(raw, ClaimIn, strict=True)
    except msgspec.ValidationError:
        return False
    return True


class VoucherOut(msgspec.Struct):
    id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    value: str
    status: str
    claimed_at: datetime
    expires_at: datetime
    used_at: datetime | None


class Wallet(msgspec.Struct):
    items: list[VoucherOut]


def voucher_out(v: VoucherView, c: CampaignView) -> VoucherOut:
    return VoucherOut(
        v.id,
        v.campaign_id,
        c.name,
        describe_value(c),
        v.status,
        v.claimed_at,
        v.expires_at,
        v.used_at,
    )


class DrawOut(msgspec.Struct):
    """Recompute: ``draw(seed, applicants, k)`` (``benefits/rules/draw.py``) gives ``winners``,
    and SHA-256 of the seed's bytes gives ``commitment``."""

    campaign_id: uuid.UUID
    commitment: str
    k: int
    algorithm: str
    applicants: list[str] | None
    seed: str | None
    winners: list[str] | None
    drawn_at: datetime | None


def draw_out(r: DrawRecord) -> DrawOut:
    return DrawOut(
        r.campaign_id,
        r.commitment,
        r.k,
        "hmac-sha256-rank-v1",
        r.applicants,
        r.seed,
        r.winners,
        r.drawn_at,
    )


class ApplyOut(msgspec.Struct):
    campaign_id: uuid.UUID
    pseudonym: Annotated[str, msgspec.Meta(description="my id in the published applicant list")]


class MyLottery(msgspec.Struct):
    campaign_id: uuid.UUID
    campaign_name: str
    value: str
    closes_at: datetime
    pseudonym: Annotated[str, msgspec.Meta(description="my id in the published applicant list")]
    applied_at: datetime
    drawn_at: datetime | None
    won: Annotated[bool | None, msgspec.Meta(description="null until the draw")]


class MyLotteries(msgspec.Struct):
    items: list[MyLottery]


def my_lottery_out(e: MyEntry) -> MyLottery:
    c = e.campaign
    return MyLottery(
        c.id, c.name, describe_value(c), c.closes_at, e.pseudonym, e.applied_at, c.drawn_at, e.won
    )
