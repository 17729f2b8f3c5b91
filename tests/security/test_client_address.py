"""The client address that rate limits and audit rows use: a client cannot choose it with
X-Forwarded-For. Only the proxies in ``UNIONCARD_TRUSTED_PROXIES`` are believed, in the app
itself and so in every server, ``unioncard run`` (uvicorn) included."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from litestar import Litestar

from cardsvc.app import create_app
from cardsvc.demo.seed import DEMO_PASSWORD
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.senders import RecordingSender
from tests.conftest import make_test_settings
from tests.support.faults import ROOT, free_port, http_get

PEER = "10.1.2.3"  # the address the connection really comes from
FORGED = "203.0.113.9"


@contextlib.asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """The app (started) and a client whose connection comes from ``PEER``."""
    app = create_app(settings)
    app.state.sender = RecordingSender()
    # Two one-time codes an hour per address: the third from the same address is refused.
    app.state.otp_policy = replace(app.state.otp_policy, per_ip_hour=2)
    async with app.lifespan():  # startup and shutdown, in this event loop
        transport = httpx.ASGITransport(app=cast("Any", app), client=(PEER, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield app, c


async def _login_ip(c: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await c.post(
        "/api/v1/staff/session",
        json={"username": "admin", "password": DEMO_PASSWORD},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = await c.get("/api/v1/audit", params={"action": "staff.login", "limit": 1})
    assert r.status_code == 200, r.text
    return str(r.json()["items"][0]["source_ip"])


async def _codes(c: httpx.AsyncClient, forwarded: list[str]) -> list[int]:
    statuses = []
    for i, addr in enumerate(forwarded):
        r = await c.post(
            "/api/v1/me/otp", json={"phone": f"1390000{i:04d}"}, headers={"x-forwarded-for": addr}
        )
        statuses.append(r.status_code)
    return statuses


async def test_forwarded_for_is_ignored_by_default(
    settings: Settings, demo: dict[str, Any]
) -> None:
    assert settings.trusted_proxies == ()
    async with _client(settings) as (_, c):
        assert await _login_ip(c, {"x-forwarded-for": FORGED}) == PEER
        # A fresh forged address per request does not escape the per-address limit.
        assert await _codes(c, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [
            202,
            202,
            429,
        ]


async def test_forwarded_for_is_believed_from_a_trusted_proxy(
    settings: Settings, demo: dict[str, Any]
) -> None:
    trusting = dataclasses.replace(settings, trusted_proxies=("10.0.0.0/8",))
    async with _client(trusting) as (_, c):
        assert await _login_ip(c, {"x-forwarded-for": FORGED}) == FORGED
        # The proxy appends the address it saw: the entry before it is the client's claim.
        assert await _login_ip(c, {"x-forwarded-for": f"192.0.2.1, {FORGED}"}) == FORGED
        # Each client behind the proxy has its own limit.
        assert await _codes(c, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [202] * 3
    other = dataclasses.replace(settings, trusted_proxies=("192.0.2.0/24",))
    async with _client(other) as (_, c):
        assert await _login_ip(c, {"x-forwarded-for": FORGED}) == PEER


# --- the embedded server ------------------------------------------------------------------------


def _env(db_url: str, var_dir: Path, trusted: str | None) -> dict[str, str]:
    # The test settings' keys, so that the seeded demo data decrypts.
    test = make_test_settings(db_url, var_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNIONCARD_", "LITESTAR_"))}
    env.update(
        {
            "UNIONCARD_ENVIRONMENT": "development",
            "UNIONCARD_VAR_DIR": str(var_dir),
            "UNIONCARD_DATABASE_URL": db_url,
            "UNIONCARD_SECRET_KEY": test.secret_key,
            "UNIONCARD_DATA_KEYS": ",".join(
                f"{kid}:{base64.urlsafe_b64encode(key).decode()}"
                for kid, key in test.data_keys.items()
            ),
            "UNIONCARD_LOOKUP_KEY": test.lookup_key.decode(),
            "UNIONCARD_LOG_LEVEL": "WARNING",
            "UNIONCARD_JOB_RUNNER": "false",
            # What an operator may have set for uvicorn: the app decides nonetheless.
            "FORWARDED_ALLOW_IPS": "*",
        }
    )
    if trusted is not None:
        env["UNIONCARD_TRUSTED_PROXIES"] = trusted
    return env


@contextlib.contextmanager
def _unioncard_run(env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/unioncard"), "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while http_get(port, "/health/live", timeout=1)[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def _login_ip_over_http(port: int) -> str:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
        r = c.post(
            "/api/v1/staff/session",
            json={"username": "admin", "password": DEMO_PASSWORD},
            headers={"x-forwarded-for": FORGED},
        )
        assert r.status_code == 200, r.text
        r = c.get("/api/v1/audit", params={"action": "staff.login", "limit": 1})
        assert r.status_code == 200, r.text
        return str(r.json()["items"][0]["source_ip"])


@pytest.mark.only_on("sqlite")  # the server's configuration does not depend on the database
@pytest.mark.parametrize(("trusted", "seen"), [(None, "127.0.0.1"), ("127.0.0.1", FORGED)])
def test_unioncard_run_believes_only_the_configured_proxies(
    db_url: str, demo: dict[str, Any], var_dir: Path, trusted: str | None, seen: str
) -> None:
    with _unioncard_run(_env(db_url, var_dir, trusted)) as port:
        assert _login_ip_over_http(port) == seen
