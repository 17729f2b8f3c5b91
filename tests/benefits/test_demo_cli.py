"""The demo programmes (``unioncard demo seed``) and ``unioncard benefits list / reconcile``."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from advanced_alchemy.types import GUID
from click.testing import CliRunner, Result
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.cli import benefits_group
from benefits.demo import demo_rules, seed_programs
from benefits.models import MemberCounter, Program
from benefits.public import redeem
from benefits.rules.facts import MemberFacts, MerchantContext
from cardsvc.app import create_app
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from tests.cardsvc import conftest as api_fixtures

settings = api_fixtures.settings
CODES = ["YC-CINEMA", "YC-HEALTH", "YC-DINING", "YC-REST", "YC-HARDSHIP"]


def _invoke(settings: Settings, *args: str) -> Result:
    # A fresh app per command, as each ``unioncard`` invocation makes one.
    return CliRunner().invoke(benefits_group, list(args), obj=create_app(settings))


async def invoke(settings: Settings, *args: str) -> Result:
    """Run a command as ``unioncard`` would: its own event loop (in a thread, beside the test's)."""
    return await asyncio.to_thread(_invoke, settings, *args)


def out(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout.strip().splitlines()[-1])


async def test_demo_programmes_are_published_and_idempotent(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    assert [p["code"] for p in demo["programs"]] == CODES
    p = Program.__table__
    async with engine.connect() as conn:
        rows = {
            r.code: r
            for r in await conn.execute(
                select(p.c.id, p.c.code, p.c.status, p.c.version_number, p.c.owner_org_path)
            )
        }
        city_path = (
            await conn.execute(text("SELECT path FROM org WHERE code = 'HB-YC'"))
        ).scalar_one()
    assert set(rows) == set(CODES)
    for entry in demo["programs"]:
        row = rows[entry["code"]]
        assert str(row.id) == entry["id"]
        assert (str(row.status), row.version_number, row.owner_org_path) == (
            "active",
            1,
            city_path,
        )
    # A second run creates nothing and reports the same programmes.
    again: dict[str, Any] = {}
    async with make_sessionmaker(engine)() as session, session.begin():
        assert await seed_programs(session, settings, again) == {}
    assert again["programs"] == demo["programs"]


def test_demo_rules_are_valid_for_publishing() -> None:
    from benefits.public import validate_rules

    for code, rules in demo_rules(2026):
        parsed = validate_rules(rules, for_publish=True)
        assert parsed.valid_from == datetime(2025, 12, 31, 16, tzinfo=UTC), code


async def _redeem_cinema(engine: AsyncEngine, demo: dict[str, Any], key: str) -> uuid.UUID:
    pid = uuid.UUID(next(p["id"] for p in demo["programs"] if p["code"] == "YC-CINEMA"))
    async with engine.connect() as conn:
        path = (
            await conn.execute(text("SELECT path FROM org WHERE code = 'HB-YC-XL'"))
        ).scalar_one()
    member = MemberFacts(id=uuid.uuid4(), status="active", org_path=path)
    async with engine.connect() as conn:
        await redeem(
            conn,
            member=member,
            merchant=MerchantContext(merchant_id=uuid.uuid4(), category="cinema"),
            program_ids=pid,
            amount_fen=9000,
            units=2,
            idempotency_key=key,
        )
    return pid


async def test_reconcile_reports_and_fixes_drift(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    before = out(await invoke(settings, "reconcile"))  # the demo's redemption history
    pid = await _redeem_cinema(engine, demo, "t-rec-1")
    ok = await invoke(settings, "reconcile")
    assert ok.exit_code == 0, ok.output
    report = out(ok)
    assert report["ok"] is True and report["drifts"] == []
    assert report["counters_checked"] == before["counters_checked"] + 2
    assert report["redemptions_read"] == before["redemptions_read"] + 1

    # Drift: someone edits a counter behind the engine's back.
    c = MemberCounter.__table__
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE benefit_member_counter SET used = used + 5 "
                "WHERE program_id = :pid AND policy_key = 'monthly_tickets'"
            ).bindparams(bindparam("pid", type_=GUID())),
            {"pid": pid},
        )

    async def used() -> int:
        async with engine.connect() as conn:
            return (
                await conn.execute(
                    select(c.c.used).where(
                        c.c.program_id == pid, c.c.policy_key == "monthly_tickets"
                    )
                )
            ).scalar_one()

    assert await used() == 7
    # Report only: non-zero, counter untouched.
    seen = await invoke(settings, "reconcile", "--no-fix")
    assert seen.exit_code == 1, seen.output
    [drift] = out(seen)["drifts"]
    assert drift["program"] == "YC-CINEMA" and drift["policy"] == "monthly_tickets"
    assert (drift["counter_used"], drift["ledger_used"]) == (7, 2)
    assert out(seen)["fixed"] is False
    assert "counter 7 != ledger 2" in seen.stderr
    assert await used() == 7
    # Another programme's reconciliation does not see it.
    other = await invoke(settings, "reconcile", "--program", "YC-HEALTH", "--no-fix")
    assert other.exit_code == 0, other.output
    # Fix (the default): still non-zero (there was drift), and the counter is the ledger's again.
    fixed = await invoke(settings, "reconcile", "--program", "YC-CINEMA")
    assert fixed.exit_code == 1, fixed.output
    assert out(fixed)["fixed"] is True
    assert await used() == 2
    clean = await invoke(settings, "reconcile")
    assert clean.exit_code == 0, clean.output
    assert out(clean)["ok"] is True


async def test_reconcile_unknown_programme_and_list(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    unknown = await invoke(settings, "reconcile", "--program", "NOPE")
    assert unknown.exit_code == 2
    assert "NOPE" in unknown.output

    listed = await invoke(settings, "list")
    assert listed.exit_code == 0, listed.output
    items = out(listed)["items"]
    assert sorted(i["code"] for i in items) == sorted(CODES)
    assert {i["status"] for i in items} == {"active"}
    drafts = await invoke(settings, "list", "--status", "draft")
    assert out(drafts) == {"total": 0, "items": []}
    found = await invoke(settings, "list", "--q", "驿家")
    assert [i["code"] for i in out(found)["items"]] == ["YC-REST"]
