"""Reconciliation in the console: a counter that drifted from the ledger is found and fixed by a
one-click run, shown on /console/reconciliation and on the dashboard's card; audited."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from benefits.models import Counter, Program
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in


def _in_db(live: Live, fn: object) -> object:
    """Run ``fn(session)`` against the live app's database, off Playwright's event loop."""

    async def go() -> object:
        engine = create_async_engine(live.app.state.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await fn(session)  # type: ignore[operator]
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


async def _corrupt(session: object) -> str:
    """A counter the ledger knows nothing of: what a lost write or a hand edit leaves."""
    prog = (await session.scalars(select(Program).order_by(Program.code))).first()  # type: ignore[attr-defined]
    session.add(  # type: ignore[attr-defined]
        Counter(
            id=uuid.uuid4(),
            program_id=prog.id,
            policy_key="drifted",
            metric="count",
            scope_key="p",
            period_key="2026-12",
            used=7,
            limit=100,
            last_take=0,
            stripes=1,
        )
    )
    return str(prog.name)


async def _audited(session: object) -> list[str]:
    rows = await session.scalars(  # type: ignore[attr-defined]
        select(AuditEntry.actor_name).where(AuditEntry.action == "benefits.reconcile_run")
    )
    return list(rows)


def test_rerun_finds_and_fixes_drift(live: Live, page: Page) -> None:
    name = _in_db(live, _corrupt)
    sign_in(page, live, "yc.benefits", "/console/reconciliation")
    expect(page.get_by_role("heading", name="额度核对", level=1)).to_be_visible()
    expect(page.locator("#reconcile-state")).to_contain_text("尚未运行")
    page.get_by_role("button", name="立即重新核对").click()
    expect(page.locator("#reconcile-state")).to_contain_text("发现偏差 1 处", timeout=15000)
    drift = page.locator("#reconcile-drifts tbody tr")
    expect(drift).to_have_count(1)
    expect(drift).to_contain_text(str(name))
    expect(drift).to_contain_text("7")
    assert no_horizontal_scroll(page)
    shot(page, "console-reconciliation-drift")
    assert _in_db(live, _audited) == ["yc.benefits"]

    # Fixed from the ledger: the next run finds nothing, and the dashboard's card says so.
    page.get_by_role("button", name="立即重新核对").click()
    expect(page.locator("#reconcile-state")).to_contain_text("一致", timeout=15000)
    page.goto(live.url + "/console")
    card = page.locator("#reconciliation-card")
    expect(card).to_contain_text("一致")
    expect(card.get_by_role("button", name="立即重新核对")).to_be_visible()
    card.scroll_into_view_if_needed()
    shot(page, "console-dashboard-reconciliation")


def test_auditor_reads_without_rerun(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor", "/console/reconciliation")
    expect(page.locator("#reconciliation-card")).to_be_visible()
    expect(page.get_by_role("button", name="立即重新核对")).to_have_count(0)


def test_union_admin_without_benefits_sees_none(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console")
    expect(page.get_by_role("link", name="额度核对")).to_have_count(0)
    expect(page.locator("#reconciliation-card")).to_have_count(0)
    page.goto(live.url + "/console/reconciliation")
    expect(page.get_by_text("您的角色无权查看核对结果")).to_be_visible()
