"""Attachments: images and PDFs, recognised by their content (never by the name or the
declared type), size- and count-limited, stored outside the database under their SHA-256
(``UNIONCARD_ATTACHMENT_DIR``, mode 0600; the same bytes are stored once)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, Conflict, NotFound
from cardsvc.kernel.settings import Settings
from cardsvc.servicereq.models import OPEN_STATUSES, ServiceAttachment, ServiceRequest


class AttachmentTooLarge(AppError):
    status = 413
    code = "attachment_too_large"


class AttachmentType(AppError):
    status = 415
    code = "attachment_type"
    message_zh = "只能上传图片（JPEG、PNG、WebP、HEIC）或 PDF 文件"
    message_en = "Only images (JPEG, PNG, WebP, HEIC) and PDF files are accepted"


def attachment_dir(settings: Settings) -> Path:
    return settings.attachment_dir or settings.var_dir / "attachments"


def sniff(head: bytes) -> str | None:
    """The media type the bytes actually are, or None when not one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim"):
        return "image/heic"
    if head.lstrip(b"\r\n\t ")[:5] == b"%PDF-":
        return "application/pdf"
    return None


_EXT = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}


def clean_filename(name: str | None, media_type: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "_", base)[:120]
    return base or f"attachment.{_EXT[media_type]}"


def too_large(settings: Settings) -> AttachmentTooLarge:
    mb = settings.attachment_max_mb
    return AttachmentTooLarge(
        message_zh=f"单个附件不能超过 {mb} MB", message_en=f"An attachment may be at most {mb} MB"
    )


def stored_path(settings: Settings, sha256: str) -> Path:
    return attachment_dir(settings) / sha256[:2] / sha256


async def check_room(session: AsyncSession, settings: Settings, req: ServiceRequest) -> None:
    """Refuse before reading the body: a closed request, or one already holding the maximum."""
    if req.status not in OPEN_STATUSES:
        raise Conflict(
            "request_closed",
            "该申请已办结或已关闭，不能再上传附件",
            "The request is closed; no more attachments",
        )
    count = await session.scalar(
        select(func.count())
        .select_from(ServiceAttachment)
        .where(ServiceAttachment.request_id == req.id)
    )
    if int(count or 0) >= settings.attachment_max_count:
        raise Conflict(
            "too_many_attachments",
            f"每个申请最多 {settings.attachment_max_count} 个附件",
            f"A request may have at most {settings.attachment_max_count} attachments",
        )


def store_bytes(
    settings: Settings,
    data: bytes,
    path_of: Callable[[Settings, str], Path] = stored_path,
) -> tuple[str, str]:
    """Check and store the bytes at ``path_of(settings, sha256)``; (sha256, media type)."""
    if len(data) > settings.attachment_max_mb * 1024 * 1024:
        raise too_large(settings)
    if not data:
        raise AppError("attachment_empty", "附件为空", "The attachment is empty")
    media_type = sniff(data[:64])
    if media_type is None:
        raise AttachmentType()
    digest = hashlib.sha256(data).hexdigest()
    path = path_of(settings, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{digest}.{os.getpid()}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    else:
        # Fresh again: the sweep of unreferenced files leaves it until this upload's row is in.
        os.utime(path)
    return digest, media_type


async def add_attachment(
    session: AsyncSession,
    settings: Settings,
    req: ServiceRequest,
    *,
    data: bytes,
    filename: str | None,
    uploaded_by: str,
) -> ServiceAttachment:
    await check_room(session, settings, req)
    digest, media_type = store_bytes(settings, data)
    att = ServiceAttachment(
        request_id=req.id,
        filename=clean_filename(filename, media_type),
        media_type=media_type,
        size=len(data),
        sha256=digest,
        uploaded_by=uploaded_by,
    )
    session.add(att)
    await session.flush()
    return att


async def get_attachment(
    session: AsyncSession, req: ServiceRequest, attachment_id: object
) -> ServiceAttachment:
    att = await session.scalar(
        select(ServiceAttachment).where(
            ServiceAttachment.id == attachment_id, ServiceAttachment.request_id == req.id
        )
    )
    if att is None:
        raise NotFound("attachment_not_found", "未找到该附件", "Attachment not found")
    return att


async def list_attachments(session: AsyncSession, req: ServiceRequest) -> list[ServiceAttachment]:
    return list(
        await session.scalars(
            select(ServiceAttachment)
            .where(ServiceAttachment.request_id == req.id)
            .order_by(ServiceAttachment.created_at)
        )
    )
