"""The QR token codec: a fixed 26-byte layout plus an Ed25519 signature, as ``UC1`` + Base32.

Pure (no I/O, no clock): the caller passes the public keys and the time. The format is
specified in docs/token-format.md; keep the two in step. Every input that is not a valid token
raises :class:`~cardsvc.cards.errors.TokenError` and nothing else.

Why these widths: 26 + 64 = 90 bytes → 144 Base32 characters, 147 with the prefix, which is
QR version 6 at ECC M in alphanumeric mode (capacity 154). A 16-byte card UUID would push the
text to 173 characters (version 7), so the card is named by its status-list index, which is
unique and never reused.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cardsvc.cards.errors import TokenError

PREFIX = "UC1"
VERSION = 1
DEFAULT_SKEW_SECONDS = 30
# Signed bytes = SIGNING_CONTEXT ‖ payload: the context keeps a token signature from being
# valid for any other message signed with the same key (e.g. a status list).
SIGNING_CONTEXT = b"UC1"

# version u8, kid u16, kind u8, card index u32, nonce 8 bytes, generation u16,
# not_before u32, expires u32 — big-endian, no padding.
_LAYOUT = struct.Struct(">BHBI8sHII")
PAYLOAD_LEN = _LAYOUT.size  # 26
SIGNATURE_LEN = 64
RAW_LEN = PAYLOAD_LEN + SIGNATURE_LEN  # 90
BODY_LEN = RAW_LEN * 8 // 5  # 144 Base32 characters, no padding needed
TEXT_LEN = len(PREFIX) + BODY_LEN  # 147
NONCE_LEN = 8
# Anything longer is rejected before any other work (10 kB inputs, pasted garbage).
_MAX_INPUT = 256

_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# RFC 4648 Base32 digits → the digits int(..., 32) understands; the body is validated by the
# regex first because int() would also accept signs, underscores and spaces.
_TO_INT32 = str.maketrans(_B32_ALPHABET, "0123456789abcdefghijklmnopqrstuv")
_BODY_RE = re.compile(f"[{_B32_ALPHABET}]{{{BODY_LEN}}}")
_OTHER_VERSION_RE = re.compile(r"UC[0-9]")


class Kind(IntEnum):
    """Presentation kind, byte 3 of the payload."""

    rotating = 1  # phone screen, short validity, single use when redeemed online
    static = 2  # printed card, long validity


_KINDS = {k.value: k for k in Kind}


@dataclass(frozen=True, slots=True)
class Claims:
    kid: int
    kind: Kind
    card_index: int
    nonce: bytes
    generation: int
    not_before: int  # Unix seconds, UTC
    expires: int  # Unix seconds, UTC; the token is valid while now < expires
    version: int = VERSION

    @property
    def token_id(self) -> str:
        """Globally unique id of this token (card index ‖ nonce, 24 hex digits): burn it once."""
        return f"{self.card_index:08x}{self.nonce.hex()}"

    @property
    def not_before_at(self) -> datetime:
        return datetime.fromtimestamp(self.not_before, UTC)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    def payload(self) -> bytes:
        """The 26 signed bytes; raises ValueError for out-of-range fields (a caller's bug)."""
        if len(self.nonce) != NONCE_LEN:
            raise ValueError(f"nonce must be {NONCE_LEN} bytes")
        if not self.not_before < self.expires:
            raise ValueError("not_before must be before expires")
        try:
            return _LAYOUT.pack(
                self.version,
                self.kid,
                int(self.kind),
                self.card_index,
                self.nonce,
                self.generation,
                self.not_before,
                self.expires,
            )
        except struct.error as exc:
            raise ValueError(f"claim out of range: {exc}") from exc


def signing_input(payload: bytes) -> bytes:
    return SIGNING_CONTEXT + payload


def encode(claims: Claims, private_key: Ed25519PrivateKey) -> str:
    """Sign ``claims`` and return the token text (147 characters, upper case)."""
    payload = claims.payload()
    signature = private_key.sign(signing_input(payload))
    return PREFIX + base64.b32encode(payload + signature).decode("ascii")


def _unpack(text: object) -> tuple[bytes, tuple[int, int, int, int, bytes, int, int, int]]:
    """Text form → (raw 90 bytes, payload fields); raises malformed / unsupported_version."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT or not text.isascii():
        raise TokenError("malformed")
    text = text.upper()
    if not text.startswith(PREFIX):
        if _OTHER_VERSION_RE.match(text):
            raise TokenError("unsupported_version")
        raise TokenError("malformed")
    body = text[len(PREFIX) :]
    if not _BODY_RE.fullmatch(body):
        raise TokenError("malformed")
    raw = int(body.translate(_TO_INT32), 32).to_bytes(RAW_LEN, "big")
    fields = _LAYOUT.unpack_from(raw)
    if fields[0] != VERSION:
        raise TokenError("unsupported_version")
    return raw, fields


def parse(text: object) -> tuple[Claims, bytes, bytes]:
    """Check the text form and split it into (claims, payload, signature), WITHOUT verifying.

    Raises ``malformed`` or ``unsupported_version``. Use :func:`decode` to accept a token.
    """
    raw, (version, kid, kind, index, nonce, generation, nbf, exp) = _unpack(text)
    kind_enum = _KINDS.get(kind)
    if kind_enum is None or nbf >= exp:
        raise TokenError("malformed")
    claims = Claims(kid, kind_enum, index, nonce, generation, nbf, exp, version)
    return claims, raw[:PAYLOAD_LEN], raw[PAYLOAD_LEN:]


def decode(
    text: object,
    keys: Mapping[int, Ed25519PublicKey],
    *,
    now: datetime | float,
    skew_seconds: int = DEFAULT_SKEW_SECONDS,
) -> Claims:
    """Verify ``text`` and return its claims, or raise :class:`TokenError`.

    Order (docs/token-format.md §5): text form → version → key id → signature → fields →
    not-before → expiry. ``keys`` maps key ids to the public keys that may verify (active and
    retiring; a retired key is simply absent and so reads as ``unknown_key``).
    """
    raw, (version, kid, kind, index, nonce, generation, nbf, exp) = _unpack(text)
    key = keys.get(kid)
    if key is None:
        raise TokenError("unknown_key")
    try:
        key.verify(raw[PAYLOAD_LEN:], SIGNING_CONTEXT + raw[:PAYLOAD_LEN])
    except InvalidSignature:
        raise TokenError("signature_invalid") from None
    kind_enum = _KINDS.get(kind)
    # Only a buggy signer can produce these; still never build an invalid Claims.
    if kind_enum is None or nbf >= exp:
        raise TokenError("malformed")
    t = now.timestamp() if isinstance(now, datetime) else now
    if t + skew_seconds < nbf:
        raise TokenError("not_yet_valid")
    if t - skew_seconds >= exp:
        raise TokenError("token_expired")
    return Claims(kid, kind_enum, index, nonce, generation, nbf, exp, version)
