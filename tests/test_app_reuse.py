"""The app the tests reuse (tests/support/apps.py) holds nothing of the test before: each call
gives it the new settings' engine, state, stores and hooks, as create_app would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import metadata
from cardsvc.kernel.settings import Settings
from merchants.terminal.auth import GATE_STATE_KEY
from tests.conftest import make_test_settings
from tests.support.apps import app_for


def _settings(tmp_path: Path, name: str) -> Settings:
    var = tmp_path / name
    var.mkdir()
    return make_test_settings(f"sqlite+aiosqlite:///{var / 'db.sqlite'}", var)


async def test_a_reused_app_has_the_new_runtime_only(tmp_path: Path) -> None:
    first_settings, second_settings = _settings(tmp_path, "a"), _settings(tmp_path, "b")
    first = app_for(first_settings)
    first.state["left_by_a_test"] = True
    first_gate, first_stores = first.state[GATE_STATE_KEY], first.stores
    startup, shutdown = list(first.on_startup), list(first.on_shutdown)

    second = app_for(second_settings)
    assert second is first  # the routes are built once
    assert "left_by_a_test" not in second.state
    assert second.state.settings is second_settings
    assert second.state[GATE_STATE_KEY] is not first_gate
    assert second.stores is not first_stores and second.stores is second.state.stores
    engine: AsyncEngine = second.state.engine
    (config,) = second.plugins.get(SQLAlchemyPlugin).config
    assert config.get_engine() is engine
    assert str(engine.url).endswith("b/db.sqlite")
    # As many hooks as before, none of them the first runtime's (the plugins' stay).
    assert len(second.on_startup) == len(startup) and len(second.on_shutdown) == len(shutdown)
    assert any(h in shutdown for h in second.on_shutdown)  # the merchants' scan-log flush
    assert startup[0] not in second.on_startup and shutdown[0] not in second.on_shutdown

    # Requests reach the second database: an empty schema there, and the app answers ready.
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with AsyncTestClient(second) as client:
        assert (await client.get("/health/ready")).status_code == 200
    assert (tmp_path / "b" / "db.sqlite").exists()


async def test_other_proxies_or_zone_get_their_own_app(tmp_path: Path) -> None:
    base = _settings(tmp_path, "a")
    proxied = dataclasses.replace(_settings(tmp_path, "b"), trusted_proxies=("10.0.0.0/8",))
    assert app_for(base) is not app_for(proxied)
