"""A store's photos, uploaded by staff (the console or the API) and shown on its public page.

An upload goes through the service requests' checks (one file, size-limited, type recognised by
its content) and is then decoded and re-encoded with Pillow as a JPEG of at most
``MAX_SIDE`` px a side: nothing of the original file survives (no EXIF, so no GPS position or
camera serial; the EXIF orientation is applied first so that the photo stands the right way).
The JPEG is stored by the service requests' ``store_bytes`` under its SHA-256, in its own
folder, and the store's ordered photo list (``Store.photos``, at most ``MAX_PHOTOS``) gets its
URL, which is public while the store is listed. Reordering and removing go through the listing
(``set_details``), uploading and removing are audited.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings
from pathlib import Path

import anyio.to_thread
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError, Conflict, NotFound
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.public import attachment_dir, sniff, store_bytes
from merchants.directory.edit import MAX_PHOTOS, set_details
from merchants.models import Merchant, MerchantStatus, Store, StoreStatus
from merchants.onboarding.service import get_store

MAX_SIDE = 1600  # px: sharp on a phone, a few hundred KB
MAX_PIXELS = 40_000_000  # refused before decoding: a small file may claim a huge image
JPEG_QUALITY = 82
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_PHOTO_ID = re.compile(r"^[0-9a-f]{64}$")


class PhotoType(AppError):
    status = 415
    code = "photo_type"
    message_zh = "只能上传 JPEG、PNG 或 WebP 格式的照片"
    message_en = "Only JPEG, PNG and WebP photos are accepted"


class PhotoUnreadable(AppError):
    status = 422
    code = "photo_unreadable"
    message_zh = "无法读取该照片，文件可能已损坏"
    message_en = "The photo cannot be read; the file may be damaged"


class PhotoTooManyPixels(AppError):
    status = 413
    code = "photo_too_many_pixels"
    message_zh = "照片像素过多（最多 4000 万像素），请缩小后再上传"
    message_en = "The photo has too many pixels (40 megapixels at most); shrink it first"


class PhotoNotFound(NotFound):
    code = "photo_not_found"
    message_zh = "未找到该照片"
    message_en = "Photo not found"


def photo_path(settings: Settings, sha256: str) -> Path:
    """Beside the service-request attachments, in a folder their sweep never reads."""
    return attachment_dir(settings) / "store-photos" / sha256[:2] / sha256


def photo_url(store_id: uuid.UUID, photo_id: str) -> str:
    return f"/api/v1/stores/{store_id}/photos/{photo_id}"


def photo_id_of(url: str) -> str | None:
    """The id (SHA-256) of an uploaded photo's URL; None for a photo elsewhere."""
    head, _, tail = url.rpartition("/photos/")
    return tail if head.startswith("/api/v1/stores/") and _PHOTO_ID.match(tail) else None


def reencode(data: bytes) -> bytes:
    """The photo as a fresh JPEG: upright, at most MAX_SIDE a side, no metadata at all."""
    if sniff(data[:64]) not in PHOTO_TYPES:
        raise PhotoType()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise PhotoTooManyPixels()
                im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a JPEG decodes at a reduced scale
                upright = ImageOps.exif_transpose(im)
                upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                rgba = upright.convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoTooManyPixels() from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError, TypeError):
        # A damaged file or odd metadata: what Pillow raises for it, never a 500.
        raise PhotoUnreadable() from None
    # Drawn onto a new image (transparency onto white): no info, EXIF, XMP or ICC carried over.
    clean = Image.new("RGB", rgba.size, (255, 255, 255))
    clean.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _room(store: Store) -> None:
    if store.status != StoreStatus.active:
        raise Conflict("store_closed", "该门店已关闭", "The store is closed")
    if len(store.photos or ()) >= MAX_PHOTOS:
        raise Conflict(
            "too_many_photos",
            f"每家门店最多 {MAX_PHOTOS} 张照片，请先删除一张",
            f"A store may have at most {MAX_PHOTOS} photos; remove one first",
        )


async def check_room(session: AsyncSession, actor: Principal, store_id: uuid.UUID) -> None:
    """Refuse before the body is read: no such store in the actor's scope, closed, or full."""
    store, _ = await get_store(session, actor, store_id, Perm.merchants_write)
    _room(store)


async def add_photo(
    session: AsyncSession,
    settings: Settings,
    actor: Principal,
    store_id: uuid.UUID,
    data: bytes,
) -> tuple[Store, str]:
    """Re-encode, store and append the photo; (the store, the photo's id). The same photo
    uploaded again is one photo."""
    store, merchant = await get_store(session, actor, store_id, Perm.merchants_write)
    # PostgreSQL: two uploads at once append one after the other, neither is lost.
    await session.refresh(store, ["photos", "status"], with_for_update=True)
    _room(store)
    jpeg = await anyio.to_thread.run_sync(reencode, data)
    photo_id, _ = store_bytes(settings, jpeg, photo_path)
    url = photo_url(store.id, photo_id)
    if url not in (store.photos or ()):
        store.photos = [*(store.photos or ()), url]
    record(
        session,
        actor,
        "store.photo",
        target_type="store",
        target_id=store.id,
        org_path=merchant.org_path,
        summary={"photo": photo_id, "size": len(jpeg), "photos": len(store.photos or ())},
    )
    return store, photo_id


def _url_of(store: Store, photo_id: str) -> str:
    for url in store.photos or ():
        if photo_id_of(url) == photo_id:
            return url
    raise PhotoNotFound()


async def remove_photo(
    session: AsyncSession, actor: Principal, store_id: uuid.UUID, photo_id: str
) -> Store:
    """Take the photo off the store (the listing's change, audited as such)."""
    store, _ = await get_store(session, actor, store_id, Perm.merchants_write)
    await session.refresh(store, ["photos"], with_for_update=True)
    url = _url_of(store, photo_id)
    return await set_details(
        session, actor, store_id, photos=[u for u in store.photos or () if u != url]
    )


async def photo_first(
    session: AsyncSession, actor: Principal, store_id: uuid.UUID, photo_id: str
) -> Store:
    """Make the photo the store's first (its cover in lists)."""
    store, _ = await get_store(session, actor, store_id, Perm.merchants_write)
    await session.refresh(store, ["photos"], with_for_update=True)
    url = _url_of(store, photo_id)
    return await set_details(
        session, actor, store_id, photos=[url, *(u for u in store.photos or () if u != url)]
    )


async def read_photo(
    session: AsyncSession, settings: Settings, store_id: uuid.UUID, photo_id: str
) -> bytes:
    """A listed store's photo, for anyone: the store and its merchant open, the photo on it."""
    photos = await session.scalar(
        select(Store.photos)
        .join(Merchant, Merchant.id == Store.merchant_id)
        .where(
            Store.id == store_id,
            Store.status == StoreStatus.active,
            Merchant.status == MerchantStatus.active,
        )
    )
    if not _PHOTO_ID.match(photo_id) or photo_url(store_id, photo_id) not in (photos or ()):
        raise PhotoNotFound()
    path = photo_path(settings, photo_id)
    if not path.exists():
        raise PhotoNotFound()
    return await anyio.Path(path).read_bytes()
