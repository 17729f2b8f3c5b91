"""The README's production walkthrough, followed on PostgreSQL from an empty database.

A role and a database of their own, secrets generated into files as the README generates them,
the settings read from an env file as systemd reads it, then: ``unioncard database upgrade``,
``unioncard setup``, ``unioncard run`` behind a proxy in ``UNIONCARD_TRUSTED_PROXIES`` (the
test plays the proxy: it sends ``X-Forwarded-For``/``X-Forwarded-Proto`` as Caddy does), the
administrator signs in over HTTP and creates the first union under the federation.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cardsvc.setup.support import (
    ADMIN_PASSWORD,
    UNIONCARD,
    base_env,
    setup_args,
    unioncard,
)
from tests.conftest import PG_URL, REDIS_URL, _asyncpg_url, _pg_admin, _replace_db

pytestmark = [pytest.mark.postgres, pytest.mark.only_on("postgres")]

CLIENT_IP = "203.0.113.7"  # the browser's address, as the proxy reports it
PROXY = {"x-forwarded-for": CLIENT_IP, "x-forwarded-proto": "https"}


@pytest.fixture
def empty_database() -> Iterator[str]:
    """``CREATE ROLE … LOGIN PASSWORD``, ``createdb --owner``: the README's step 2."""
    assert PG_URL
    name = f"uc_walk_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(24)
    asyncio.run(_pg_admin(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
    asyncio.run(_pg_admin(f"CREATE DATABASE {name} OWNER {name}"))
    admin_url = _replace_db(_asyncpg_url(PG_URL), name)
    scheme, rest = admin_url.split("://", 1)
    host = rest.rsplit("@", 1)[-1]
    try:
        yield f"{scheme}://{name}:{password}@{host}"
    finally:
        asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        asyncio.run(_pg_admin(f"DROP ROLE IF EXISTS {name}"))


def _env_file(etc: Path, database_url: str, port: int) -> dict[str, str]:
    """Step 3: secret files (mode 0640) and the env file; read back as systemd reads it."""
    secret_dir = etc / "secrets"
    secret_dir.mkdir(parents=True)
    files = {
        "secret_key": secrets.token_urlsafe(48),
        "lookup_key": secrets.token_urlsafe(48),
        "data_keys": "d1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    for name, value in files.items():
        (secret_dir / name).write_text(value + "\n")
        (secret_dir / name).chmod(0o640)
    lines = [
        "UNIONCARD_ENVIRONMENT=production",
        f"UNIONCARD_DATABASE_URL={database_url}",
        *([f"UNIONCARD_REDIS_URL={REDIS_URL}"] if REDIS_URL else []),
        *(f"UNIONCARD_{n.upper()}_FILE={secret_dir / n}" for n in files),
        f"UNIONCARD_VAR_DIR={etc.parent / 'var'}",
        f"UNIONCARD_PUBLIC_URL=https://card.example.org:{port}",
        "UNIONCARD_TRUSTED_PROXIES=127.0.0.1",
        "UNIONCARD_JOB_RUNNER=false",
        "UNIONCARD_LOG_FORMAT=json",
    ]
    (etc / "env").write_text("\n".join(lines) + "\n")
    return dict(line.split("=", 1) for line in (etc / "env").read_text().splitlines())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1][-3000:]
        try:
            if httpx.get(f"{base}/health/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError("the server did not become ready")


def test_production_walkthrough(empty_database: str, tmp_path: Path) -> None:
    port = _free_port()
    env = _env_file(tmp_path / "etc", empty_database, port)

    upgraded = unioncard(env, "database", "upgrade", "--no-prompt")
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    made = unioncard({**env, "UNIONCARD_ADMIN_PASSWORD": ADMIN_PASSWORD}, *setup_args())
    assert made.returncode == 0, made.stderr[-3000:]
    assert "created the root org HB" in made.stdout

    server = subprocess.Popen(
        [str(UNIONCARD), "run", "--host", "127.0.0.1", "--port", str(port)],
        env={**base_env(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server)
        with httpx.Client(base_url=base, headers=PROXY, timeout=30) as http:
            signed_in = http.post(
                "/api/v1/staff/session",
                json={"username": "hb.admin", "password": ADMIN_PASSWORD},
            )
            assert signed_in.status_code == 200, signed_in.text
            # Behind TLS (as the trusted proxy says): a Secure cookie, and HSTS.
            assert "secure" in signed_in.headers["set-cookie"].lower()
            assert "strict-transport-security" in signed_in.headers
            # httpx sends a Secure cookie to https URLs only: this one goes as the proxy's would.
            http.headers["cookie"] = f"uc_staff={signed_in.cookies['uc_staff']}"
            http.headers["x-csrf-token"] = signed_in.json()["csrf_token"]

            root = http.get("/api/v1/orgs").json()["items"][0]
            assert (root["code"], root["level"]) == ("HB", "provincial")
            child = http.post(
                "/api/v1/orgs",
                json={
                    "code": "HB-WH",
                    "name": "武汉市总工会",
                    "level": "city",
                    "parent_id": root["id"],
                },
            )
            assert child.status_code == 201, child.text
            audit = http.get("/api/v1/audit", params={"action": "org.create"}).json()["items"]
            by_admin = [e for e in audit if e["actor_name"] == "hb.admin"]
            # The client's address as the trusted proxy reported it, not the proxy's own.
            assert [e["source_ip"] for e in by_admin] == [CLIENT_IP]
            assert [e["actor_name"] for e in audit if e["actor_name"] == "system"] == ["system"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # Setup again, as a re-run deployment script would: nothing to do.
    again = unioncard(env, *setup_args())
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stderr
