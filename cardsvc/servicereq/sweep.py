"""The periodic sweep: escalate overdue requests, expire unreviewed hardship records, then
send the outbound copies of notifications (after the commit that created them).

Enqueued as a ``service.sweep`` job by the job schedule every
``UNIONCARD_SERVICE_SWEEP_SECONDS`` (once however many workers tick it) and run once by
``unioncard service sweep``; safe to run concurrently anyway (every change is a conditional
update).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cardsvc.inbox.service import deliver_pending
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import Sender
from cardsvc.servicereq.escalation import escalate_due
from cardsvc.servicereq.hardship.service import expire_due


async def sweep_once(session: AsyncSession, settings: Settings, *, now: datetime) -> dict[str, int]:
    """The database part, in the caller's transaction."""
    today = now.astimezone(ZoneInfo(settings.time_zone)).date()
    return {
        "escalated": await escalate_due(session, now, settings.service_sla),
        "hardship_expired": await expire_due(session, today=today, now=now),
    }


async def run_sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    sender: Sender | None,
    cipher: PiiCipher | None,
    now: datetime | None = None,
) -> dict[str, int]:
    now = now or utc_now()
    async with sessionmaker() as session, session.begin():
        counts = await sweep_once(session, settings, now=now)
    counts["sent"] = 0
    if sender is not None and cipher is not None:
        async with sessionmaker() as session, session.begin():
            counts["sent"] = await deliver_pending(session, sender, cipher, now)
    return counts


SERVICE_SWEEP = "service.sweep"


async def run_sweep_job(ctx: Any) -> dict[str, Any]:
    """The job handler (``cardsvc.jobs.runner.JobContext``)."""
    return dict(
        await run_sweep(
            ctx.sessionmaker,
            ctx.settings,
            sender=ctx.services.get("sender"),
            cipher=ctx.services.get("cipher"),
        )
    )
