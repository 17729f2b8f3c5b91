"""Status list, JWKS and the offline verifier (pure: no database)."""

from __future__ import annotations

import json
import random
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import cardsvc.cards
from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.jwks import Keyset, b64url_decode, b64url_encode, build_jwks, parse_jwks
from cardsvc.cards.statuslist import build_bitmap, parse_status_list, sign_status_list
from cardsvc.cards.token import Claims, Kind, encode
from cardsvc.cards.verify import verify

KEY1 = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY2 = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
T0 = int(datetime(2026, 3, 1, 8, 0, tzinfo=UTC).timestamp())
JWKS = build_jwks([(1, KEY1.public_key(), "retiring"), (2, KEY2.public_key(), "active")])
KEYSET = parse_jwks(JWKS)


def token(index: int = 5, *, kid: int = 2, key: Ed25519PrivateKey = KEY2, gen: int = 1) -> str:
    return encode(Claims(kid, Kind.rotating, index, b"\x00" * 8, gen, T0, T0 + 60), key)


def status_list(revoked: list[int], size: int = 64, **kw: Any) -> str:
    kw.setdefault("valid_for", 3600)
    return sign_status_list(
        build_bitmap(revoked, size),
        kid=2,
        private_key=KEY2,
        issued_at=T0 - 100,
        **kw,
    )


# --- status list ----------------------------------------------------------------------------


def test_bit_order_is_lsb_first() -> None:
    bitmap = build_bitmap([0, 9, 15], 16)
    assert bitmap == bytes([0b00000001, 0b10000010])


def test_status_list_round_trip() -> None:
    revoked = [0, 7, 8, 63, 1000]
    sl = parse_status_list(status_list(revoked, 1001, subject="https://x/revocations"), KEYSET)
    assert [i for i in range(1001) if sl.is_revoked(i)] == revoked
    assert sl.kid == 2 and sl.issued_at == T0 - 100 and sl.expires_at == T0 + 3500
    assert sl.subject == "https://x/revocations" and sl.ttl == 300
    assert not sl.is_revoked(10**9)  # issued after the list was built
    assert sl.age_seconds(T0) == 100
    assert not sl.is_expired(T0) and sl.is_expired(T0 + 3500)


def test_status_list_is_a_standard_jws() -> None:
    jwt = status_list([3])
    head, body, sig = jwt.split(".")
    header = json.loads(b64url_decode(head))
    assert header == {"alg": "EdDSA", "kid": "2", "typ": "statuslist+jwt"}
    KEY2.public_key().verify(b64url_decode(sig), f"{head}.{body}".encode())
    claims = json.loads(b64url_decode(body))
    assert claims["status_list"]["bits"] == 1
    assert zlib.decompress(b64url_decode(claims["status_list"]["lst"]))[0] == 0b1000


def test_million_cards_fit_in_a_few_kb() -> None:
    rng = random.Random(7)
    revoked = rng.sample(range(1_000_000), 1_000)  # 0.1 % revoked or replaced
    jwt = status_list(revoked, 1_000_000)
    assert len(jwt) < 5_000  # ~2.2 KB compressed, base64url twice inside the JWT
    sl = parse_status_list(jwt, KEYSET)
    assert sum(sl.is_revoked(i) for i in revoked) == 1_000
    assert sum(sl.is_revoked(i) for i in range(0, 1_000_000, 997)) <= 5


@pytest.mark.parametrize(
    "mutate",
    [
        lambda j: j[:-3] + ("AAA" if not j.endswith("AAA") else "BBB"),  # signature
        lambda j: j.split(".")[0] + "." + b64url_encode(b'{"iat":1}') + "." + j.split(".")[2],
        lambda j: j.replace(".", "", 1),
        lambda j: "",
        lambda j: "a.b.c",
        lambda j: j + ".x",
    ],
)
def test_tampered_status_list_is_rejected(mutate) -> None:
    with pytest.raises(CardError) as info:
        parse_status_list(mutate(status_list([1])), KEYSET)
    assert info.value.code == "status_list_invalid"


def test_status_list_by_unknown_key_is_rejected() -> None:
    jwt = status_list([1])
    with pytest.raises(CardError) as info:
        parse_status_list(jwt, Keyset({1: KEY1.public_key()}))
    assert info.value.code == "status_list_invalid"


