"""What background jobs and roster imports hold about people, for retention: a finished job's
parameters name the uploaded file and the address of whoever started it, and a roster import's
row errors quote the rows. Registered by the composition root (``cardsvc.wiring``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.jobs.models import TERMINAL, Job
from cardsvc.kernel.settings import Settings
from cardsvc.privacy.parts import PrivacyParts
from cardsvc.roster.models import RosterImportError


async def purge_finished_jobs(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    """Finished background jobs past ``job_retention_days``, with their roster row errors."""
    t = cast(Table, Job.__table__)  # a declarative model's: a Table
    cutoff = now - timedelta(days=settings.job_retention_days)
    conds = [t.c.status.in_([s.value for s in TERMINAL]), t.c.finished_at < cutoff]
    ids = list(await session.scalars(select(t.c.id).where(*conds).limit(limit)))
    if not ids:
        return 0
    # The row errors first, whatever the database's cascade.
    await session.execute(
        delete(RosterImportError)
        .where(RosterImportError.job_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        delete(t).where(t.c.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


def roster_parts() -> PrivacyParts:
    return PrivacyParts(purges={"finished_jobs": purge_finished_jobs})
