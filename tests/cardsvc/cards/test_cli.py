"""``unioncard keys …`` and ``unioncard card …`` on a copy of the demo federation.

The commands run through click's CliRunner in this process (the settings come from the
environment, as in production) and, once, through the installed ``unioncard`` script to prove
the commands are wired into the CLI. Sync tests: each command runs its own event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cardsvc.cards import render, service
from cardsvc.cards.cli import card_group, keys_group
from cardsvc.cards.token import parse
from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.settings import get_settings
from tests.conftest import make_test_settings


@pytest.fixture
def cli_env(
    db_url: str, demo: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """UNIONCARD_* variables for the demo copy, with the keys the demo was seeded with."""
    s = make_test_settings(db_url, tmp_path / "var")
    env = {
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_VAR_DIR": str(s.var_dir),
        "UNIONCARD_SECRET_KEY": s.secret_key,
        "UNIONCARD_DATA_KEYS": ",".join(
            f"{k}:{base64.urlsafe_b64encode(v).decode()}" for k, v in s.data_keys.items()
        ),
        "UNIONCARD_LOOKUP_KEY": s.lookup_key.decode(),
        "UNIONCARD_LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def run(group: Any, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(group, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) is ok, (args, result.output)
    return result


def publish(tmp_path: Path) -> tuple[Path, Path]:
    """The JWKS and the status list as files, like a terminal that downloaded them."""
    jwks, sl = tmp_path / "jwks.json", tmp_path / "revocations.jwt"
    jwks.write_text(run(keys_group, "jwks").stdout)
    sl.write_text(run(card_group, "status-list").stdout)
    return jwks, sl


def verified(text_or_image: list[str], jwks: Path, sl: Path, ok: bool = True) -> dict[str, Any]:
    args = ["verify", *text_or_image, "--jwks", str(jwks), "--revocations", str(sl)]
    result = run(card_group, *args, ok=ok)
    return json.loads(result.stdout.splitlines()[0])


def test_keys_list_rotate_retire(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = run(keys_group, "list").stdout
    assert out.splitlines()[1].split()[:2] == ["1", "active"]

    assert "key 2 is now active" in run(keys_group, "rotate").stdout
    rows = [line.split()[:2] for line in run(keys_group, "list").stdout.splitlines()[1:]]
    assert rows == [["1", "retiring"], ["2", "active"]]
    assert "key_active" in run(keys_group, "retire", "2", ok=False).output
    assert "key_not_found" in run(keys_group, "retire", "99", ok=False).output
    assert "key 1 retired" in run(keys_group, "retire", "1").stdout
    assert "key_retired" in run(keys_group, "retire", "1", ok=False).output
    jwks = json.loads(run(keys_group, "jwks").stdout)
    assert [(k["kid"], k["status"]) for k in jwks["keys"]] == [("2", "active")]


def test_token_and_offline_verify(
    cli_env: dict[str, str], demo: dict[str, Any], tmp_path: Path
) -> None:
    number = demo["cards"][0]["number"]
    rotating = run(card_group, "token", number).stdout.strip()
    png = tmp_path / "static.png"
    static = run(card_group, "token", number, "--static", "--png", str(png)).stdout.strip()
    jwks, sl = publish(tmp_path)

    ok = verified([rotating], jwks, sl)
    assert ok["valid"] and ok["kind"] == "rotating" and ok["generation"] == 1
    assert ok["card_index"] == parse(rotating)[0].card_index and ok["status_list_age_seconds"] >= 0
    from_image = verified(["--image", str(png)], jwks, sl)
    assert from_image["kind"] == "static" and render.read_qr(png.read_bytes()) == static
    # Lower case (a keyboard-wedge scanner with caps lock) still verifies.
    assert verified([rotating.lower()], jwks, sl)["valid"]

    tampered = rotating[:-10] + ("A" if rotating[-10] != "A" else "B") + rotating[-9:]
    assert verified([tampered], jwks, sl, ok=False)["code"] == "signature_invalid"
    assert verified(["hello"], jwks, sl, ok=False)["code"] == "malformed"
    not_a_qr = tmp_path / "blank.png"
    not_a_qr.write_bytes(_blank_png())
    assert verified(["--image", str(not_a_qr)], jwks, sl, ok=False)["code"] == "qr_unreadable"
    bad_jwks = tmp_path / "bad.json"
    bad_jwks.write_text("{}")
    assert verified([rotating], bad_jwks, sl, ok=False)["code"] == "jwks_invalid"
    # Neither or both of TEXT and --image: a usage error.
    assert run(card_group, "verify", "--jwks", str(jwks), "--revocations", str(sl), ok=False)
    assert "card_not_found" in run(card_group, "token", "9999999999999995", ok=False).output


def _blank_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buf, "PNG")
    return buf.getvalue()


async def _revoke(db_url: str, number: str) -> None:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            card = await service.get_card_by_number(s, number=number)
            await service.revoke_card(s, card_id=card.id, reason="测试")
    finally:
        await engine.dispose()


def test_revoked_card_and_issue_missing(
    cli_env: dict[str, str], demo: dict[str, Any], tmp_path: Path
) -> None:
    number = demo["cards"][1]["number"]
    text = run(card_group, "token", number, "--static").stdout.strip()
    jwks, sl = publish(tmp_path)
    assert verified([text], jwks, sl)["valid"]

    asyncio.run(_revoke(cli_env["UNIONCARD_DATABASE_URL"], number))
    assert verified([text], jwks, sl)["valid"]  # the old list does not know yet
    jwks, sl = publish(tmp_path)
    assert verified([text], jwks, sl, ok=False)["code"] == "card_revoked"
    assert "card_revoked" in run(card_group, "token", number, ok=False).output

    # The member is still active and now has no card: issue-missing gives them one, once.
    assert run(card_group, "issue-missing").stdout.strip() == "issued 1 card(s)"
    assert run(card_group, "issue-missing").stdout.strip() == "issued 0 card(s)"


def test_installed_command_has_the_card_groups(cli_env: dict[str, str], demo: Any) -> None:
    exe = Path(sys.executable).with_name("unioncard")
    env = {**os.environ, **cli_env}
    out = subprocess.run(
        [str(exe), "keys", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].split()[:2] == ["1", "active"]
    number = demo["cards"][2]["number"]
    tok = subprocess.run(
        [str(exe), "card", "token", number], env=env, capture_output=True, text=True, timeout=120
    )
    assert tok.returncode == 0 and parse(tok.stdout.strip())[0].generation == 1, tok.stderr
