"""The public verification material as served: the JWKS and the signed status list.

Every terminal fetches both, so each worker keeps what it built for a few seconds
(``UNIONCARD_CARD_PUBLISH_CACHE_SECONDS``) and builds at most once per period however many
requests arrive together (single flight). Staff actions on cards invalidate the worker's copy
after their commit; changes made elsewhere (another worker, the CLI, a member leaving) show
within the cache period, well inside the list's own ``ttl`` that terminals work with.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import keys as signing_keys
from cardsvc.cards import minting
from cardsvc.cards.jwks import etag as document_etag
from cardsvc.cards.keys import KeyRing
from cardsvc.kernel.clock import utc_now

JWKS_MEDIA_TYPE = "application/json"
STATUS_LIST_PATH = "/api/v1/cards/revocations"


@dataclass(frozen=True, slots=True)
class Published:
    body: bytes
    etag: str  # strong, quoted
    issued_at: int | None = None  # status list: its signed ``iat`` (Unix seconds)


def jwks_document(doc: Mapping[str, Any]) -> Published:
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return Published(body, document_etag(doc))


def status_list_document(jwt: str, issued_at: int) -> Published:
    body = jwt.encode("ascii")
    return Published(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', issued_at)


class PublishedCache:
    """Per-worker cache of built documents, by name, for ``ttl_seconds`` (0 = never reuse)."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, Published]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def invalidate(self) -> None:
        self._entries.clear()

    def _fresh(self, name: str) -> Published | None:
        hit = self._entries.get(name)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit[1]
        return None

    async def get(self, name: str, build: Callable[[], Awaitable[Published]]) -> Published:
        if (doc := self._fresh(name)) is not None:
            return doc
        async with self._locks.setdefault(name, asyncio.Lock()):
            # Whoever waited on the lock reuses what the first request just built.
            if (doc := self._fresh(name)) is not None:
                return doc
            built_at = self._clock()
            doc = await build()
            if self._ttl > 0:
                self._entries[name] = (built_at, doc)
            return doc

    async def jwks(self, session: AsyncSession) -> Published:
        async def build() -> Published:
            return jwks_document(await signing_keys.jwks(session))

        return await self.get("jwks", build)

    async def status_list(
        self,
        session: AsyncSession,
        *,
        keyring: KeyRing,
        ttl_seconds: int,
        valid_for_seconds: int,
        subject: str | None,
    ) -> Published:
        async def build() -> Published:
            now = utc_now()
            jwt = await minting.build_status_list(
                session,
                keyring=keyring,
                now=now,
                ttl_seconds=ttl_seconds,
                valid_for_seconds=valid_for_seconds,
                subject=subject,
            )
            return status_list_document(jwt, int(now.timestamp()))  # = the list's signed iat

        return await self.get("status_list", build)
