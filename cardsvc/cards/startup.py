"""At app start: make sure a card-signing key exists, so tokens and the revocation list can be
signed from the first request (embedded demo; a fresh production install, logged loudly)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.cards.keys import ensure_signing_key
from cardsvc.cards.models import KeyStatus, SigningKey
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher

logger = logging.getLogger("unioncard.cards")


async def ensure_key_at_startup(
    engine: AsyncEngine, cipher: PiiCipher, *, production: bool
) -> None:
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            active = await session.scalar(
                select(SigningKey.kid).where(SigningKey.status == KeyStatus.active)
            )
            if active is not None:
                return
            row = await ensure_signing_key(session, cipher)
    except SQLAlchemyError as exc:
        # Not fatal: the app still serves everything else; card endpoints answer
        # no_signing_key (503) until the database is migrated and a key exists.
        logger.error("card-signing key not checked (is the database migrated?): %s", exc)
        return
    if production:
        logger.warning(
            "no card-signing key was found: generated key %s (its private part is encrypted "
            "with the active data key). Manage keys with `unioncard keys list|rotate|retire`.",
            row.kid,
        )
    else:
        logger.info("generated the first card-signing key %s", row.kid)


def signing_key_hook(
    engine: AsyncEngine, cipher: PiiCipher, *, production: bool
) -> Callable[[], Awaitable[None]]:
    async def ensure_card_signing_key() -> None:
        await ensure_key_at_startup(engine, cipher, production=production)

    return ensure_card_signing_key
