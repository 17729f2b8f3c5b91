"""Where a voucher can be used: the directory's stores inside its campaign's scope.

The check is the one a till applies (``benefits.rules.scope.check_scope`` on the store as a
terminal there presents it, ``merchants.public.store_context``); the directory query only
narrows the candidates by the same lists first. A campaign without a scope is accepted at
every partner store (``anywhere``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.rules.eligibility import division_prefix
from benefits.rules.scope import check_scope
from benefits.vouchers.campaigns import CampaignView
from merchants.public import NearbyStore, store_context, stores_where

SHOWN = 5
_CANDIDATES = 200


@dataclass(frozen=True, slots=True)
class WhereToUse:
    anywhere: bool  # no scope: every partner store
    stores: tuple[NearbyStore, ...] = ()  # the first few, by name
    more: bool = False  # more stores than shown


async def where_to_use(
    session: AsyncSession,
    campaigns: Iterable[CampaignView],
    *,
    at: datetime,
    zone: ZoneInfo,
    shown: int = SHOWN,
) -> dict[uuid.UUID, WhereToUse]:
    """Per campaign: its first ``shown`` stores (and whether there are more)."""
    out: dict[uuid.UUID, WhereToUse] = {}
    for c in campaigns:
        if c.id in out:
            continue
        scope = c.parsed.scope
        if scope.is_empty:
            out[c.id] = WhereToUse(anywhere=True)
            continue
        candidates = await stores_where(
            session,
            merchant_ids=scope.merchant_ids,
            categories=[k.value for k in scope.merchant_categories],
            regions=[division_prefix(r) for r in scope.regions],
            store_ids=scope.store_ids,
            at=at,
            zone=zone,
            limit=_CANDIDATES,
        )
        usable = [s for s in candidates if not check_scope(scope, store_context(s))]
        out[c.id] = WhereToUse(False, tuple(usable[:shown]), len(usable) > shown)
    return out
