"""What service requests, hardship records and the inbox hold about a member, for the access
export, erasure and retention (``cardsvc.privacy``). Attachment files are content-addressed
and may be shared by identical uploads: erasure removes their rows, and the files no row
refers to any more are deleted once the erasure has committed (``sweep_attachment_files``,
also run by the retention job)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.models import Notification
from cardsvc.kernel.settings import Settings
from cardsvc.privacy.parts import PrivacyParts, purge_older
from cardsvc.servicereq.attachments import attachment_dir
from cardsvc.servicereq.hardship.models import HardshipRecord
from cardsvc.servicereq.models import ServiceAttachment, ServiceRequest, ServiceStep


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


async def export_requests(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    out = []
    for r in await session.scalars(
        select(ServiceRequest).where(ServiceRequest.member_id == member_id)
    ):
        steps = await session.scalars(
            select(ServiceStep).where(ServiceStep.request_id == r.id).order_by(ServiceStep.at)
        )
        files = await session.scalars(
            select(ServiceAttachment).where(ServiceAttachment.request_id == r.id)
        )
        out.append(
            {
                "ref_no": r.ref_no,
                "kind": r.kind.value,
                "status": r.status.value,
                "title": r.title,
                "description": r.description,
                "outcome": r.outcome,
                "rating": r.rating,
                "submitted_at": _iso(r.submitted_at),
                "closed_at": _iso(r.closed_at),
                "steps": [
                    {"kind": s.kind, "at": _iso(s.at), "note": s.note, "amount_fen": s.amount_fen}
                    for s in steps
                ],
                "attachments": [
                    {"filename": a.filename, "media_type": a.media_type, "sha256": a.sha256}
                    for a in files
                ],
            }
        )
    return out


async def export_hardship(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "status": h.status.value,
            "category": h.category.value,
            "level": h.level,
            "circumstances": h.circumstances,
            "applied_at": _iso(h.applied_at),
            "decided_at": _iso(h.decided_at),
            "review_on": _iso(h.review_on),
        }
        for h in await session.scalars(
            select(HardshipRecord).where(HardshipRecord.member_id == member_id)
        )
    ]


async def export_notifications(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {"topic": n.topic, "title": n.title, "body": n.body, "at": _iso(n.created_at)}
        for n in await session.scalars(
            select(Notification).where(Notification.member_id == member_id)
        )
    ]


async def erase_member(session: AsyncSession, member_id: uuid.UUID) -> int:
    """Delete the member's requests (with steps and attachment rows), hardship records and
    notifications; returns the rows deleted."""
    ids = list(
        await session.scalars(
            select(ServiceRequest.id).where(ServiceRequest.member_id == member_id)
        )
    )
    n = 0
    for stmt in (
        delete(Notification).where(Notification.member_id == member_id),
        delete(HardshipRecord).where(HardshipRecord.member_id == member_id),
        delete(ServiceStep).where(ServiceStep.request_id.in_(ids)),
        delete(ServiceAttachment).where(ServiceAttachment.request_id.in_(ids)),
        delete(ServiceRequest).where(ServiceRequest.id.in_(ids)),
    ):
        result = await session.execute(stmt.execution_options(synchronize_session=False))
        n += int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
    return n


async def purge_notifications(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    """Notifications (member and staff) older than ``notification_retention_days``."""
    t = cast(Table, Notification.__table__)  # a declarative model's: a Table
    cutoff = now - timedelta(days=settings.notification_retention_days)
    return await purge_older(session, t, [t.c.created_at < cutoff], limit)


# An upload stores its file before its row commits, and touches a file it finds already there:
# a file changed this recently may be about to be referred to, and is left for the next sweep.
SWEEP_GRACE = timedelta(minutes=15)


def _idle_files(root: Path, before: float) -> list[Path]:
    if not root.is_dir():
        return []
    return [
        p
        for p in root.glob("??/*")
        if not p.name.startswith(".") and p.is_file() and p.stat().st_mtime < before
    ]


async def sweep_attachment_files(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    """Delete up to ``limit`` attachment files that no attachment row refers to."""
    before = (now - SWEEP_GRACE).timestamp()
    deleted = 0
    files = _idle_files(attachment_dir(settings), before)
    for i in range(0, len(files), 500):
        chunk = {p.name: p for p in files[i : i + 500]}
        used = set(
            await session.scalars(
                select(ServiceAttachment.sha256).where(ServiceAttachment.sha256.in_(chunk))
            )
        )
        for name, path in chunk.items():
            if name in used or deleted >= limit:
                continue
            try:
                if path.stat().st_mtime < before:  # not touched by an upload meanwhile
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue
    return deleted


def servicereq_parts() -> PrivacyParts:
    return PrivacyParts(
        export_sections={
            "service_requests": export_requests,
            "hardship_records": export_hardship,
            "notifications": export_notifications,
        },
        erase_hooks={"service_requests_deleted": erase_member},
        purges={"notifications": purge_notifications},
        file_sweeps={"attachment_files_deleted": sweep_attachment_files},
    )
