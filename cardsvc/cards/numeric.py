"""Numeric one-time codes: an 18-digit stand-in for one rotating QR token.

For a till whose scanner reads only 1D barcodes, or a phone whose screen will not scan, the
member's card page shows, under each QR, a number (and its Code 128 barcode). The number says
nothing by itself: it is a random key under which the server keeps the QR token it stands for,
for that token's lifetime. So it is verified online only, bound to the token's card, and used
once (redeeming burns the token it resolves to, as for the QR). docs/token-format.md §9 and §11.

Layout: 17 random decimal digits from :mod:`secrets`, then a Luhn check digit (a typo is
refused before any look-up). Stored with ``SET NX`` under ``num:{<digits>}`` (O(1) look-up;
``NX``: two live tokens never share a number).
"""

from __future__ import annotations

import math
import re
import secrets
from datetime import datetime

from cardsvc.kernel.kv import KV

DIGITS = 18
RANDOM_DIGITS = DIGITS - 1
_SHAPE = re.compile(rf"[0-9]{{{DIGITS}}}")
_SEPARATORS = re.compile(r"[\s\-]+")
_ATTEMPTS = 8  # a collision among 10^17 numbers is already rare; eight in a row is a bug
# Kept this long after its token expires: a late use then reads ``token_expired`` (not an
# unknown number), and a retry of a redemption finds its stored answer, as with the QR.
GRACE_SECONDS = 120


def luhn_digit(body: str) -> str:
    """The Luhn check digit of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def compact(text: str) -> str:
    """The number as typed or scanned: spaces and hyphens (the page groups the digits) dropped."""
    return _SEPARATORS.sub("", text)


def looks_numeric(text: str) -> bool:
    """18 digits (after :func:`compact`): to be looked up, not decoded as a QR token."""
    return bool(_SHAPE.fullmatch(compact(text)))


def well_formed(text: str) -> bool:
    code = compact(text)
    return bool(_SHAPE.fullmatch(code)) and luhn_digit(code[:-1]) == code[-1]


def _key(code: str) -> str:
    return f"num:{{{code}}}"


async def issue(kv: KV, token_text: str, expires_at: datetime, now: datetime) -> str:
    """A fresh number for ``token_text``, kept until the token expires (and a grace period).
    Raises :class:`~cardsvc.kernel.kv.KVUnavailable` when the store does not answer."""
    ttl = max(1, math.ceil((expires_at - now).total_seconds())) + GRACE_SECONDS
    for _ in range(_ATTEMPTS):
        body = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
        code = body + luhn_digit(body)
        if await kv.set_nx(_key(code), token_text.encode("ascii"), ttl):
            return code
    raise RuntimeError("no free numeric code after several attempts")


async def resolve(kv: KV, text: str) -> str | None:
    """The QR token a number stands for, or None (mistyped, never issued, or expired)."""
    if not well_formed(text):
        return None
    value = await kv.get(_key(compact(text)))
    return value.decode("ascii") if value else None


def grouped(code: str) -> str:
    """``123456 789012 345678``: easier to read out and type; :func:`compact` undoes it."""
    return " ".join(code[i : i + 6] for i in range(0, len(code), 6))
