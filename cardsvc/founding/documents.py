"""An application's documents: the same checks as service-request attachments (recognised by
content, size- and count-limited), kept in their own folder under the attachment folder so
that the service-request sweep of unreferenced files never sees them."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.models import OPEN_FOUNDING, FoundingApplication, FoundingDocument
from cardsvc.founding.service import add_step
from cardsvc.kernel.errors import Conflict, NotFound
from cardsvc.kernel.settings import Settings
from cardsvc.servicereq.attachments import (
    attachment_dir,
    clean_filename,
    store_bytes,
)


def document_path(settings: Settings, sha256: str) -> Path:
    return attachment_dir(settings) / "founding" / sha256[:2] / sha256


async def check_room(session: AsyncSession, settings: Settings, app: FoundingApplication) -> None:
    """Refuse before reading the body: a decided application, or one already full."""
    if app.status not in OPEN_FOUNDING:
        raise Conflict(
            "founding_closed",
            "该申请已办结，不能再上传材料",
            "The application is decided; no more documents",
        )
    count = await session.scalar(
        select(func.count())
        .select_from(FoundingDocument)
        .where(FoundingDocument.application_id == app.id)
    )
    if int(count or 0) >= settings.attachment_max_count:
        raise Conflict(
            "too_many_attachments",
            f"每个申请最多 {settings.attachment_max_count} 份材料",
            f"An application may have at most {settings.attachment_max_count} documents",
        )


async def add_document(
    session: AsyncSession,
    settings: Settings,
    app: FoundingApplication,
    *,
    data: bytes,
    filename: str | None,
    actor: str,
    now: datetime,
) -> FoundingDocument:
    await check_room(session, settings, app)
    digest, media_type = store_bytes(settings, data, document_path)
    doc = FoundingDocument(
        application_id=app.id,
        filename=clean_filename(filename, media_type),
        media_type=media_type,
        size=len(data),
        sha256=digest,
    )
    session.add(doc)
    await session.flush()
    add_step(session, app, "document", actor, now=now, note=doc.filename)
    return doc


async def documents_of(session: AsyncSession, app: FoundingApplication) -> list[FoundingDocument]:
    return list(
        await session.scalars(
            select(FoundingDocument)
            .where(FoundingDocument.application_id == app.id)
            .order_by(FoundingDocument.created_at)
        )
    )


async def get_document(
    session: AsyncSession, app: FoundingApplication, doc_id: uuid.UUID
) -> FoundingDocument:
    doc = await session.get(FoundingDocument, doc_id)
    if doc is None or doc.application_id != app.id:
        raise NotFound("attachment_not_found", "未找到该材料", "Document not found")
    return doc


def read_document(settings: Settings, doc: FoundingDocument) -> bytes:
    path = document_path(settings, doc.sha256)
    if not path.exists():
        raise NotFound("attachment_not_found", "材料文件已不存在", "The file is gone")
    return path.read_bytes()