def test_zip_bomb_is_refused() -> None:
    header = b64url_encode(b'{"alg":"EdDSA","kid":"2","typ":"statuslist+jwt"}')
    lst = b64url_encode(zlib.compress(b"\x00" * (65 * 1024 * 1024), 9))
    body = b64url_encode(json.dumps({"iat": 1, "status_list": {"bits": 1, "lst": lst}}).encode())
    sig = b64url_encode(KEY2.sign(f"{header}.{body}".encode()))
    with pytest.raises(CardError) as info:
        parse_status_list(f"{header}.{body}.{sig}", KEYSET)
    assert info.value.code == "status_list_invalid"


# --- JWKS -----------------------------------------------------------------------------------


def test_jwks_shape() -> None:
    assert JWKS["keys"][0] == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(
            bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
        ),
        "kid": "1",
        "use": "sig",
        "alg": "EdDSA",
        "status": "retiring",
    }
    assert sorted(KEYSET.keys) == [1, 2]


def test_jwks_skips_retired_and_foreign_keys() -> None:
    jwks = build_jwks([(1, KEY1.public_key(), "retired"), (2, KEY2.public_key())])
    jwks["keys"].append({"kty": "RSA", "kid": "rsa1", "n": "x", "e": "AQAB"})
    jwks["keys"].append({"kty": "OKP", "crv": "X25519", "kid": "9", "x": "AAAA"})
    keyset = parse_jwks(json.dumps(jwks))
    assert sorted(keyset.keys) == [2]


@pytest.mark.parametrize(
    "jwks",
    [
        "not json",
        {},
        {"keys": "x"},
        {"keys": [1]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "01", "x": "A" * 43}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "70000", "x": "A" * 43}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "3", "x": "AAAA"}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "3", "x": "A" * 42 + "="}]},
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "3"}]},
        {"keys": [JWKS["keys"][0], JWKS["keys"][0]]},
    ],
)
def test_bad_jwks_is_rejected(jwks: dict[str, Any]) -> None:
    with pytest.raises(CardError) as info:
        parse_jwks(jwks)
    assert info.value.code == "jwks_invalid"


# --- the offline verifier -------------------------------------------------------------------


def test_verify_accepts_a_good_token() -> None:
    sl = parse_status_list(status_list([1, 2]), KEYSET)
    claims = verify(token(5), KEYSET, sl, T0 + 5)
    assert claims.card_index == 5 and claims.kid == 2
    # The package-level name the issue specifies, with raw JWKS and JWT inputs.
    assert cardsvc.cards.verify(token(5).lower(), JWKS, status_list([1]), T0 + 5) == claims
    # A retiring key still verifies.
    assert verify(token(5, kid=1, key=KEY1), KEYSET, sl, T0 + 5).kid == 1


def test_verify_rejects_revoked_card() -> None:
    with pytest.raises(CardError) as info:
        verify(token(5), KEYSET, status_list([5]), T0 + 5)
    assert info.value.code == "card_revoked"


def test_verify_rejects_retired_key() -> None:
    jwks = build_jwks([(1, KEY1.public_key(), "retired"), (2, KEY2.public_key(), "active")])
    with pytest.raises(TokenError) as info:
        verify(token(5, kid=1, key=KEY1), jwks, status_list([]), T0 + 5)
    assert info.value.code == "unknown_key"


def test_verify_rejects_expired_token_and_stale_list() -> None:
    with pytest.raises(TokenError) as info:
        verify(token(5), KEYSET, status_list([]), T0 + 200)
    assert info.value.code == "token_expired"
    with pytest.raises(CardError) as info2:
        verify(token(5), KEYSET, status_list([], valid_for=60), T0 + 5)
    assert info2.value.code == "status_list_expired"


def test_verify_rejects_list_not_signed_by_keyset() -> None:
    foreign = sign_status_list(build_bitmap([], 8), kid=2, private_key=KEY1, issued_at=T0)
    with pytest.raises(CardError) as info:
        verify(token(5), KEYSET, foreign, T0 + 5)
    assert info.value.code == "status_list_invalid"


def test_jwks_etag_changes_with_the_keys() -> None:
    from cardsvc.cards.jwks import etag

    same = build_jwks([(2, KEY2.public_key(), "active"), (1, KEY1.public_key(), "retiring")])
    assert etag(JWKS) == etag(same) and etag(JWKS).startswith('"')
    assert etag(JWKS) != etag(build_jwks([(2, KEY2.public_key(), "active")]))
