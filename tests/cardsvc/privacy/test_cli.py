"""``unioncard privacy purge|erase|export`` on a copy of the demo federation."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from sqlalchemy import Table, insert, select

from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.settings import get_settings
from cardsvc.members.models import Member
from cardsvc.privacy.cli import privacy_group
from merchants.models import ScanLog
from tests.conftest import make_test_settings


@pytest.fixture
def cli_env(
    db_url: str, demo: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    s = make_test_settings(db_url, tmp_path / "var")
    for name, value in {
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_VAR_DIR": str(s.var_dir),
        "UNIONCARD_SECRET_KEY": s.secret_key,
        "UNIONCARD_DATA_KEYS": ",".join(
            f"{k}:{base64.urlsafe_b64encode(v).decode()}" for k, v in s.data_keys.items()
        ),
        "UNIONCARD_LOOKUP_KEY": s.lookup_key.decode(),
        "UNIONCARD_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def _run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(privacy_group, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


async def _db(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await fn(session)
    finally:
        await engine.dispose()


def test_purge_erase_export(cli_env: str, demo: dict[str, Any], tmp_path: Path) -> None:
    sample = demo["members"][2]

    async def _setup(session: Any) -> uuid.UUID:
        member = await session.scalar(select(Member).where(Member.member_no == sample["member_no"]))
        old = datetime.now(UTC) - timedelta(days=120)
        await session.execute(
            insert(cast(Table, ScanLog.__table__)),
            [
                {
                    "id": uuid.uuid4(),
                    "merchant_id": uuid.uuid4(),
                    "store_id": uuid.uuid4(),
                    "terminal_id": uuid.uuid4(),
                    "member_id": member.id,
                    "card_id": None,
                    "at": at,
                    "result": "ok",
                }
                for at in (old, datetime.now(UTC))
            ],
        )
        return member.id

    member_id = asyncio.run(_db(cli_env, _setup))
    purged = json.loads(_run("purge").stdout)
    assert purged["scan_log"] == 1 and "join_applications" in purged

    out = tmp_path / "export.json"
    _run("export", sample["member_no"], "--out", str(out))
    assert os.stat(out).st_mode & 0o777 == 0o600
    doc = json.loads(out.read_text())
    assert doc["member"]["member_no"] == sample["member_no"] and doc["member"]["phone"]
    assert len(doc["scans"]) == 1

    erased = json.loads(_run("erase", sample["member_no"], "--reason", "REQ-9").stdout)
    assert erased["member_id"] == str(member_id) and erased["scans_deleted"] == 1
    again = _run("erase", sample["member_no"], "--reason", "REQ-9", code=1)
    assert "member_already_erased" in again.output
    missing = _run("export", "NOPE", code=1)
    assert "member_not_found" in missing.output
    doc = json.loads(_run("export", sample["member_no"]).stdout)
    assert doc["member"]["phone"] is None and doc["member"]["name"] == "已注销"
