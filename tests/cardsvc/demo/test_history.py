"""The demo federation has a history, so the dashboard's charts show something real: members
who joined during the last 18 months and rest-station visits during the last 90 days.

The tests' shared template leaves the redemption history out (till tests count the ledger's
rows), so this test seeds a demo of its own as ``make demo`` does and reads the dashboard
through HTTP."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from cardsvc.app import create_app
from cardsvc.demo.seed import seed_demo
from tests.conftest import _empty_sqlite, demo_steps, make_test_settings, use_password_hashing
from tests.support.staff import login


@pytest.mark.only_on("sqlite")
async def test_demo_history_fills_the_dashboard(
    db_url: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db = tmp_path / "demo.db"
    shutil.copyfile(_empty_sqlite(tmp_path_factory), db)
    settings = replace(
        make_test_settings(f"sqlite+aiosqlite:///{db}", tmp_path / "var"),
        environment="development",
    )
    use_password_hashing(settings)
    await seed_demo(settings, steps=demo_steps())
    async with AsyncTestClient(create_app(replace(settings, environment="test"))) as client:
        await login(client, "yc.admin")
        data = (await client.get("/console/dashboard.json")).json()
    joined = data["members"]["datasets"][0]["data"]
    assert sum(1 for n in joined if n) >= 6, joined  # joins spread over the months
    visits = data["redemptions"]["datasets"][0]["data"]
    assert sum(1 for n in visits if n) >= 20, visits  # most of the last 30 days
    assert sum(data["redemptions"]["datasets"][1]["data"]) > 0  # what the visits were worth
