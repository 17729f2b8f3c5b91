"""A verifiable draw: winners that anyone can recompute from a published seed and applicant list.

Pure standard library, no project imports, so that anyone can copy this file and check a draw.

Protocol:

1. Before applications open, the organiser picks a secret ``seed`` (32 random bytes, written as
   64 hex digits) and publishes ``commitment(seed)`` = SHA-256 of the seed's bytes, in hex.
2. Applicants are known by pseudonymous ids (strings). After the window closes the organiser
   publishes the list of ids and then the seed; anyone checks ``commitment(seed)`` against what
   was published before, and recomputes ``draw(seed, ids, k)``.

Algorithm (``draw``): the ids are de-duplicated and sorted (so the order in which the list was
published does not matter); each id gets the key ``HMAC-SHA256(seed, id)`` as an unsigned
256-bit big-endian integer; the ``k`` ids with the smallest keys win, ties (impossible in
practice) broken by the id. With the seed unknown until the list is fixed, the keys are
independent and uniform, so every applicant wins with probability ``k / n`` and every set of
``k`` is equally likely. The winners are returned in key order (a waiting list continues it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SEED_HEX_LENGTH = 64


def _seed_bytes(seed: str) -> bytes:
    if len(seed) != SEED_HEX_LENGTH:
        raise ValueError("the seed is 64 hex digits")
    return bytes.fromhex(seed)


def commitment(seed: str) -> str:
    """SHA-256 of the seed's 32 bytes, as 64 lowercase hex digits."""
    return hashlib.sha256(_seed_bytes(seed)).hexdigest()


def draw_key(seed: str, applicant_id: str) -> int:
    """The applicant's place in the draw: HMAC-SHA256 keyed by the seed, as an integer."""
    mac = hmac.new(_seed_bytes(seed), applicant_id.encode("utf-8"), hashlib.sha256)
    return int.from_bytes(mac.digest(), "big")


def draw(seed: str, applicant_ids: Iterable[str], k: int) -> list[str]:
    """The ``k`` winners (all applicants if fewer), best key first."""
    if k < 0:
        raise ValueError("k must not be negative")
    ids = sorted(set(applicant_ids))
    ranked = sorted(ids, key=lambda i: (draw_key(seed, i), i))
    return ranked[:k]
