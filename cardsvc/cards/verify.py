"""Offline verification: what a merchant terminal runs with the JWKS and the status list.

Pure: no I/O and no clock (``now`` is passed in). The online path, with the card's current
state from the database, is :func:`cardsvc.cards.online.verify_online`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cardsvc.cards.errors import CardError
from cardsvc.cards.jwks import Keyset, build_jwks, parse_jwks
from cardsvc.cards.statuslist import StatusList, parse_status_list
from cardsvc.cards.token import DEFAULT_SKEW_SECONDS, Claims, decode

__all__ = ["Keyset", "build_jwks", "parse_jwks", "parse_status_list", "verify"]


def verify(
    text: object,
    keyset: Keyset | Mapping[str, Any] | str,
    revocations: StatusList | str,
    now: datetime | float,
    *,
    skew_seconds: int = DEFAULT_SKEW_SECONDS,
) -> Claims:
    """Accept a token offline or raise.

    ``keyset``: a :class:`Keyset` or a JWKS (dict or JSON text); ``revocations``: a parsed
    :class:`StatusList` or the signed status-list JWT. Pass parsed objects when verifying many
    tokens: parsing a JWKS or a status list costs more than a token. Raises
    :class:`~cardsvc.cards.errors.TokenError` (the token's codes) or
    :class:`~cardsvc.cards.errors.CardError` with ``card_revoked``, ``status_list_expired``,
    ``status_list_invalid`` or ``jwks_invalid``.

    A retired key is not in the JWKS, so its tokens fail with ``unknown_key``. An index beyond
    the list's end belongs to a card issued after the list was built and counts as valid.
    """
    if not isinstance(keyset, Keyset):
        keyset = parse_jwks(keyset)
    if not isinstance(revocations, StatusList):
        revocations = parse_status_list(revocations, keyset)
    claims = decode(text, keyset.keys, now=now, skew_seconds=skew_seconds)
    if revocations.is_expired(now, skew_seconds):
        raise CardError("status_list_expired")
    if revocations.is_revoked(claims.card_index):
        raise CardError("card_revoked")
    return claims
