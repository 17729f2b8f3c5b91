"""Generate the token test vectors (tests/vectors/*.json) from fixed test keys.

Run: ``.venv/bin/python tests/vectors/generate.py``. Output is deterministic (Ed25519
signatures are, and the nonces and times are fixed), so re-running it must not change the
checked-in files; tests/cardsvc/cards/test_vectors.py checks that.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cardsvc.cards.jwks import build_jwks  # noqa: E402
from cardsvc.cards.statuslist import build_bitmap, sign_status_list  # noqa: E402
from cardsvc.cards.token import PREFIX, SIGNING_CONTEXT, Claims, Kind, encode  # noqa: E402

HERE = Path(__file__).resolve().parent
TEST_SEED = bytes(range(32))  # 000102…1f — a published test key, never used for real cards
OTHER_SEED = bytes(range(32, 64))  # 202122…3f — "unknown" key, not in the JWKS
KID, OTHER_KID = 1, 7
T0 = 1772352000  # 2026-03-01T08:00:00Z
NOW = T0 + 10
SKEW = 30


def _claims(**kw: Any) -> Claims:
    base: dict[str, Any] = {
        "kid": KID,
        "kind": Kind.rotating,
        "card_index": 4242,
        "nonce": bytes.fromhex("0123456789abcdef"),
        "generation": 2,
        "not_before": T0,
        "expires": T0 + 60,
    }
    base.update(kw)
    return Claims(**base)


def _claims_json(c: Claims) -> dict[str, Any]:
    return {
        "version": c.version,
        "kid": c.kid,
        "kind": c.kind.name,
        "card_index": c.card_index,
        "nonce": c.nonce.hex(),
        "generation": c.generation,
        "not_before": c.not_before,
        "expires": c.expires,
        "token_id": c.token_id,
    }


def _raw_token(payload: bytes, key: Ed25519PrivateKey) -> str:
    sig = key.sign(SIGNING_CONTEXT + payload)
    return PREFIX + base64.b32encode(payload + sig).decode()


def build() -> dict[str, dict[str, Any]]:
    key = Ed25519PrivateKey.from_private_bytes(TEST_SEED)
    other = Ed25519PrivateKey.from_private_bytes(OTHER_SEED)
    jwks = build_jwks([(KID, key.public_key())])
    revoked_index = 17

    def signed_list(issued_at: int) -> str:
        return sign_status_list(
            build_bitmap([3, revoked_index, 100], 128),
            kid=KID,
            private_key=key,
            issued_at=issued_at,
            ttl=300,
            valid_for=86400,
            subject="https://unioncard.example/api/v1/cards/revocations",
        )

    status_list = signed_list(T0 - 60)
    valid = _claims()
    valid_text = encode(valid, key)
    tampered = bytearray(base64.b32decode(valid_text[3:]))
    tampered[8] ^= 0x01  # first nonce byte: the signature no longer matches
    wrong_version = bytes([2]) + valid.payload()[1:]

    def vector(name: str, description: str, token: str, expected: dict[str, Any], **kw: Any):
        return {
            "name": name,
            "description": description,
            "token": token,
            "now": kw.pop("now", NOW),
            "skew_seconds": SKEW,
            "jwks": jwks,
            "status_list": kw.pop("status_list", status_list),
            "expected": expected,
            "test_key": {"kid": KID, "seed_hex": TEST_SEED.hex()},
            **kw,
        }

    static = _claims(kind=Kind.static, card_index=9, generation=1, expires=T0 + 3 * 365 * 86400)
    two_years = T0 + 2 * 365 * 86400
    return {
        "valid": vector(
            "valid",
            "A rotating token checked 10 s after not_before.",
            valid_text,
            {"valid": True, "claims": _claims_json(valid)},
            payload_hex=valid.payload().hex(),
        ),
        "valid_lowercase": vector(
            "valid_lowercase",
            "The same token in lower case: decoders must accept either case.",
            valid_text.lower(),
            {"valid": True, "claims": _claims_json(valid)},
        ),
        "static": vector(
            "static",
            "A static (printed-card) token, checked two years after issue.",
            encode(static, key),
            {"valid": True, "claims": _claims_json(static)},
            now=two_years,
            status_list=signed_list(two_years - 3600),
        ),
        "stale_status_list": vector(
            "stale_status_list",
            "A valid token, but the status list's exp has passed: refresh the list first.",
            valid_text,
            {"valid": False, "error": "status_list_expired"},
            status_list=signed_list(T0 - 86400 - SKEW),
        ),
        "expired": vector(
            "expired",
            "The valid token checked at expires + skew: expired.",
            valid_text,
            {"valid": False, "error": "token_expired"},
            now=T0 + 60 + SKEW,
        ),
        "not_yet_valid": vector(
            "not_yet_valid",
            "The valid token checked at not_before - skew - 1.",
            valid_text,
            {"valid": False, "error": "not_yet_valid"},
            now=T0 - SKEW - 1,
        ),
        "tampered": vector(
            "tampered",
            "The valid token with one bit of the nonce flipped (byte 8).",
            PREFIX + base64.b32encode(bytes(tampered)).decode(),
            {"valid": False, "error": "signature_invalid"},
        ),
        "unknown_key": vector(
            "unknown_key",
            "Signed by key id 7, which the JWKS does not list.",
            encode(_claims(kid=OTHER_KID), other),
            {"valid": False, "error": "unknown_key"},
        ),
        "wrong_key": vector(
            "wrong_key",
            "Claims key id 1 but signed by another key.",
            encode(_claims(), other),
            {"valid": False, "error": "signature_invalid"},
        ),
        "wrong_version": vector(
            "wrong_version",
            "Correctly signed, but the version byte is 2.",
            _raw_token(wrong_version, key),
            {"valid": False, "error": "unsupported_version"},
        ),
        "wrong_version_prefix": vector(
            "wrong_version_prefix",
            "Text prefix UC2: a format this decoder does not know.",
            "UC2" + valid_text[3:],
            {"valid": False, "error": "unsupported_version"},
        ),
        "padded": vector(
            "padded",
            "Base32 padding appended: not the canonical form.",
            valid_text + "=",
            {"valid": False, "error": "malformed"},
        ),
        "truncated": vector(
            "truncated",
            "The last character removed.",
            valid_text[:-1],
            {"valid": False, "error": "malformed"},
        ),
        "revoked": vector(
            "revoked",
            "Valid signature and times, but bit 17 of the status list is set.",
            encode(_claims(card_index=revoked_index), key),
            {"valid": False, "error": "card_revoked"},
        ),
    }


def main() -> None:
    for name, vec in build().items():
        path = HERE / f"{name}.json"
        path.write_text(json.dumps(vec, indent=2, ensure_ascii=False) + "\n")
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
