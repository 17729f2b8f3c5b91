"""Voucher campaigns: drafts, publishing, ending, reading and listing (plain functions).

``draft → published → ended``; a draft may be edited by making a new one (campaigns are short
and their terms are a promise to members once published, so a published campaign never
changes). The scope rule is the programmes' (``benefits.access``): a campaign belongs to its
owner org's subtree.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from uuid_utils.compat import uuid7 as _new_id

from benefits.engine.txn import Db, read_connection, write_transaction
from benefits.errors import FieldError, InvalidTransition, NotFound, ValidationError
from benefits.rules.draw import commitment
from benefits.vouchers.models import Campaign, CampaignMode, CampaignStatus
from benefits.vouchers.terms import Terms, parse_terms

_C = cast(Table, Campaign.__table__)
_CODE_RE = re.compile(r"^[A-Za-z0-9_\-]{2,32}$")
MAX_STOCK = 10_000_000
MAX_PER_MEMBER = 100


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: uuid.UUID
    code: str
    name: str
    owner_org_id: uuid.UUID
    owner_org_path: str
    status: str
    mode: str
    terms: dict[str, Any]
    stock: int
    per_member: int
    opens_at: datetime
    closes_at: datetime
    published_at: datetime | None
    created_at: datetime
    commitment: str | None = None
    seed: str | None = None  # secret until drawn_at
    drawn_at: datetime | None = None
    restock_expired: bool = False

    @property
    def parsed(self) -> Terms:
        return parse_terms(self.terms)


def campaign_not_found(campaign_id: uuid.UUID | str) -> NotFound:
    return NotFound(message_zh="未找到该消费券活动", message_en="Voucher campaign not found")


def _view(row: Row[Any]) -> CampaignView:
    return CampaignView(
        id=row.id,
        code=row.code,
        name=row.name,
        owner_org_id=row.owner_org_id,
        owner_org_path=row.owner_org_path,
        status=str(row.status),
        mode=str(row.mode),
        terms=row.terms,
        stock=row.stock,
        per_member=row.per_member,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        published_at=row.published_at,
        created_at=row.created_at,
        commitment=row.commitment,
        seed=row.seed,
        drawn_at=row.drawn_at,
        restock_expired=bool(row.restock_expired),
    )


def _check(
    c: list[FieldError], code: Any, name: Any, stock: Any, per_member: Any, window: tuple[Any, Any]
) -> None:
    if not isinstance(code, str) or not _CODE_RE.match(code):
        c.append(
            FieldError(
                "code",
                "只能包含字母、数字、下划线和连字符（2–32 位）",
                "use 2–32 letters, digits, _ or -",
            )
        )
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        c.append(FieldError("name", "必填，最多 128 字", "required, at most 128 characters"))
    if not 1 <= stock <= MAX_STOCK:
        c.append(FieldError("stock", f"须在 1 至 {MAX_STOCK} 之间", f"must be 1 to {MAX_STOCK}"))
    if not 1 <= per_member <= MAX_PER_MEMBER:
        c.append(
            FieldError(
                "per_member", f"须在 1 至 {MAX_PER_MEMBER} 之间", f"must be 1 to {MAX_PER_MEMBER}"
            )
        )
    opens, closes = window
    for field, at in (("opens_at", opens), ("closes_at", closes)):
        if at.tzinfo is None or at.utcoffset() is None:
            c.append(FieldError(field, "必须带时区偏移", "must include a UTC offset"))
    if not c and closes <= opens:
        c.append(FieldError("closes_at", "须晚于开始时间", "must be after opens_at"))


async def create_campaign(
    db: Db,
    *,
    code: str,
    name: str,
    owner_org_id: uuid.UUID,
    owner_org_path: str,
    mode: CampaignMode,
    terms: Any,
    stock: int,
    per_member: int,
    opens_at: datetime,
    closes_at: datetime,
    restock_expired: bool = False,
    actor_id: uuid.UUID | None = None,
) -> CampaignView:
    """A new draft; raises ValidationError naming every bad field."""
    errors: list[FieldError] = []
    _check(errors, code, name, stock, per_member, (opens_at, closes_at))
    try:
        parsed = parse_terms(terms)
    except ValidationError as exc:
        errors += exc.errors
    if restock_expired and mode == CampaignMode.lottery:
        errors.append(
            FieldError(
                "restock_expired", "抽签活动开奖后不再发放，不能回收过期券", "not for a lottery"
            )
        )
    if errors:
        raise ValidationError.from_fields(errors)
    if parsed.valid_until is not None and parsed.valid_until <= opens_at:
        raise ValidationError.field("terms.valid_until", "须晚于开始时间", "must be after opens_at")
    cid = _new_id()
    lottery: dict[str, Any] = {}
    if mode == CampaignMode.lottery:
        seed = secrets.token_hex(32)
        lottery = {"seed": seed, "commitment": commitment(seed)}
    async with write_transaction(db) as conn:
        try:
            await conn.execute(
                insert(_C).values(
                    id=cid,
                    code=code,
                    name=name.strip(),
                    owner_org_id=owner_org_id,
                    owner_org_path=owner_org_path,
                    status=CampaignStatus.draft,
                    mode=mode,
                    terms=terms,
                    stock=stock,
                    per_member=per_member,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    created_by=actor_id,
                    restock_expired=restock_expired,
                    **lottery,
                )
            )
        except IntegrityError:
            raise ValidationError.field("code", "编码已被使用", "code already in use") from None
        row = (await conn.execute(select(_C).where(_C.c.id == cid))).one()
    return _view(row)


async def get_campaign(db: Db, campaign_id: uuid.UUID) -> CampaignView:
    async with read_connection(db) as conn:
        row = (await conn.execute(select(_C).where(_C.c.id == campaign_id))).first()
    if row is None:
        raise campaign_not_found(campaign_id)
    return _view(row)


async def list_campaigns(
    db: Db,
    *,
    prefixes: list[str] | None,
    status: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[CampaignView], int]:
    """Campaigns owned under any of ``prefixes`` (None: all), newest first."""
    cond = []
    if prefixes is not None:
        if not prefixes:
            return [], 0
        cond.append(or_(*[_C.c.owner_org_path.startswith(p, autoescape=True) for p in prefixes]))
    if status:
        cond.append(_C.c.status.in_(status))
    async with read_connection(db) as conn:
        total = await conn.scalar(select(func.count()).select_from(_C).where(*cond))
        rows = await conn.execute(
            select(_C)
            .where(*cond)
            .order_by(_C.c.opens_at.desc(), _C.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [_view(r) for r in rows], int(total or 0)


async def published_campaigns(db: Db, *, after: datetime) -> list[CampaignView]:
    """Published campaigns whose window has not closed by ``after``, opening soonest first."""
    async with read_connection(db) as conn:
        rows = await conn.execute(
            select(_C)
            .where(_C.c.status == CampaignStatus.published, _C.c.closes_at > after)
            .order_by(_C.c.opens_at, _C.c.id)
            .limit(200)
        )
        return [_view(r) for r in rows]


_MOVES = {"publish": ({"draft"}, "published"), "end": ({"draft", "published"}, "ended")}
_STATUS_ZH = {"draft": "草稿", "published": "已发布", "ended": "已结束"}


async def move_campaign(db: Db, campaign_id: uuid.UUID, action: str, at: datetime) -> CampaignView:
    """``publish`` a draft (its window must not have closed) or ``end`` a campaign."""
    allowed, to = _MOVES[action]
    async with write_transaction(db) as conn:
        row = (await conn.execute(select(_C).where(_C.c.id == campaign_id))).first()
        if row is None:
            raise campaign_not_found(campaign_id)
        status = str(row.status)
        if status not in allowed:
            zh = _STATUS_ZH.get(status, status)
            raise InvalidTransition(
                message_zh=f"活动状态为“{zh}”，不能执行该操作",
                message_en=f"A campaign that is {status} cannot be {action}ed",
                current_status=status,
                action=action,
            )
        if action == "publish" and row.closes_at <= at:
            raise ValidationError.field(
                "closes_at", "领取时间已过，不能发布", "the window has closed"
            )
        values: dict[str, Any] = {"status": to}
        if action == "publish":
            values["published_at"] = at
        await conn.execute(update(_C).where(_C.c.id == campaign_id).values(**values))
        row = (await conn.execute(select(_C).where(_C.c.id == campaign_id))).one()
    return _view(row)
