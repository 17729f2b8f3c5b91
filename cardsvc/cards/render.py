"""QR codes (PNG, SVG) and the printable card image.

QR encoding is the ``qrcode`` package's; the pixels are drawn from its module matrix (one
Pillow resize instead of a rectangle per module). The card image needs a font with every glyph
of its text: :func:`find_cjk_font` checks the font's character map before drawing and raises
``cjk_font_missing`` instead of printing boxes (豆腐块). Fonts looked for, in order: the
``font_path`` argument, then Debian's ``fonts-wqy-microhei`` (the one the project installs),
``fonts-noto-cjk``, ``fonts-wqy-zenhei`` and ``fonts-droid-fallback``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

from cardsvc.cards.errors import CardError
from cardsvc.kernel.masking import mask_name

Ecc = Literal["L", "M", "Q", "H"]
_ECC = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
SCREEN_ECC: Ecc = "M"  # phone screens: smallest code that stays readable
PRINT_ECC: Ecc = "Q"  # printed cards get scratched and bent

# (path, face index inside a .ttc); the first one present that covers the text is used.
CJK_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2 = Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
FONT_SETUP_HINT = "apt-get install fonts-wqy-microhei"


# --- QR -------------------------------------------------------------------------------------


def qr_matrix(text: str, *, ecc: Ecc = SCREEN_ECC, border: int = 4) -> list[list[bool]]:
    """Module matrix (True = dark), quiet zone of ``border`` modules included."""
    qr = qrcode.QRCode(error_correction=_ECC[ecc], border=border)
    qr.add_data(text, optimize=0)  # one segment: our text is all alphanumeric
    qr.make(fit=True)
    return qr.get_matrix()


def qr_version(text: str, *, ecc: Ecc = SCREEN_ECC) -> int:
    qr = qrcode.QRCode(error_correction=_ECC[ecc])
    qr.add_data(text, optimize=0)
    qr.make(fit=True)
    return int(qr.version)


def qr_image(text: str, *, ecc: Ecc = SCREEN_ECC, scale: int = 8, border: int = 4) -> Image.Image:
    matrix = qr_matrix(text, ecc=ecc, border=border)
    n = len(matrix)
    # Mode "L": 0 = black module, 255 = white.
    small = Image.frombytes("L", (n, n), bytes(0 if m else 255 for row in matrix for m in row))
    return small.resize((n * scale, n * scale), Image.Resampling.NEAREST)


def qr_png(text: str, *, ecc: Ecc = SCREEN_ECC, scale: int = 8, border: int = 4) -> bytes:
    buf = io.BytesIO()
    qr_image(text, ecc=ecc, scale=scale, border=border).convert("1").save(buf, "PNG")
    return buf.getvalue()


def qr_svg(text: str, *, ecc: Ecc = SCREEN_ECC, border: int = 4) -> str:
    """SVG in module units (scale it with width/height or CSS); dark runs as one path."""
    matrix = qr_matrix(text, ecc=ecc, border=border)
    n = len(matrix)
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'width="{n * 8}" height="{n * 8}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )


def read_qr(image: bytes | str | Path) -> str:
    """Text of the (single) QR code in a PNG/JPEG given as bytes or a path (CLI ``--image``).

    Raises ``qr_unreadable`` when the decoder finds no QR code.
    """
    import zxingcpp  # imported on first use: only the CLI and tests read images

    with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as img:
        codes = zxingcpp.read_barcodes(
            img, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    if not codes:
        raise CardError("qr_unreadable")
    return str(codes[0].text)


# --- fonts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontChoice:
    path: str
    index: int


@lru_cache(maxsize=16)
def _codepoints(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # imported on first use: only card images need it

    with TTFont(path, fontNumber=index, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(cmap)


def missing_glyphs(font: FontChoice, text: str) -> str:
    """Characters of ``text`` (other than whitespace) that the font has no glyph for."""
    have = _codepoints(font.path, font.index)
    return "".join(sorted({c for c in text if not c.isspace() and ord(c) not in have}))


def find_cjk_font(
    text: str,
    *,
    font_path: str | Path | None = None,
    font_index: int = 0,
    candidates: Iterable[tuple[str, int]] = CJK_FONT_CANDIDATES,
) -> FontChoice:
    """The first font that covers every character of ``text``, or ``cjk_font_missing``."""
    options = [(str(font_path), font_index)] if font_path else list(candidates)
    tried: list[str] = []
    for path, index in options:
        if not Path(path).is_file():
            tried.append(f"{path} (not found)")
            continue
        choice = FontChoice(path, index)
        try:
            missing = missing_glyphs(choice, text)
        except Exception as exc:  # fontTools raises several types for a non-font file
            tried.append(f"{path} (unreadable: {type(exc).__name__})")
            continue
        if not missing:
            return choice
        tried.append(f"{path} (no glyph for {missing[:20]!r})")
    raise CardError(
        "cjk_font_missing",
        f"No CJK font covers the card text; install one ({FONT_SETUP_HINT}). "
        f"Tried: {'; '.join(tried)}",
        tried=tried,
    )


# --- card image -----------------------------------------------------------------------------


def group_card_number(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


CARD_SIZE = (1011, 638)  # ISO/IEC 7810 ID-1 (85.6 × 54 mm) at 300 dpi
CARD_TITLE = "工会会员卡"
CARD_SUBTITLE = "Trade Union Membership Card"
_RED = (196, 24, 32)
_INK = (33, 33, 33)


def card_png(
    *,
    union_name: str,
    member_name: str,
    card_number: str,
    token_text: str,
    font_path: str | Path | None = None,
    font_index: int = 0,
    mask: bool = True,
    ecc: Ecc = PRINT_ECC,
) -> bytes:
    """The printable card: union name, (masked) member name, card number and the QR.

    Raises ``cjk_font_missing`` before drawing anything if no font has all the glyphs.
    """
    shown_name = mask_name(member_name) if mask else member_name.strip()
    number = group_card_number(card_number)
    font = find_cjk_font(
        union_name + shown_name + number + CARD_TITLE + CARD_SUBTITLE + "姓名卡号：",
        font_path=font_path,
        font_index=font_index,
    )

    def face(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(font.path, size, index=font.index)

    width, height = CARD_SIZE
    img = Image.new("RGB", CARD_SIZE, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, width, 150), fill=_RED)
    _fit_text(draw, (40, 28), union_name, face, max_width=width - 80, size=56, fill="white")
    draw.text((40, 104), CARD_SUBTITLE, font=face(26), fill="white")

    # Whole pixels per module (uneven modules confuse some readers) within a 440 px box.
    modules = len(qr_matrix(token_text, ecc=ecc, border=2))
    qr = qr_image(token_text, ecc=ecc, scale=max(1, 440 // modules), border=2)
    img.paste(qr, (width - qr.width - 30, height - qr.height - 30))

    draw.text((40, 190), CARD_TITLE, font=face(48), fill=_RED)
    draw.text((40, 300), "姓名：" + shown_name, font=face(40), fill=_INK)
    draw.text((40, 380), "卡号：", font=face(40), fill=_INK)
    draw.text((40, 440), number, font=face(36), fill=_INK)
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(300, 300))
    return buf.getvalue()


def _fit_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    text: str,
    face: Callable[[int], ImageFont.FreeTypeFont],
    *,
    max_width: int,
    size: int,
    fill: str,
) -> None:
    """Shrink long union names (e.g. 某某省某某市某某区总工会) until they fit the band."""
    while size > 20 and draw.textlength(text, font=face(size)) > max_width:
        size -= 4
    draw.text(xy, text, font=face(size), fill=fill)
