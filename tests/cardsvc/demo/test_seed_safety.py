"""``unioncard demo seed`` never runs in production: the demo staff share a published password
and ``demo.json`` holds live terminal keys."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from cardsvc.demo.seed import DemoRefused, seed_demo
from cardsvc.kernel.settings import Settings

UNIONCARD = Path(sys.executable).with_name("unioncard")


def production_env(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONCARD_")}
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return {
        **env,
        "UNIONCARD_ENVIRONMENT": "production",
        "UNIONCARD_VAR_DIR": str(var),
        "UNIONCARD_SECRET_KEY": secrets.token_urlsafe(48),
        "UNIONCARD_DATA_KEYS": f"p1:{key}",
        "UNIONCARD_LOOKUP_KEY": secrets.token_urlsafe(32),
    }


def test_demo_seed_command_refuses_production(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = production_env(var)
    upgraded = subprocess.run(
        [str(UNIONCARD), "database", "upgrade", "--no-prompt"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    seeded = subprocess.run(
        [str(UNIONCARD), "demo", "seed"], env=env, capture_output=True, text=True, timeout=300
    )
    assert seeded.returncode != 0
    assert "production" in seeded.stderr, seeded.stderr
    assert not (var / "demo.json").exists()


async def test_seed_demo_refuses_production_settings(tmp_path: Path) -> None:
    settings = Settings(environment="production", var_dir=tmp_path, database_url="sqlite://")
    with pytest.raises(DemoRefused):
        await seed_demo(settings)
    assert not (tmp_path / "demo.json").exists()
