"""Personal data at rest: AES-256-GCM with a key id, and an HMAC for exact lookup.

Ciphertext text form: ``<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>``. The field name is the
associated data, so a ciphertext moved to another column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cardsvc.kernel.settings import Settings

_NONCE = 12


class PiiError(Exception):
    pass


class PiiCipher:
    def __init__(self, keys: dict[str, bytes], lookup_key: bytes) -> None:
        if not keys:
            raise PiiError("no data keys configured")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_kid = next(iter(keys))
        self._lookup_key = lookup_key

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiCipher:
        return cls(settings.data_keys, settings.lookup_key)

    def encrypt(self, field: str, plaintext: str) -> str:
        nonce = os.urandom(_NONCE)
        ct = self._keys[self.active_kid].encrypt(nonce, plaintext.encode(), field.encode())
        return f"{self.active_kid}.{base64.urlsafe_b64encode(nonce + ct).decode().rstrip('=')}"

    def decrypt(self, field: str, token: str) -> str:
        kid, _, b64 = token.partition(".")
        aead = self._keys.get(kid)
        if aead is None:
            raise PiiError(f"data key {kid!r} is not configured")
        blob = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        return aead.decrypt(blob[:_NONCE], blob[_NONCE:], field.encode()).decode()

    @property
    def key_ids(self) -> list[str]:
        """Configured data keys, the encrypting one first."""
        return list(self._keys)

    def can_decrypt(self, token: str) -> bool:
        """Whether the key that made ``token`` is configured (a retired key's are not)."""
        return token.partition(".")[0] in self._keys

    @staticmethod
    def key_id(token: str) -> str:
        return token.partition(".")[0]

    def lookup_hash(self, field: str, normalised: str) -> str:
        """Deterministic keyed hash of a normalised value, for equality search and uniqueness."""
        msg = f"{field}\x00{normalised}".encode()
        return hmac.new(self._lookup_key, msg, hashlib.sha256).hexdigest()
