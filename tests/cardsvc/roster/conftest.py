"""An app per test on the seeded demo federation, with the in-app job runner off.

Tests run queued jobs themselves (``run_jobs``) so that each step is deterministic; the SSE
test turns the in-app runner on.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.jobs.kinds import all_handlers, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.roster.sample import sample_rows, write_csv, write_xlsx
from tests.conftest import make_test_settings
from tests.support.apps import app_for
from tests.support.contract import checks_contract, contract_client
from tests.support.staff import login

XL_UNIONS = ("XL-JIDIAN", "XL-HOSPITAL", "XL-NEWFORMS", "XL-COMMERCE")
WJG_UNION = "WJG-LOGISTICS"
IMPORTS = "/api/v1/roster/imports"

__all__ = ["IMPORTS", "WJG_UNION", "XL_UNIONS", "login"]


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return replace(
        make_test_settings(db_url, var_dir),
        job_runner=False,
        roster_batch_size=40,
        job_heartbeat_seconds=1,
        job_poll_ms=50,
    )


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> Litestar:
    return app_for(settings)


@pytest.fixture
async def client(
    app: Litestar, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """Every response checked against the published contract (tests/support/contract.py)."""
    async with contract_client(app, check=checks_contract(request)) as c:
        yield c


@pytest.fixture
def runner(engine: AsyncEngine, settings: Settings) -> JobRunner:
    """A job runner on the test's own event loop (the test client serves the app on another)."""
    return JobRunner(engine, settings, all_handlers(), services=services_for(settings))


async def run_jobs(runner: JobRunner) -> int:
    ran = 0
    while await runner.run_once():
        ran += 1
    return ran


async def member_count(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as s:
        return int((await s.execute(select(func.count()).select_from(Member))).scalar() or 0)


def rows(
    n: int, unions: Sequence[str] = XL_UNIONS, *, seed: int = 11, start: int = 500_000
) -> list[list[Any]]:
    # start far from 0 so that no row collides with the demo's generated people
    return list(sample_rows(n, unions, seed=seed, start=start))


def xlsx_bytes(tmp_path: Path, data: Sequence[Sequence[Any]], **kw: Any) -> bytes:
    path = tmp_path / "roster.xlsx"
    write_xlsx(path, data, **kw)
    return path.read_bytes()


def csv_bytes(tmp_path: Path, data: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    path = tmp_path / "roster.csv"
    write_csv(path, data, encoding=encoding)
    return path.read_bytes()


async def upload(
    client: AsyncTestClient[Litestar],
    content: bytes,
    *,
    filename: str = "roster.xlsx",
    dry_run: bool = False,
    org_id: str | None = None,
) -> Any:
    data = {"dry_run": "true" if dry_run else "false"}
    if org_id:
        data["org_id"] = org_id
    return await client.post(IMPORTS, files={"file": (filename, io.BytesIO(content))}, data=data)
