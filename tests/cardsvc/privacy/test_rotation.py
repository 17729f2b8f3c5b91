"""Data-key rotation: batches, resumable, lookup hashes untouched, readable throughout."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.cards.keys import KeyRing
from cardsvc.cli import load_command
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings, get_settings
from cardsvc.members.models import Member
from cardsvc.membership.models import JoinApplication
from cardsvc.privacy.parts import all_parts
from cardsvc.privacy.rotate import key_usage, rotate_data
from tests.conftest import make_test_settings
from tests.merchants.conftest import login
from tests.support.contract import contract_client

OLD = {"t1": b"k" * 32}  # what the demo was seeded with (tests/conftest.py)
NEW_KEY = b"n" * 32


async def _identities(engine: AsyncEngine, cipher: PiiCipher) -> dict[Any, tuple[Any, ...]]:
    """Every member's and applicant's plain ID number and phone, with the lookup hashes."""
    out: dict[Any, tuple[Any, ...]] = {}
    async with make_sessionmaker(engine)() as session:
        for model in (Member, JoinApplication):
            for row in await session.scalars(select(model)):
                out[(model.__tablename__, row.id)] = (
                    cipher.decrypt("id_number", row.id_number_enc),
                    cipher.decrypt("phone", row.phone_enc) if row.phone_enc else None,
                    row.id_number_hash,
                    row.phone_hash,
                )
    return out


async def test_rotation_in_batches_keeps_every_row_readable(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    tables = all_parts().encrypted
    old = PiiCipher(OLD, settings.lookup_key)
    both = PiiCipher({"t2": NEW_KEY, **OLD}, settings.lookup_key)
    before = await _identities(engine, old)
    usage = await key_usage(engine, ["t2", "t1"], tables)
    assert usage["member"]["t2"] == 0 and usage["member"]["t1"] > 20
    assert usage["card_signing_key"] == {"t2": 0, "t1": 1}

    # Interrupted after one batch per table: some rows under each key.
    first = await rotate_data(engine, both, tables, batch_size=10, max_batches=1)
    member = next(s for s in first if s.table == "member")
    assert (member.rewritten, member.done) == (10, False)
    mid = await key_usage(engine, ["t2", "t1"], tables)
    assert mid["member"]["t2"] > 0 and mid["member"]["t1"] > 0

    # The app (configured with both keys) reads old and new rows alike, list and unmask.
    app = create_app(dataclasses.replace(settings, data_keys={"t2": NEW_KEY, **OLD}))
    async with contract_client(app) as client:
        await login(client, "admin")
        listed = await client.get("/api/v1/members?limit=200")
        assert listed.status_code == 200, listed.text
        async with make_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Member.id, Member.id_number_enc))).all()
        rotated = next(i for i, enc in rows if enc.startswith("t2."))
        unrotated = next(i for i, enc in rows if enc.startswith("t1."))
        for member_id in (rotated, unrotated):
            r = await client.post(f"/api/v1/members/{member_id}/identity")
            assert r.status_code == 200, r.text
            assert r.json()["id_number"] == before[("member", member_id)][0]
        assert all(i["id_number_masked"] for i in listed.json()["items"])

    # Resumed: the rest, each row once; then everything is under the new key only.
    rest = await rotate_data(engine, both, tables, batch_size=10)
    assert all(s.done for s in rest)
    total = {s.table: s.rewritten for s in first}
    for s in rest:
        total[s.table] += s.rewritten
    assert total["card_signing_key"] == 1 and total["join_application"] == len(
        [k for k in before if k[0] == "join_application"]
    )
    assert total["member"] == len([k for k in before if k[0] == "member"])
    after = await key_usage(engine, ["t2", "t1"], tables)
    assert all(counts.get("t1", 0) == 0 and "other" not in counts for counts in after.values())

    # Without the old key at all: same plaintexts, same lookup hashes; the signer decrypts.
    new_only = PiiCipher({"t2": NEW_KEY}, settings.lookup_key)
    assert await _identities(engine, new_only) == before
    async with make_sessionmaker(engine)() as session:
        ring = KeyRing(new_only)
        assert (await ring.signer(session)).kid >= 1
        kids = set((await session.scalars(select(Member.data_key_id))).all())
    assert kids == {"t2"}
    again = await rotate_data(engine, both, tables)
    assert sum(s.rewritten for s in again) == 0


@pytest.fixture
def cli_env(
    db_url: str, demo: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    s = make_test_settings(db_url, tmp_path / "var")
    keys = ",".join(
        f"{k}:{base64.urlsafe_b64encode(v).decode()}" for k, v in {"t2": NEW_KEY, **OLD}.items()
    )
    for name, value in {
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_VAR_DIR": str(s.var_dir),
        "UNIONCARD_SECRET_KEY": s.secret_key,
        "UNIONCARD_DATA_KEYS": keys,
        "UNIONCARD_LOOKUP_KEY": s.lookup_key.decode(),
        "UNIONCARD_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_rotate_data_command_resumes_and_reports(cli_env: None) -> None:
    runner = CliRunner()
    keys_group = load_command("keys")  # with the data-key commands, as `unioncard keys`
    part = runner.invoke(keys_group, ["rotate-data", "--batch-size", "7", "--max-batches", "1"])
    assert part.exit_code == 3, part.output
    out = json.loads(part.stdout.strip().splitlines()[-1])
    assert out["complete"] is False and out["tables"]["member"]["rewritten"] == 7
    assert "member: batch 1, 7 re-encrypted" in part.stderr
    done = runner.invoke(keys_group, ["rotate-data", "--batch-size", "50"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["complete"] is True and out["key"] == "t2"
    assert out["usage"]["member"].get("t1", 0) == 0
    usage = runner.invoke(keys_group, ["data-usage"])
    assert usage.exit_code == 0 and json.loads(usage.stdout)["merchant"].get("t1", 0) == 0

    fresh = runner.invoke(keys_group, ["new-data-key", "--kid", "d3"])
    kid, _, b64 = fresh.stdout.strip().partition(":")
    assert kid == "d3" and len(base64.urlsafe_b64decode(b64)) == 32
    assert runner.invoke(keys_group, ["new-data-key", "--kid", "d-3"]).exit_code == 2


@pytest.mark.redis
async def test_sessions_under_a_retired_key_sign_out_cleanly(
    settings: Settings, engine: AsyncEngine, demo: dict[str, Any], redis_url: str
) -> None:
    """A member session carries the phone encrypted at sign-in; once that key is retired the
    session answers 401 (sign in again), not an error."""
    from tests.support.privacy import member_sign_in

    phone = demo["members"][0]["phone"]
    on_redis = dataclasses.replace(settings, redis_url=redis_url)
    app = create_app(on_redis)
    async with contract_client(app) as client:
        await member_sign_in(app, client, phone)
        token = client.cookies["uc_member"]
    for keys, status in (({"t2": NEW_KEY, **OLD}, 200), ({"t2": NEW_KEY}, 401)):
        later = create_app(dataclasses.replace(on_redis, data_keys=keys))
        async with contract_client(later) as client:
            client.cookies["uc_member"] = token
            r = await client.get("/api/v1/me")
            assert r.status_code == status, r.text
