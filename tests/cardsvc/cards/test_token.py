"""The token codec: round trip, size, and every kind of bad input."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardsvc.cards import render
from cardsvc.cards.errors import TOKEN_ERRORS, TokenError
from cardsvc.cards.token import (
    PAYLOAD_LEN,
    PREFIX,
    RAW_LEN,
    SIGNING_CONTEXT,
    TEXT_LEN,
    Claims,
    Kind,
    decode,
    encode,
    parse,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
KEYS = {1: KEY.public_key()}
NBF = int(datetime(2026, 3, 1, 8, 0, tzinfo=UTC).timestamp())
NOW = NBF + 10


def claims(**kw: object) -> Claims:
    base: dict[str, Any] = {
        "kid": 1,
        "kind": Kind.rotating,
        "card_index": 4242,
        "nonce": bytes.fromhex("0102030405060708"),
        "generation": 2,
        "not_before": NBF,
        "expires": NBF + 60,
    }
    base.update(kw)
    return Claims(**base)


VALID = encode(claims(), KEY)


def raw_of(text: str) -> bytes:
    return base64.b32decode(text[len(PREFIX) :])


def text_of(raw: bytes) -> str:
    return PREFIX + base64.b32encode(raw).decode()


def code_of(text: object, *, now: float = NOW, keys: dict = KEYS, skew: int = 30) -> str:
    with pytest.raises(TokenError) as info:
        decode(text, keys, now=now, skew_seconds=skew)
    return info.value.code


def test_round_trip_and_size() -> None:
    assert len(VALID) == TEXT_LEN == 147
    assert VALID.startswith("UC1")
    assert set(VALID) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567UC1")
    assert "=" not in VALID
    assert decode(VALID, KEYS, now=NOW) == claims()
    # The size budget that the format exists for: QR version 6 at ECC M (alphanumeric).
    assert render.qr_version(VALID, ecc="M") <= 6


def test_claims_accessors() -> None:
    c = decode(VALID, KEYS, now=datetime.fromtimestamp(NOW, UTC))
    assert c.token_id == "00001092" + "0102030405060708"
    assert c.not_before_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert (c.expires_at - c.not_before_at).total_seconds() == 60


def test_lower_case_verifies() -> None:
    assert decode(VALID.lower(), KEYS, now=NOW) == claims()
    mixed = "".join(c.lower() if i % 2 else c for i, c in enumerate(VALID))
    assert decode(mixed, KEYS, now=NOW) == claims()


def test_static_kind() -> None:
    text = encode(claims(kind=Kind.static, expires=NBF + 3 * 365 * 86400), KEY)
    assert decode(text, KEYS, now=NOW + 2 * 365 * 86400).kind is Kind.static


def test_every_single_byte_change_is_rejected() -> None:
    raw = raw_of(VALID)
    assert len(raw) == RAW_LEN
    for pos in range(RAW_LEN):
        for value in range(256):
            if value == raw[pos]:
                continue
            changed = text_of(raw[:pos] + bytes([value]) + raw[pos + 1 :])
            code = code_of(changed)
            if pos == 0:
                assert code == "unsupported_version"
            elif pos in (1, 2):
                assert code == "unknown_key"  # only kid 1 exists
            else:
                assert code == "signature_invalid", (pos, value, code)


def test_every_single_character_change_is_rejected() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for pos in range(len(PREFIX), TEXT_LEN):
        for ch in alphabet:
            if ch == VALID[pos]:
                continue
            changed = VALID[:pos] + ch + VALID[pos + 1 :]
            assert code_of(changed) in {"unsupported_version", "unknown_key", "signature_invalid"}


def test_truncated_is_malformed() -> None:
    for n in range(TEXT_LEN):
        assert code_of(VALID[:n]) == "malformed", n


@pytest.mark.parametrize(
    "text",
    [
        VALID + "=",
        VALID + "====",
        VALID + "A",
        VALID + "AAAAAAAA",
        " " + VALID,
        VALID + "\n",
        VALID + "\r\n",
        "UC1" + VALID,
        "",
        "UC1",
        "UC",
        "X" * 10_000,
        VALID * 70,  # ~10 kB
        VALID[:-1] + "é",
        VALID[:50] + "Ａ" + VALID[51:],  # full-width A
        "中文" * 70,
        "UC1" + "0" * 144,  # 0 and 1 are not Base32
        "UC1" + "8" * 144,
        "UC1" + "A" * 143 + "-",
        "UC-" + VALID[3:],
        VALID.replace("UC1", "UC 1", 1),
        "\x00" * 147,
        "UC1" + "\u0130" * 144,  # İ upper/lower-cases to different lengths
    ],
)
def test_bad_text_is_malformed(text: str) -> None:
    assert code_of(text) == "malformed"


@pytest.mark.parametrize("value", [None, b"UC1AAAA", 123, ["UC1"], bytearray(VALID.encode())])
def test_non_text_is_malformed(value: object) -> None:
    assert code_of(value) == "malformed"


def test_wrong_version() -> None:
    assert code_of("UC2" + VALID[3:]) == "unsupported_version"
    assert code_of("uc9" + VALID[3:]) == "unsupported_version"
    # A correctly signed payload whose version byte is 2.
    payload = bytes([2]) + claims().payload()[1:]
    text = text_of(payload + KEY.sign(SIGNING_CONTEXT + payload))
    assert code_of(text) == "unsupported_version"


def test_unknown_key_and_foreign_signature() -> None:
    assert code_of(encode(claims(kid=9), OTHER)) == "unknown_key"
    assert code_of(encode(claims(kid=1), OTHER)) == "signature_invalid"
    assert code_of(VALID, keys={}) == "unknown_key"
    assert code_of(VALID, keys={1: OTHER.public_key()}) == "signature_invalid"


def test_signature_does_not_cover_other_contexts() -> None:
    # Signing the bare payload (no "UC1" context) must not produce a valid token.
    payload = claims().payload()
    text = text_of(payload + KEY.sign(payload))
    assert code_of(text) == "signature_invalid"


def test_time_window_with_skew() -> None:
    exp = NBF + 60
    assert decode(VALID, KEYS, now=NBF - 30) == claims()
    assert code_of(VALID, now=NBF - 31) == "not_yet_valid"
    assert decode(VALID, KEYS, now=exp + 29) == claims()
    assert code_of(VALID, now=exp + 30) == "token_expired"
    assert code_of(VALID, now=exp, skew=0) == "token_expired"
    assert code_of(VALID, now=NBF - 1, skew=0) == "not_yet_valid"
    assert decode(VALID, KEYS, now=NBF, skew_seconds=0) == claims()


def test_signed_but_invalid_fields_are_malformed() -> None:
    bad_kind = bytearray(claims().payload())
    bad_kind[3] = 7
    payload = bytes(bad_kind)
    assert code_of(text_of(payload + KEY.sign(SIGNING_CONTEXT + payload))) == "malformed"


def test_parse_does_not_verify() -> None:
    c, payload, sig = parse(encode(claims(), OTHER))
    assert c == claims()
    assert len(payload) == PAYLOAD_LEN and len(sig) == 64


@pytest.mark.parametrize(
    "bad",
    [
        {"nonce": b"short"},
        {"expires": NBF},
        {"kid": 70_000},
        {"card_index": -1},
        {"card_index": 2**32},
        {"generation": 2**16},
    ],
)
def test_encode_refuses_out_of_range(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        encode(claims(**bad), KEY)


def test_error_codes_are_the_documented_ones() -> None:
    assert set(TOKEN_ERRORS) == {
        "malformed",
        "unsupported_version",
        "unknown_key",
        "signature_invalid",
        "token_expired",
        "not_yet_valid",
    }
    err = TokenError("token_expired")
    assert err.code == "token_expired" and err.message_zh and err.message_en


# --- property tests -------------------------------------------------------------------------


def _only_token_errors(text: object) -> None:
    try:
        decode(text, KEYS, now=NOW)
    except TokenError as exc:
        assert exc.code in TOKEN_ERRORS
    # A successful decode is fine (e.g. a mutation that only changed letter case).


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_random_text_only_raises_token_error(text: str) -> None:
    _only_token_errors(text)


@settings(max_examples=300)
@given(st.from_regex(r"(?i)UC[0-9][A-Z2-7=]{0,160}", fullmatch=True))
def test_near_tokens_only_raise_token_error(text: str) -> None:
    _only_token_errors(text)


_mutation = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 400), st.characters()),
    st.tuples(st.just("insert"), st.integers(0, 400), st.characters()),
    st.tuples(st.just("delete"), st.integers(0, 400), st.just("")),
    st.tuples(st.just("swapcase"), st.integers(0, 400), st.just("")),
    st.tuples(st.just("flipbit"), st.integers(0, RAW_LEN * 8 - 1), st.just("")),
)


@settings(max_examples=500)
@given(st.lists(_mutation, min_size=1, max_size=6))
def test_mutated_tokens_only_raise_token_error(mutations: list[tuple[str, int, str]]) -> None:
    text = VALID
    changed_bits = False
    for op, pos, ch in mutations:
        i = pos % (len(text) + 1)
        if op == "replace" and text:
            i = pos % len(text)
            text = text[:i] + ch + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + ch + text[i:]
        elif op == "delete" and text:
            i = pos % len(text)
            text = text[:i] + text[i + 1 :]
        elif op == "swapcase" and text:
            i = pos % len(text)
            text = text[:i] + text[i].swapcase() + text[i + 1 :]
        elif op == "flipbit":
            try:
                raw = bytearray(raw_of(text.upper()))
            except Exception:
                continue
            raw[pos // 8] ^= 1 << (pos % 8)
            text = text_of(bytes(raw))
            changed_bits = True
    try:
        result = decode(text, KEYS, now=NOW)
    except TokenError as exc:
        assert exc.code in TOKEN_ERRORS
    else:
        # Only case changes, or edits that cancelled out, may still verify — and then they
        # must decode to exactly the original claims.
        assert text.upper() == VALID or not changed_bits
        assert result == claims()


def test_random_garbage_bytes_as_base32() -> None:
    for _ in range(200):
        text = text_of(os.urandom(RAW_LEN))
        assert code_of(text) in {"unsupported_version", "unknown_key", "signature_invalid"}
