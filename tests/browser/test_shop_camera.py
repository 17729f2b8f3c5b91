"""The camera path of the shop page: zxing-wasm loads from the app (never a CDN) and decodes
the QR the member's phone shows; a (fake) camera stream goes through the same scan form.

Headless Chromium has no real camera; Chromium's fake capture device plays a Y4M file, so the
getUserMedia → canvas frame → zxing → scan loop runs for real on a QR picture."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import BrowserType, Page, expect

from cardsvc.cards.render import qr_png
from tests.browser.conftest import Live, shot
from tests.support.shop import Member, member_phone, sign_in_till, terminal

DECODE_PNG = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  // ImageData, as a camera frame is read in shop-scan.js.
  return await window.uc.shop.decode(ctx.getImageData(0, 0, canvas.width, canvas.height));
}"""


def test_zxing_decodes_the_members_qr_from_app_assets(live: Live, page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    member = Member(live, member_phone(live))
    sign_in_till(page, live, terminal(live, "cinema")["key"])
    expect(page.get_by_role("button", name="摄像头扫码")).to_be_visible()

    # The QR image the member's phone shows (the card service's own rendering).
    png = member.client.get("/api/v1/me/card/qr.png")
    assert png.status_code == 200
    page.wait_for_function("() => window.uc && window.uc.shop && window.uc.shop.decode")
    text = page.evaluate(DECODE_PNG, base64.b64encode(png.content).decode())
    assert isinstance(text, str) and text.startswith("UC1") and len(text) == 147
    # And a code we know, rendered the same way: decoded to exactly that text.
    code = member.token()
    assert page.evaluate(DECODE_PNG, base64.b64encode(qr_png(code)).decode()) == code
    # Nothing that is not a QR code is read as one.
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, "PNG")
    assert page.evaluate(DECODE_PNG, base64.b64encode(blank.getvalue()).decode()) is None

    wasm = [u for u in requested if u.split("?")[0].endswith(".wasm")]
    assert wasm and all(u.startswith(live.url + "/assets/vendor/zxing-wasm/") for u in wasm)
    assert all(u.startswith(live.url) for u in requested), requested

    # What the camera loop does with a decoded code: the same scan form as the scanner.
    page.evaluate("t => window.uc.shop.useDecoded(t)", code)
    expect(page.locator(".shop-benefit[data-program='YC-CINEMA']")).to_be_visible()
    member.close()


def _y4m(png: bytes, path: Path, width: int = 640, height: int = 480) -> None:
    """A short grey-scale Y4M video of the QR on white (Chromium's fake camera plays it)."""
    qr = Image.open(io.BytesIO(png)).convert("L")
    side = min(width, height) - 40
    frame = Image.new("L", (width, height), 255)
    frame.paste(qr.resize((side, side), Image.Resampling.NEAREST), ((width - side) // 2, 20))
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            f.write(b"FRAME\n" + frame.tobytes() + chroma)


def test_the_camera_scans_a_qr_into_the_scan_form(
    live: Live,
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, Any],
    tmp_path: Path,
) -> None:
    member = Member(live, member_phone(live))
    video = tmp_path / "qr.y4m"
    _y4m(qr_png(member.token()), video)
    browser = browser_type.launch(
        **browser_type_launch_args,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        context.grant_permissions(["camera"], origin=live.url)
        page = context.new_page()
        sign_in_till(page, live, terminal(live, "cinema")["key"])
        page.get_by_role("button", name="摄像头扫码").click()
        # The stream is read, the QR decoded, the camera closed and the code scanned.
        expect(page.locator(".shop-benefit[data-program='YC-CINEMA']")).to_be_visible(
            timeout=20_000
        )
        expect(page.locator("#camera")).to_be_hidden()
        shot(page, "shop-camera-scanned")
        context.close()
    finally:
        browser.close()
        member.close()
