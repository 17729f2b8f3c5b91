"""PII at rest: AES-256-GCM with the key id in the token, field-bound, rotatable; keyed hashes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidTag

from cardsvc.kernel.pii import PiiCipher, PiiError
from cardsvc.kernel.settings import Settings

ID_NUMBER = "420502199001011238"
OLD, NEW = b"o" * 32, b"n" * 32
LOOKUP = b"lookup-key-0123456789abcdef-0123456789"


def cipher(keys: dict[str, bytes] | None = None, lookup: bytes = LOOKUP) -> PiiCipher:
    return PiiCipher(keys or {"k1": OLD}, lookup)


def test_round_trip_and_token_form() -> None:
    c = cipher()
    token = c.encrypt("id_number", ID_NUMBER)
    assert token.startswith("k1.") and PiiCipher.key_id(token) == "k1"
    assert ID_NUMBER not in token
    assert ID_NUMBER.encode() not in base64.urlsafe_b64decode(token[3:] + "==")
    assert c.decrypt("id_number", token) == ID_NUMBER
    assert c.decrypt("name", c.encrypt("name", "买买提·艾力")) == "买买提·艾力"
    # A fresh nonce each time: equal plaintexts do not give equal ciphertexts.
    assert c.encrypt("id_number", ID_NUMBER) != token


def test_ciphertext_is_bound_to_its_field() -> None:
    c = cipher()
    token = c.encrypt("id_number", ID_NUMBER)
    with pytest.raises(InvalidTag):
        c.decrypt("phone", token)


def test_tampered_ciphertext_fails() -> None:
    c = cipher()
    token = c.encrypt("phone", "+8613812345678")
    kid, _, b64 = token.partition(".")
    blob = bytearray(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)))
    blob[-1] ^= 1
    forged = kid + "." + base64.urlsafe_b64encode(bytes(blob)).decode().rstrip("=")
    with pytest.raises(InvalidTag):
        c.decrypt("phone", forged)


def test_unknown_key_id_fails() -> None:
    token = cipher({"k9": NEW}).encrypt("id_number", ID_NUMBER)
    with pytest.raises(PiiError, match="k9"):
        cipher({"k1": OLD}).decrypt("id_number", token)


def test_same_kid_with_another_key_fails() -> None:
    token = cipher({"k1": OLD}).encrypt("id_number", ID_NUMBER)
    with pytest.raises(InvalidTag):
        cipher({"k1": NEW}).decrypt("id_number", token)


def test_key_rotation() -> None:
    before = cipher({"k1": OLD})
    old_token = before.encrypt("id_number", ID_NUMBER)
    after = cipher({"k2": NEW, "k1": OLD})  # new key first: it encrypts
    assert after.active_kid == "k2"
    assert after.decrypt("id_number", old_token) == ID_NUMBER
    new_token = after.encrypt("id_number", ID_NUMBER)
    assert PiiCipher.key_id(new_token) == "k2"
    assert after.decrypt("id_number", new_token) == ID_NUMBER
    # The old configuration cannot read what the new key wrote.
    with pytest.raises(PiiError):
        before.decrypt("id_number", new_token)


def test_no_keys_is_an_error() -> None:
    with pytest.raises(PiiError):
        PiiCipher({}, LOOKUP)


def test_lookup_hash_is_keyed_deterministic_and_per_field() -> None:
    c = cipher()
    h = c.lookup_hash("id_number", ID_NUMBER)
    assert h == cipher({"other": NEW}).lookup_hash("id_number", ID_NUMBER)  # data key irrelevant
    assert len(h) == 64 and ID_NUMBER not in h
    assert h != hashlib.sha256(ID_NUMBER.encode()).hexdigest()
    assert h != c.lookup_hash("phone", ID_NUMBER)
    assert h != c.lookup_hash("id_number", ID_NUMBER[:-1] + "9")
    assert h != cipher(lookup=b"another-lookup-key-000000000000000").lookup_hash(
        "id_number", ID_NUMBER
    )


def test_from_settings_uses_the_first_data_key() -> None:
    s = Settings(data_keys={"p2": NEW, "p1": OLD}, lookup_key=LOOKUP)
    c = PiiCipher.from_settings(s)
    assert c.active_kid == "p2" == s.active_data_key_id
    assert c.decrypt("x", cipher({"p1": OLD}).encrypt("x", "v")) == "v"
