"""The public check of a training certificate (``/verify/certificates/{number}``): where the
certificate's QR code leads. No sign-in; the same lookup as ``/api/v1/certificates/{number}``,
with the holder's name masked."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities.certificates import find_certificate, hours_text
from cardsvc.activities.errors import certificate_not_found
from cardsvc.pages.errors import page_exception_handlers

CERT_NO_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class CertificateVerifyController(Controller):
    path = "/verify/certificates"
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/{cert_no:str}")
    async def verify(self, db_session: AsyncSession, cert_no: str) -> Template:
        if not 6 <= len(cert_no) <= 32 or not set(cert_no) <= CERT_NO_CHARS:
            raise certificate_not_found()
        cert = await find_certificate(db_session, cert_no, masked=True)
        return Template(
            "verify_certificate.html", context={"cert": cert, "hours": hours_text(cert.minutes)}
        )
