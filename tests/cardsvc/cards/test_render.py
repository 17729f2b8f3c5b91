"""Rendered QR codes and card images, read back with a real decoder (zxing-cpp)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from cardsvc.cards import render
from cardsvc.cards.errors import CardError
from cardsvc.cards.token import Claims, Kind, encode
from cardsvc.kernel.masking import mask_name

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
T0 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
ROTATING = encode(Claims(1, Kind.rotating, 123456, b"\x11" * 8, 3, T0, T0 + 60), KEY)
STATIC = encode(Claims(1, Kind.static, 7, b"\x22" * 8, 1, T0, T0 + 3 * 365 * 86400), KEY)
LATIN_ONLY_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def read(png: bytes) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("ecc", ["M", "Q"])
@pytest.mark.parametrize("text", [ROTATING, STATIC])
def test_qr_png_decodes_to_the_exact_token(text: str, ecc: render.Ecc) -> None:
    png = render.qr_png(text, ecc=ecc)
    assert png.startswith(b"\x89PNG")
    [code] = read(png)
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == text and code.ec_level == ecc


def test_rotating_token_is_qr_version_6_at_m() -> None:
    [code] = read(render.qr_png(ROTATING, ecc="M"))
    assert (
        isinstance(code.extra, dict) and code.extra["Version"] == "6"
    )  # the decoder's own reading, not our encoder's
    assert render.qr_version(ROTATING, ecc="M") == 6


def test_qr_svg_matches_the_matrix_and_decodes() -> None:
    svg = render.qr_svg(ROTATING)
    assert svg.startswith("<svg") and 'viewBox="0 0 49 49"' in svg
    # Rebuild the module matrix from the path and compare with the encoder's matrix.
    matrix = render.qr_matrix(ROTATING)
    n = len(matrix)
    rebuilt = [[False] * n for _ in range(n)]
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        for i in range(int(x), int(x) + int(w)):
            rebuilt[int(y)][i] = True
    assert rebuilt == matrix
    # …and those modules, drawn, read back as the token.
    img = Image.frombytes("L", (n, n), bytes(0 if m else 255 for row in rebuilt for m in row))
    [code] = zxingcpp.read_barcodes(img.resize((n * 6, n * 6), Image.Resampling.NEAREST))
    assert code.text == ROTATING


def test_card_png_renders_and_its_qr_decodes() -> None:
    png = render.card_png(
        union_name="北京市朝阳区建筑业工会联合会",
        member_name="欧阳娜娜",
        card_number="9000000000000017",
        token_text=STATIC,
    )
    img = Image.open(io.BytesIO(png))
    assert img.size == render.CARD_SIZE
    [code] = zxingcpp.read_barcodes(img)
    assert code.text == STATIC and code.ec_level == "Q"


def test_card_text_is_drawn_with_real_glyphs() -> None:
    """Two different Chinese names must give different pixels (tofu boxes would not)."""
    common: dict[str, Any] = {
        "union_name": "测试工会",
        "card_number": "9000000000000017",
        "token_text": STATIC,
    }
    a = render.card_png(member_name="张三明", mask=False, **common)
    b = render.card_png(member_name="李四光", mask=False, **common)
    assert a != b


def test_missing_cjk_font_is_a_clear_error() -> None:
    with pytest.raises(CardError) as info:
        render.card_png(
            union_name="测试工会",
            member_name="张三",
            card_number="9000000000000017",
            token_text=STATIC,
            font_path=LATIN_ONLY_FONT,
        )
    err = info.value
    assert err.code == "cjk_font_missing" and "中文字体" in err.message_zh
    assert "fonts-wqy-microhei" in err.message_en and "no glyph for" in err.message_en


def test_no_font_at_all_is_a_clear_error() -> None:
    with pytest.raises(CardError) as info:
        render.find_cjk_font("工会", candidates=[("/nonexistent/font.ttc", 0)])
    assert info.value.code == "cjk_font_missing" and "not found" in info.value.message_en
    with pytest.raises(CardError):
        render.find_cjk_font("工会", font_path=__file__)  # not a font file


def test_installed_cjk_font_covers_common_text() -> None:
    font = render.find_cjk_font("中华全国总工会 会员 张三明 0123456789")
    assert render.missing_glyphs(font, "工会会员卡姓名卡号：") == ""
    assert render.missing_glyphs(render.FontChoice(LATIN_ONLY_FONT, 0), "工会A") == "会工"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三明", "张*明"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("王", "*"), (" 李四 ", "李*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_read_qr_from_bytes_and_path(tmp_path) -> None:
    png = render.qr_png(ROTATING)
    assert render.read_qr(png) == ROTATING
    path = tmp_path / "code.png"
    path.write_bytes(png)
    assert render.read_qr(path) == ROTATING
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, "PNG")
    with pytest.raises(CardError) as info:
        render.read_qr(blank.getvalue())
    assert info.value.code == "qr_unreadable"
