"""Public keys as a JWKS (RFC 7517/8037: OKP, Ed25519) and the in-memory :class:`Keyset`.

Key ids are the token's u16 ``kid`` written in decimal (``"7"``). A JWKS lists the keys that
may verify (active and retiring); an entry carrying ``"status": "retired"`` is ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardsvc.cards.errors import CardError

_KID_RE = re.compile(r"(0|[1-9][0-9]{0,4})")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
MAX_KID = 0xFFFF


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: object) -> bytes:
    """Strict unpadded base64url; raises ValueError for anything else."""
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from exc


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def kid_text(kid: int) -> str:
    return str(kid)


def parse_kid(value: object) -> int | None:
    """``"7"`` → 7; None for anything that is not a decimal u16 without leading zeros."""
    if isinstance(value, str) and _KID_RE.fullmatch(value):
        kid = int(value)
        if kid <= MAX_KID:
            return kid
    return None


@dataclass(frozen=True, eq=False, slots=True)
class Keyset:
    """Key id → public key, for :func:`cardsvc.cards.token.decode` and status lists."""

    keys: Mapping[int, Ed25519PublicKey]

    def get(self, kid: int) -> Ed25519PublicKey | None:
        return self.keys.get(kid)

    def __contains__(self, kid: object) -> bool:
        return kid in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any] | str | bytes) -> Keyset:
        return parse_jwks(jwks)


def jwk(kid: int, key: Ed25519PublicKey | bytes, *, status: str | None = None) -> dict[str, str]:
    raw = key if isinstance(key, bytes) else raw_public_key(key)
    entry = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw),
        "kid": kid_text(kid),
        "use": "sig",
        "alg": "EdDSA",
    }
    if status:
        entry["status"] = status
    return entry


def build_jwks(
    keys: Iterable[
        tuple[int, Ed25519PublicKey | bytes] | tuple[int, Ed25519PublicKey | bytes, str]
    ],
) -> dict[str, list[dict[str, str]]]:
    """``[(kid, public key[, status]), …]`` → ``{"keys": [...]}``, sorted by kid."""
    entries = []
    for item in sorted(keys, key=lambda k: k[0]):
        kid, key = item[0], item[1]
        status = item[2] if len(item) > 2 else None
        entries.append(jwk(kid, key, status=status))
    return {"keys": entries}


def etag(document: Mapping[str, Any]) -> str:
    """Strong ETag (quoted) of a JWKS or any JSON document: same keys → same tag."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return '"' + hashlib.sha256(canonical).hexdigest()[:32] + '"'


def parse_jwks(jwks: Mapping[str, Any] | str | bytes) -> Keyset:
    """Parse a JWKS (dict or JSON text) into a :class:`Keyset`; raises ``jwks_invalid``.

    Entries of other key types are skipped (RFC 7517 §5); a malformed Ed25519 entry, a bad or
    duplicate kid is an error, because silently dropping it would hide a broken publisher.
    """
    if isinstance(jwks, str | bytes):
        try:
            jwks = json.loads(jwks)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CardError("jwks_invalid", f"Invalid JWKS: not JSON ({exc})") from None
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise CardError("jwks_invalid", "Invalid JWKS: no 'keys' array")
    keys: dict[int, Ed25519PublicKey] = {}
    for entry in jwks["keys"]:
        if not isinstance(entry, Mapping):
            raise CardError("jwks_invalid", "Invalid JWKS: an entry is not an object")
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("status") == "retired":
            continue
        kid = parse_kid(entry.get("kid"))
        if kid is None:
            raise CardError("jwks_invalid", f"Invalid JWKS: bad kid {entry.get('kid')!r}")
        if kid in keys:
            raise CardError("jwks_invalid", f"Invalid JWKS: duplicate kid {kid}")
        try:
            raw = b64url_decode(entry.get("x"))
            if len(raw) != 32:
                raise ValueError("x must be 32 bytes")
            keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise CardError("jwks_invalid", f"Invalid JWKS: key {kid}: {exc}") from None
    return Keyset(keys)
