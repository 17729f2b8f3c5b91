"""A store's photos through the API: uploaded by staff in the store's subtree, re-encoded (the
EXIF and its GPS position gone, upright, bounded), listed on the public page in order,
reordered and removed, refused with a stable code when wrong; audited. On both engines."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from merchants.directory.edit import MAX_PHOTOS
from tests.merchants.conftest import onboard, org_id
from tests.merchants.directory.helpers import Client, located_store
from tests.support.staff import login

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_gps(size: tuple[int, int] = (400, 200), colour: str = "red") -> bytes:
    """A phone's photo: EXIF with a GPS position, a camera, and "rotate 90°" (orientation 6)."""
    im = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (30.0, 41.0, 47.0), 3: "E", 4: (111.0, 17.0, 8.0)}
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def image(fmt: str, size: tuple[int, int] = (64, 48), colour: Any = "blue") -> bytes:
    mode = "RGBA" if fmt == "PNG" else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


async def _store(client: Client, engine: AsyncEngine) -> tuple[str, str]:
    await login(client, "yc.merchants")
    made = await onboard(client, await org_id(engine, "HB-YC-XL"))
    mid = made["merchant"]["id"]
    return mid, await located_store(client, mid, 44.2, 87.2)


async def test_a_photo_loses_its_metadata_and_stands_upright(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    _, sid = await _store(client, engine)
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original and Image.open(io.BytesIO(original)).getexif()
    r = await client.post(
        f"/api/v1/stores/{sid}/photos", files={"file": ("门头.jpg", original, "image/jpeg")}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["photos"] == [body["url"]] and body["url"].endswith("/" + body["id"])

    page = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    assert page["photos"] == [body["url"]]
    client.cookies.clear()  # anyone may see a listed store's photo
    got = await client.get(body["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert "public" in got.headers["cache-control"] and got.headers["etag"] == f'"{body["id"]}"'
    shown = Image.open(io.BytesIO(got.content))
    assert shown.format == "JPEG" and shown.size == (200, 400)  # the orientation applied
    assert not shown.getexif() and "exif" not in shown.info and "icc_profile" not in shown.info
    assert b"PhoneMaker" not in got.content and b"Exif" not in got.content

    await login(client, "yc.merchants")
    async with make_sessionmaker(engine)() as s:
        entry = await s.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "store.photo", AuditEntry.target_id == sid
            )
        )
    assert entry is not None and entry.summary["photo"] == body["id"]


async def test_big_pngs_and_webps_are_bounded_jpegs(
    client: Client, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    _, sid = await _store(client, engine)
    url = f"/api/v1/stores/{sid}/photos"
    big = await client.post(url, files={"file": ("a.png", image("PNG", (3200, 1200)), "image/png")})
    assert big.status_code == 201, big.text
    webp = await client.post(url, files={"file": ("b.webp", image("WEBP"), "image/webp")})
    assert webp.status_code == 201, webp.text
    sizes = []
    for photo in webp.json()["photos"]:
        got = await client.get(photo)
        im = Image.open(io.BytesIO(got.content))
        assert im.format == "JPEG"
        sizes.append(im.size)
    assert sizes == [(1600, 600), (64, 48)]


async def test_order_remove_limits_and_refusals(
    client: Client, engine: AsyncEngine, demo: dict[str, Any], wjg_merchants: str
) -> None:
    _, sid = await _store(client, engine)
    url = f"/api/v1/stores/{sid}/photos"
    urls: list[str] = []
    for i in range(MAX_PHOTOS):
        r = await client.post(
            url, files={"file": ("p.png", image("PNG", colour=(i * 25, 0, 0, 255)), "image/png")}
        )
        assert r.status_code == 201, r.text
        urls = r.json()["photos"]
    assert len(urls) == MAX_PHOTOS
    full = await client.post(url, files={"file": ("p.png", image("PNG"), "image/png")})
    assert full.status_code == 409 and full.json()["code"] == "too_many_photos"

    # The same photo again is the one photo (not a second copy).
    again = await client.patch(f"/api/v1/stores/{sid}/listing", json={"photos": urls[1:]})
    assert again.status_code == 200, again.text
    r = await client.post(
        url, files={"file": ("p.png", image("PNG", colour=(25, 0, 0, 255)), "image/png")}
    )
    assert r.status_code == 201 and r.json()["photos"] == urls[1:]

    # Reordered through the listing; a path that is not one of this store's photos is refused.
    flipped = list(reversed(urls[1:]))
    r = await client.patch(f"/api/v1/stores/{sid}/listing", json={"photos": flipped})
    assert r.status_code == 200 and r.json()["photos"] == flipped
    page = (await client.get(f"/api/v1/stores/{sid}/public")).json()
    assert page["photos"] == flipped
    for bad in (["/m/logout"], [urls[0]], [flipped[0], flipped[0]]):
        r = await client.patch(f"/api/v1/stores/{sid}/listing", json={"photos": bad})
        assert r.status_code == 422 and r.json()["code"] == "validation_error", (bad, r.text)

    photo_id = flipped[0].rsplit("/", 1)[1]
    gone = await client.delete(f"{url}/{photo_id}")
    assert gone.status_code == 200 and gone.json()["photos"] == flipped[1:]
    assert (await client.get(flipped[0])).status_code == 404
    again_gone = await client.delete(f"{url}/{photo_id}")
    assert again_gone.status_code == 404 and again_gone.json()["code"] == "photo_not_found"

    # Wrong files: a stable code each, nothing added.
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    truncated = jpeg_with_gps()[:300]
    for files, status, code in [
        ({"file": ("menu.pdf", pdf, "application/pdf")}, 415, "photo_type"),
        ({"file": ("x.jpg", b"not an image at all", "image/jpeg")}, 415, "photo_type"),
        ({"file": ("x.jpg", truncated, "image/jpeg")}, 422, "photo_unreadable"),
        ({"other": ("x.jpg", image("JPEG"), "image/jpeg")}, 400, None),
    ]:
        r = await client.post(url, files=files)
        assert r.status_code == status and r.json()["code"], r.text
        if code:
            assert r.json()["code"] == code
    r = await client.post(url, content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    assert (await client.get(f"/api/v1/stores/{sid}/public")).json()["photos"] == flipped[1:]
    assert (await client.get(f"{url}/{'0' * 64}")).status_code == 404
    assert (await client.get(f"{url}/..%2F..%2Fetc")).status_code == 404

    # Another district's staff do not find the store; a closed store's photos are gone.
    await login(client, wjg_merchants)
    r = await client.post(url, files={"file": ("p.png", image("PNG"), "image/png")})
    assert r.status_code == 404 and r.json()["code"] == "store_not_found"
    r = await client.delete(f"{url}/{flipped[1].rsplit('/', 1)[1]}")
    assert r.status_code == 404 and r.json()["code"] == "store_not_found"
    await login(client, "yc.merchants")
    closed = await client.post(f"/api/v1/stores/{sid}/close", json={"reason": "门店停业"})
    assert closed.status_code == 200, closed.text
    assert (await client.get(flipped[1])).status_code == 404
    r = await client.post(url, files={"file": ("p.png", image("PNG"), "image/png")})
    assert r.status_code == 409 and r.json()["code"] == "store_closed"
