"""Terminal API keys: their text form, generation and hashing (pure, no I/O).

A key reads ``uck_<public id>_<secret>``: ``uck_`` makes it recognisable (secret scanners,
support staff, logs), the 8-character public id finds its row, the 40-character secret
(base62, ~238 bits) proves possession.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "uck_"
PUBLIC_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # lower-case Crockford: no i l o u
SECRET_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PUBLIC_ID_LEN = 8
SECRET_LEN = 40
KEY_RE = re.compile(
    rf"^({KEY_PREFIX}[{PUBLIC_ID_ALPHABET}]{{{PUBLIC_ID_LEN}}})_[0-9A-Za-z]{{{SECRET_LEN}}}$"
)
MAX_KEY_LEN = len(KEY_PREFIX) + PUBLIC_ID_LEN + 1 + SECRET_LEN


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly made key. ``plain`` is shown to the caller once and never stored."""

    prefix: str
    plain: str
    secret_hash: str


def hash_key(plain: str) -> str:
    """SHA-256 of the whole key.

    A fast hash is right here (unlike passwords): the secret is 238 random bits, so there is
    nothing to brute-force or look up in a dictionary, and a slow KDF would cost
    milliseconds on every terminal request.
    """
    return hashlib.sha256(plain.encode("ascii")).hexdigest()


def generate_key() -> IssuedKey:
    public_id = "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LEN))
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LEN))
    prefix = KEY_PREFIX + public_id
    plain = f"{prefix}_{secret}"
    return IssuedKey(prefix=prefix, plain=plain, secret_hash=hash_key(plain))


def parse_prefix(plain: str) -> str | None:
    """The key's public prefix (``uck_xxxxxxxx``), or None if the text is not a key."""
    if len(plain) != MAX_KEY_LEN:
        return None
    m = KEY_RE.match(plain)
    return m.group(1) if m else None


def matches(plain: str, secret_hash: str) -> bool:
    """Constant-time comparison of the presented key's hash with the stored one."""
    return hmac.compare_digest(hash_key(plain), secret_hash)
