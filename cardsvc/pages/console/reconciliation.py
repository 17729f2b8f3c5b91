"""Reconciliation of the benefit counters with the ledger: the last run, any drift it found
and fixed, and a re-run (queued on the job runner, audited). The dashboard includes the same
card (``_reconciliation_card.html`` with :func:`reconciliation_card`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.flows.reconciliation import reconcile_status, request_reconcile
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console.common import ConsoleController, page, require

NO_READ = ("您的角色无权查看核对结果", "Your role may not view reconciliation")
CARD_PREVIEW = 5  # drift rows on the dashboard's card; the page shows them all


async def reconciliation_card(
    db: AsyncSession, staff: Principal, *, full: bool = False
) -> dict[str, Any]:
    """The context of ``console/_reconciliation_card.html``: ``recon`` is None for a role
    that may not see it (the card then renders nothing)."""
    base = {"recon": None, "recon_full": full, "recon_preview": CARD_PREVIEW}
    if not staff.can(Perm.benefits_read):
        return base
    return base | {"recon": await reconcile_status(db, staff)}


def _card(context: dict[str, Any]) -> Template:
    return Template("console/_reconciliation_card.html", context=context)


class ReconciliationPages(ConsoleController):
    path = "/console/reconciliation"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        require(staff, Perm.benefits_read, *NO_READ)
        return await page(
            request,
            state,
            staff,
            "console/reconciliation.html",
            "reconciliation",
            interval=state.settings.reconcile_interval_minutes,
            **await reconciliation_card(db_session, staff, full=True),
        )

    @get("/card")
    async def card(
        self, staff: Principal, db_session: AsyncSession, full: bool = False
    ) -> Template:
        """The card alone: what a card polls while a run is under way."""
        require(staff, Perm.benefits_read, *NO_READ)
        return _card(await reconciliation_card(db_session, staff, full=full))

    @post("/run", status_code=200)
    async def run(
        self,
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        full: bool = False,
    ) -> Template:
        await request_reconcile(db_session, staff)
        await db_session.commit()
        if runner := getattr(state, "jobs", None):
            runner.wake()
        return _card(await reconciliation_card(db_session, staff, full=full))


__all__ = ["ReconciliationPages", "reconciliation_card"]
