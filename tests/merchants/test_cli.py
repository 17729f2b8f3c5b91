"""``unioncard merchants …`` for scripting: JSON out, key printed once, revoke by prefix."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from cardsvc.app import create_app
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.settings import Settings
from merchants.cli import merchants_group
from merchants.keys import hash_key
from merchants.models import TerminalKey
from merchants.terminal.auth import GATE_STATE_KEY
from tests.merchants.conftest import USCC, standalone_app


def _invoke(settings: Settings, *args: str) -> dict[str, Any]:
    # A fresh app per command, as each ``unioncard`` invocation makes one.
    app = create_app(settings)
    if GATE_STATE_KEY not in app.state:
        app = standalone_app(settings)
    result = CliRunner().invoke(merchants_group, list(args), obj=app, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_onboarding(settings: Settings, demo: dict[str, Any]) -> None:
    m = _invoke(
        settings,
        "create",
        "--org",
        "hb-yc-xl",
        "--legal-name",
        "宜昌市西陵区测试面馆",
        "--display-name",
        "测试面馆",
        "--uscc",
        USCC,
        "--category",
        "dining",
        "--region",
        "420502",
        "--contact-name",
        "王师傅",
        "--contact-phone",
        "13907179999",
    )
    assert m["uscc"] == USCC
    listed = _invoke(settings, "list", "--q", "测试面馆")
    assert [i["id"] for i in listed["items"]] == [m["id"]]
    store = _invoke(
        settings,
        "add-store",
        "--merchant",
        USCC,
        "--name",
        "解放路店",
        "--address",
        "宜昌市西陵区解放路 18 号",
        "--region",
        "420502",
    )
    t = _invoke(settings, "add-terminal", "--store", store["id"], "--name", "1 号收银台")
    key, prefix = t["key"], t["key_prefix"]
    assert key.startswith(prefix + "_")
    rotated = _invoke(settings, "rotate-key", "--terminal", t["terminal_id"])
    assert rotated["old_prefixes"] == [prefix] and rotated["key"] != key
    revoked = _invoke(settings, "revoke-key", rotated["key_prefix"], "--reason", "测试")
    assert revoked["prefix"] == rotated["key_prefix"] and revoked["revoked_at"]
    assert _invoke(settings, "status", USCC, "suspend", "--reason", "整改")["status"] == "suspended"

    # Errors are reported, not raised: exit code 1 with the code and both messages.
    app = create_app(settings)
    if GATE_STATE_KEY not in app.state:
        app = standalone_app(settings)
    bad = CliRunner().invoke(merchants_group, ["revoke-key", rotated["key_prefix"]], obj=app)
    assert bad.exit_code == 1 and "key_revoked" in bad.output

    async def check() -> None:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                rows = (await session.scalars(select(TerminalKey))).all()
                assert {r.secret_hash for r in rows} >= {hash_key(key), hash_key(rotated["key"])}
                assert all(
                    r.revoked_at is not None
                    for r in rows
                    if r.prefix in (prefix, rotated["key_prefix"])
                )
                actions = (
                    await session.scalars(
                        select(AuditEntry.action).where(AuditEntry.actor_name == "system")
                    )
                ).all()
                for a in (
                    "merchant.create",
                    "store.create",
                    "terminal.create",
                    "terminal.key_rotate",
                    "terminal.key_revoke",
                    "merchant.suspend",
                ):
                    assert a in actions
        finally:
            await engine.dispose()

    asyncio.run(check())
