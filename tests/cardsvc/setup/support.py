"""Running ``unioncard`` as an operator does: the installed script in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

UNIONCARD = Path(sys.executable).with_name("unioncard")
ADMIN_PASSWORD = "a-long-admin-password"


def base_env() -> dict[str, str]:
    """The process environment without the test run's UNIONCARD_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("UNIONCARD_")}
    return {**base, "UNIONCARD_LOG_LEVEL": "WARNING"}


def unioncard(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``unioncard ARGS`` with ``env`` over a clean environment (no UNIONCARD_* of the test
    run), in its own session: no controlling terminal, so getpass reads stdin."""
    return subprocess.run(
        [str(UNIONCARD), *args],
        env={**base_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        start_new_session=True,
    )


def setup_args(code: str = "HB", name: str = "湖北省总工会", admin: str = "hb.admin") -> list[str]:
    return ["setup", "--org-code", code, "--org-name", name, "--admin", admin]
