"""The vouchers' background job (``vouchers.lapse``, every ``UNIONCARD_VOUCHER_LAPSE_MINUTES``):
expired unused vouchers lapse, the stock of restocking campaigns goes back, and members are told
of lottery wins and of vouchers about to expire (``benefits.vouchers.lifecycle``).

The stock given back is in the database first; the claim admission state of those campaigns is
then rebuilt from it (``benefits.vouchers.rebuild.rebuild``), so the returned slots are offered
again at once. Should the rebuild not happen (the store down, another rebuild in progress), the
admission only refuses too much until the next reconcile, never oversells: the insert checks
the slot against the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.vouchers.admission import AdmissionUnavailable, make_admission
from benefits.vouchers.lifecycle import lapse_expired, notify_due
from benefits.vouchers.rebuild import rebuild
from cardsvc.inbox.service import notify_member
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.stores import make_redis

LAPSE_JOB = "vouchers.lapse"
REBUILD_TRIES = 20


def _notifier(session: AsyncSession) -> Any:
    def notify(
        member_id: uuid.UUID, *, title: str, title_en: str, body: str, voucher_id: uuid.UUID
    ) -> None:
        notify_member(
            session,
            member_id,
            topic="voucher",
            title=title,
            title_en=title_en,
            body=body,
            subject=("voucher", voucher_id),
        )

    return notify


async def _restock_admission(ctx: Any, campaigns: list[uuid.UUID]) -> int:
    """Rebuild the admission state of the campaigns that got slots back; how many were."""
    admission = ctx.services.get("voucher_admission")
    redis = None
    if admission is None:  # a worker outside the app (``unioncard jobs run``)
        redis = make_redis(ctx.settings)
        if redis is None:  # embedded: the app's in-process store rebuilds when it goes cold
            return 0
        admission = make_admission(redis)
    done = 0
    try:
        async with ctx.sessionmaker() as session:
            for cid in campaigns:
                for _ in range(REBUILD_TRIES):
                    with contextlib.suppress(AdmissionUnavailable):
                        if await rebuild(session, admission, cid):
                            done += 1
                            break
                    await asyncio.sleep(0.05)
                await session.rollback()
    finally:
        if redis is not None:
            await redis.aclose()
    return done


async def run_lapse_job(ctx: Any) -> dict[str, Any]:
    """The job handler (``cardsvc.jobs.runner.JobContext``)."""
    now = utc_now()
    async with ctx.sessionmaker() as session, session.begin():
        lapsed = await lapse_expired(session, now=now)
    async with ctx.sessionmaker() as session, session.begin():
        told = await notify_due(
            session,
            now=now,
            ahead=timedelta(hours=ctx.settings.voucher_expiry_notice_hours),
            time_zone=ctx.settings.time_zone,
            notify=_notifier(session),
        )
    rebuilt = await _restock_admission(ctx, list(lapsed.restocked))
    return {
        "expired": lapsed.expired,
        "restocked": sum(lapsed.restocked.values()),
        "rebuilt": rebuilt,
        "notified": told,
    }
