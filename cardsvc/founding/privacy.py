"""What founding holds about people: the applicant's phone and name and the founders' names
and phones (encrypted; rewritten by a data-key rotation). A refused application is deleted
after the applications' retention, with its documents; files no document refers to are swept."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.documents import document_path
from cardsvc.founding.models import FoundingApplication, FoundingDocument, FoundingStatus
from cardsvc.founding.service import FOUNDERS_FIELD, NAME_FIELD
from cardsvc.kernel.settings import Settings
from cardsvc.privacy.parts import EncryptedTable, PrivacyParts, purge_older

SWEEP_GRACE = timedelta(hours=1)  # an upload whose row is not committed yet keeps its file


async def purge_refused(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    t = cast(Table, FoundingApplication.__table__)
    cutoff = now - timedelta(days=settings.application_retention_days)
    return await purge_older(
        session, t, [t.c.status == FoundingStatus.refused.value, t.c.decided_at < cutoff], limit
    )


async def sweep_document_files(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    root = document_path(settings, "00").parent.parent
    if not root.is_dir():
        return 0
    before = (now - SWEEP_GRACE).timestamp()
    files: list[Path] = [p for p in root.glob("??/*") if p.is_file() and not p.name.startswith(".")]
    deleted = 0
    for i in range(0, len(files), 500):
        chunk = {p.name: p for p in files[i : i + 500]}
        used = set(
            await session.scalars(
                select(FoundingDocument.sha256).where(FoundingDocument.sha256.in_(chunk))
            )
        )
        for name, path in chunk.items():
            if name in used or deleted >= limit or path.stat().st_mtime >= before:
                continue
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def founding_parts() -> PrivacyParts:
    return PrivacyParts(
        purges={"founding_applications": purge_refused},
        encrypted=(
            EncryptedTable(
                cast(Table, FoundingApplication.__table__),
                {
                    "phone_enc": "phone",
                    "contact_name_enc": NAME_FIELD,
                    "founders_enc": FOUNDERS_FIELD,
                },
                "data_key_id",
            ),
        ),
        file_sweeps={"founding_files_deleted": sweep_document_files},
    )
