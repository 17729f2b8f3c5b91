"""The signed revocation list: one bit per card index, zlib-compressed, as a compact JWS.

In the style of the IETF OAuth Token Status List (draft-ietf-oauth-status-list): the bit of
index ``i`` is bit ``i % 8`` (least significant first) of byte ``i // 8``; 1 = do not accept
(revoked, suspended or replaced), 0 = valid. The list is a JWT with header
``{"alg": "EdDSA", "kid": "<kid>", "typ": "statuslist+jwt"}`` and claims ``iat``, ``exp``,
``ttl``, ``sub`` and ``status_list: {"bits": 1, "lst": base64url(zlib(bytes))}``, signed by
the card-signing key, so a terminal that has the JWKS can check it offline and knows its age.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cardsvc.cards.errors import CardError
from cardsvc.cards.jwks import Keyset, b64url_decode, b64url_encode, kid_text, parse_kid

TYP = "statuslist+jwt"
MEDIA_TYPE = "application/statuslist+jwt"
# 64 MiB of bits = 536 million cards: above that a list is refused, so that a small
# compressed input cannot inflate without bound.
MAX_LIST_BYTES = 64 * 1024 * 1024
MAX_JWT_CHARS = 48 * 1024 * 1024


def build_bitmap(revoked: Iterable[int], size: int) -> bytes:
    """Bitmap of ``size`` indices (rounded up to whole bytes) with ``revoked`` bits set."""
    buf = bytearray((size + 7) // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise ValueError(f"index {index} outside the list of {size}")
        buf[index >> 3] |= 1 << (index & 7)
    return bytes(buf)


@dataclass(frozen=True, slots=True)
class StatusList:
    bitmap: bytes
    issued_at: int  # Unix seconds
    expires_at: int | None
    ttl: int | None
    kid: int
    subject: str | None = None

    @property
    def size(self) -> int:
        return len(self.bitmap) * 8

    def is_revoked(self, index: int) -> bool:
        """An index past the end was allocated after the list was built: not revoked yet."""
        byte = index >> 3
        if byte >= len(self.bitmap):
            return False
        return bool(self.bitmap[byte] >> (index & 7) & 1)

    def age_seconds(self, now: datetime | float) -> float:
        return _ts(now) - self.issued_at

    def is_expired(self, now: datetime | float, skew_seconds: int = 0) -> bool:
        return self.expires_at is not None and _ts(now) - skew_seconds >= self.expires_at


def _ts(now: datetime | float) -> float:
    return now.timestamp() if isinstance(now, datetime) else float(now)


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def sign_status_list(
    bitmap: bytes,
    *,
    kid: int,
    private_key: Ed25519PrivateKey,
    issued_at: int,
    ttl: int | None = 300,
    valid_for: int | None = 86400,
    subject: str | None = None,
) -> str:
    """Compress and sign ``bitmap``; returns the compact JWT text.

    ``ttl``: how often a terminal should fetch a fresh list; ``valid_for``: after how long
    (``exp``) a verifier must stop trusting it.
    """
    claims: dict[str, Any] = {
        "iat": issued_at,
        "status_list": {"bits": 1, "lst": b64url_encode(zlib.compress(bitmap, 9))},
    }
    if valid_for is not None:
        claims["exp"] = issued_at + valid_for
    if ttl is not None:
        claims["ttl"] = ttl
    if subject is not None:
        claims["sub"] = subject
    header = {"alg": "EdDSA", "kid": kid_text(kid), "typ": TYP}
    signing_input = f"{b64url_encode(_json(header))}.{b64url_encode(_json(claims))}"
    signature = private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def parse_status_list(jwt: str | bytes, keyset: Keyset) -> StatusList:
    """Verify the signature with ``keyset`` and decode; raises ``status_list_invalid``.

    Freshness is the caller's call (``StatusList.is_expired`` / ``age_seconds``).
    """

    def bad(why: str) -> CardError:
        return CardError("status_list_invalid", f"Invalid status list: {why}")

    if isinstance(jwt, bytes):
        try:
            jwt = jwt.decode("ascii")
        except UnicodeDecodeError:
            raise bad("not ASCII") from None
    if not isinstance(jwt, str) or len(jwt) > MAX_JWT_CHARS:
        raise bad("not a JWT")
    parts = jwt.strip().split(".")
    if len(parts) != 3:
        raise bad("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        signature = b64url_decode(parts[2])
    except ValueError:
        raise bad("undecodable header or signature") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != TYP:
        raise bad("header must be alg EdDSA, typ statuslist+jwt")
    kid = parse_kid(header.get("kid"))
    key = keyset.get(kid) if kid is not None else None
    if kid is None or key is None:
        raise bad(f"unknown key {header.get('kid')!r}")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature:
        raise bad("signature does not verify") from None
    try:
        claims = json.loads(b64url_decode(parts[1]))
        sl = claims["status_list"]
        if sl["bits"] != 1:
            raise ValueError("only bits=1 is supported")
        inflater = zlib.decompressobj()
        bitmap = inflater.decompress(b64url_decode(sl["lst"]), MAX_LIST_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("list too large or truncated")
        iat, exp, ttl = claims["iat"], claims.get("exp"), claims.get("ttl")
        if any(
            (v is not None or name == "iat") and (type(v) is not int or v < 0)
            for name, v in (("iat", iat), ("exp", exp), ("ttl", ttl))
        ):
            raise ValueError("iat must be, exp and ttl may be, non-negative integers")
        subject = claims.get("sub")
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise bad(str(exc)) from None
    return StatusList(bitmap, iat, exp, ttl, kid, subject if isinstance(subject, str) else None)
