"""What the benefits reports get from the host: org paths and names, the zone, merchants' names, files.

``benefits`` may not import ``cardsvc`` (nor ``merchants``), so ``benefits.routes.reports``
declares a ``ReportHost`` protocol and the composition root provides this class for it as the
``report_host`` dependency, with the merchant name lookup it alone may write.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar.datastructures import State
from litestar.response import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.orgs.models import Org
from cardsvc.reports import files

MerchantNames = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, str]]]


class ReportHost:
    def __init__(
        self, session: AsyncSession, time_zone: str, merchant_names: MerchantNames | None
    ) -> None:
        self._session = session
        self._names = merchant_names
        self.time_zone = time_zone

    async def org(self, org_id: uuid.UUID) -> tuple[str, str] | None:
        found = await self._session.execute(select(Org.path, Org.name).where(Org.id == org_id))
        row = found.first()
        return None if row is None else (row.path, row.name)

    async def merchant_names(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids or self._names is None:
            return {}
        return await self._names(self._session, ids)

    def respond(
        self, doc: dict[str, Any], *, fmt: str | None, accept: str | None, filename: str
    ) -> Response[Any]:
        return files.respond(doc, fmt=fmt, accept=accept, filename=filename)


def report_host_provider(
    merchant_names: MerchantNames | None = None,
) -> Callable[[State, AsyncSession], Awaitable[ReportHost]]:
    """The Litestar provider of ``report_host``."""

    async def provide_report_host(state: State, db_session: AsyncSession) -> ReportHost:
        return ReportHost(db_session, state.settings.time_zone, merchant_names)

    return provide_report_host
