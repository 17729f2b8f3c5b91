"""The test vectors, checked by a verifier written from docs/token-format.md alone.

Deliberately imports nothing from ``cardsvc``: only the standard library and ``cryptography``,
as a third party would. If this and the codec disagree, the spec or the codec is wrong.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VECTORS = sorted((Path(__file__).resolve().parents[2] / "vectors").glob("*.json"))
B32 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


class Reject(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwks_keys(jwks: dict[str, Any]) -> dict[int, Ed25519PublicKey]:
    keys = {}
    for k in jwks["keys"]:
        if k.get("kty") == "OKP" and k.get("crv") == "Ed25519" and k.get("status") != "retired":
            keys[int(k["kid"])] = Ed25519PublicKey.from_public_bytes(b64url(k["x"]))
    return keys


def revoked(jwt: str, keys: dict[int, Ed25519PublicKey], index: int, now: int, skew: int) -> bool:
    """§6: verify the status list, check its exp, read bit ``index`` (LSB first)."""
    head, body, sig = jwt.split(".")
    header = json.loads(b64url(head))
    assert header["alg"] == "EdDSA" and header["typ"] == "statuslist+jwt"
    keys[int(header["kid"])].verify(b64url(sig), f"{head}.{body}".encode("ascii"))
    claims = json.loads(b64url(body))
    if "exp" in claims and now - skew >= claims["exp"]:
        raise Reject("status_list_expired")
    bits = zlib.decompress(b64url(claims["status_list"]["lst"]))
    return index // 8 < len(bits) and bool(bits[index // 8] >> (index % 8) & 1)


def check(token: str, keys: dict[int, Ed25519PublicKey], now: int, skew: int) -> dict[str, Any]:
    """§5 of the spec, step by step."""
    # 1. Text form: ASCII, case-insensitive, "UC1" + 144 Base32 characters, nothing else.
    if not token.isascii():
        raise Reject("malformed")
    text = token.upper()
    if not text.startswith("UC1"):
        if len(text) >= 3 and text[:2] == "UC" and text[2].isdigit():
            raise Reject("unsupported_version")
        raise Reject("malformed")
    body = text[3:]
    if len(body) != 144 or not set(body) <= B32:
        raise Reject("malformed")
    raw = base64.b32decode(body)
    payload, signature = raw[:26], raw[26:]
    # 2. Version byte.
    if payload[0] != 1:
        raise Reject("unsupported_version")
    # 3. Key id.
    kid = int.from_bytes(payload[1:3], "big")
    if kid not in keys:
        raise Reject("unknown_key")
    # 4. Signature over "UC1" ‖ payload.
    try:
        keys[kid].verify(signature, b"UC1" + payload)
    except InvalidSignature:
        raise Reject("signature_invalid") from None
    # 5. Fields.
    kind = payload[3]
    nbf = int.from_bytes(payload[18:22], "big")
    exp = int.from_bytes(payload[22:26], "big")
    if kind not in (1, 2) or nbf >= exp:
        raise Reject("malformed")
    # 6–7. Times with skew.
    if now + skew < nbf:
        raise Reject("not_yet_valid")
    if now - skew >= exp:
        raise Reject("token_expired")
    index = int.from_bytes(payload[4:8], "big")
    return {
        "version": 1,
        "kid": kid,
        "kind": {1: "rotating", 2: "static"}[kind],
        "card_index": index,
        "nonce": payload[8:16].hex(),
        "generation": int.from_bytes(payload[16:18], "big"),
        "not_before": nbf,
        "expires": exp,
        "token_id": payload[4:16].hex(),
    }


def test_the_required_vectors_exist() -> None:
    names = {p.stem for p in VECTORS}
    assert {"valid", "expired", "tampered", "unknown_key", "wrong_version"} <= names


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector(path: Path) -> None:
    vec = json.loads(path.read_text())
    keys = jwks_keys(vec["jwks"])
    expected = vec["expected"]
    try:
        now, skew = vec["now"], vec["skew_seconds"]
        claims = check(vec["token"], keys, now, skew)
        # 8. Revocation: the card index's bit in the signed status list.
        if revoked(vec["status_list"], keys, claims["card_index"], now, skew):
            raise Reject("card_revoked")
    except Reject as rej:
        assert not expected["valid"], f"rejected with {rej.code}"
        assert rej.code == expected["error"]
    else:
        assert expected["valid"], f"accepted, expected {expected.get('error')}"
        assert claims == expected["claims"]
        assert len(vec["token"]) == 147
        if "payload_hex" in vec:
            assert base64.b32decode(vec["token"][3:])[:26].hex() == vec["payload_hex"]
