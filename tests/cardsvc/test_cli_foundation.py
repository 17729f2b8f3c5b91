"""The operator's CLI on a fresh embedded database: migrate, seed, create the first admin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

UNIONCARD = Path(sys.executable).with_name("unioncard")


def run(var: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UNIONCARD_VAR_DIR": str(var)}
    env.pop("UNIONCARD_DATABASE_URL", None)
    return subprocess.run(
        [str(UNIONCARD), *args], env=env, capture_output=True, text=True, timeout=300, input=stdin
    )


def test_upgrade_seed_twice_and_staff_create(tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert run(var, "database", "upgrade", "--no-prompt").returncode == 0
    first = run(var, "demo", "seed")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["seed_federation"]["members"] == 240
    second = run(var, "demo", "seed")
    assert json.loads(second.stdout.strip().splitlines()[-1])["seed_federation"] == {}
    demo = json.loads((var / "demo.json").read_text())
    assert demo["staff"] and demo["members"] and demo["cards"] and demo["terminals"]
    assert oct((var / "keys.json").stat().st_mode & 0o777) == "0o600"
    # demo.json holds live terminal keys and the staff password: the owner's eyes only.
    assert oct((var / "demo.json").stat().st_mode & 0o777) == "0o600"

    env_pw = "a-long-enough-password"
    made = run(
        var,
        "staff",
        "create",
        "--username",
        "ops.admin",
        "--name",
        "运维管理员",
        "--org",
        "HB",
        "--password",
        env_pw,
    )
    assert made.returncode == 0, made.stderr
    assert "created staff ops.admin" in made.stdout
    again = run(
        var,
        "staff",
        "create",
        "--username",
        "ops.admin",
        "--name",
        "x",
        "--org",
        "HB",
        "--password",
        env_pw,
    )
    assert again.returncode != 0 and "username_taken" in again.stderr
    unknown = run(
        var,
        "staff",
        "create",
        "--username",
        "y.admin",
        "--name",
        "y",
        "--org",
        "NOPE",
        "--password",
        env_pw,
    )
    assert unknown.returncode != 0 and "no org with code NOPE" in unknown.stderr
    banner = run(var, "demo", "banner")
    assert "UnionCard-2026" in banner.stdout and "/schema" in banner.stdout
