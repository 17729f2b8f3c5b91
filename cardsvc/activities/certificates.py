"""Training certificates: the PDF a member downloads, and the public check of its number.

The PDF is drawn with Pillow (the card images' font search and QR code) and saved as a
one-page A4 PDF: no PDF library beyond what renders cards. Its QR code holds only the public
verification address with the certificate number; the verification answers with the course,
the hours, the union and the holder's masked name, never more of the person.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities.errors import certificate_not_found
from cardsvc.activities.models import Activity, ActivitySignup, IssuedCertificate
from cardsvc.cards.render import find_cjk_font, qr_image
from cardsvc.kernel.masking import mask_name
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org

VERIFY_PATH = "/verify/certificates/"
A4 = (1240, 1754)  # 210 × 297 mm at 150 dpi
_INK = (33, 33, 33)
_RED = (196, 24, 32)


@dataclass(frozen=True, slots=True)
class Certificate:
    cert_no: str
    holder: str  # the full name on the member's own PDF; masked on the public check
    course: str
    union: str
    minutes: int
    completed_at: datetime


def verify_url(public_url: str, cert_no: str) -> str:
    return public_url.rstrip("/") + VERIFY_PATH + cert_no


async def find_certificate(session: AsyncSession, cert_no: str, *, masked: bool) -> Certificate:
    """The passed course behind ``cert_no``; 404 for a number nobody holds. The number's row
    names the member, so the sign-up is read on the member's shard under Citus."""
    held = (
        await session.execute(
            select(IssuedCertificate.member_id, IssuedCertificate.signup_id).where(
                IssuedCertificate.cert_no == cert_no
            )
        )
    ).first()
    if held is None:
        raise certificate_not_found()
    row = (
        await session.execute(
            select(ActivitySignup, Activity.title, Org.name, Member.name)
            .join(Activity, Activity.id == ActivitySignup.activity_id)
            .join(Org, Org.id == Activity.org_id)
            .join(Member, Member.id == ActivitySignup.member_id)
            .where(
                ActivitySignup.member_id == held.member_id,
                ActivitySignup.id == held.signup_id,
                ActivitySignup.cert_no == cert_no,
                ActivitySignup.passed.is_(True),
            )
        )
    ).first()
    if row is None:
        raise certificate_not_found()
    signup, title, union, name = row
    assert signup.completed_at is not None and signup.minutes is not None
    return Certificate(
        cert_no=cert_no,
        holder=mask_name(name) if masked else name,
        course=title,
        union=union,
        minutes=signup.minutes,
        completed_at=signup.completed_at,
    )


def hours_text(minutes: int) -> str:
    hours = minutes / 60
    return f"{hours:.1f}".rstrip("0").rstrip(".")


def certificate_pdf(cert: Certificate, *, public_url: str, time_zone: str) -> bytes:
    """One A4 page: the title, who, which course, how many hours, when, the number and the
    verification QR code."""
    day = cert.completed_at.astimezone(ZoneInfo(time_zone))
    lines = [
        (f"{cert.holder} 同志", 56, _INK),
        (f"参加{cert.union}举办的", 40, _INK),
        (f"《{cert.course}》", 48, _INK),
        (f"完成培训 {hours_text(cert.minutes)} 学时，考核合格，特发此证。", 40, _INK),
        (f"{day.year} 年 {day.month} 月 {day.day} 日", 36, _INK),
        (f"证书编号：{cert.cert_no}", 30, _INK),
        ("扫描二维码可在线核验本证书", 26, _INK),
    ]
    title = "培训结业证书"
    font = find_cjk_font(title + "".join(t for t, _, _ in lines) + cert.union)
    page = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((60, 60, A4[0] - 60, A4[1] - 60), outline=_RED, width=8)

    def centred(text: str, size: int, colour: tuple[int, int, int], y: int) -> None:
        face = ImageFont.truetype(font.path, size, index=font.index)
        width = draw.textlength(text, font=face)
        while width > A4[0] - 240 and size > 16:  # a long course name: smaller, not cut
            size -= 4
            face = ImageFont.truetype(font.path, size, index=font.index)
            width = draw.textlength(text, font=face)
        draw.text(((A4[0] - width) / 2, y), text, font=face, fill=colour)

    centred(title, 96, _RED, 220)
    y = 480
    for text, size, colour in lines:
        centred(text, size, colour, y)
        y += size + 60
    qr = qr_image(verify_url(public_url, cert.cert_no), scale=8, border=2).convert("RGB")
    page.paste(qr, ((A4[0] - qr.width) // 2, y + 20))
    out = io.BytesIO()
    page.save(out, format="PDF", resolution=150.0, title=f"{title} {cert.cert_no}")
    return out.getvalue()
