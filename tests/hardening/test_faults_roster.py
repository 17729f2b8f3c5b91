"""A restart during a roster import: the app (granian, job runner on) is killed outright
(SIGKILL of the whole process group, as a crash or a container restart) while an import is
half done, and started again. The job resumes from its last checkpoint and completes with
every row imported exactly once; or, when it has used up its attempts, it is marked failed
with a reason (zh + en) and the rows of its committed batches stay, no more and no less.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cardsvc.roster.sample import sample_rows, write_csv
from tests.cardsvc.roster.conftest import IMPORTS, XL_UNIONS
from tests.support.faults import (
    ROOT,
    free_port,
    http_get,
    pg_demo_db_url,  # noqa: F401 (fixture)
    plain_pg_url,
)

pytestmark = pytest.mark.postgres
ROWS = 12_000


def _env(db_url: str, var_dir: Path, max_attempts: int) -> dict[str, str]:
    # The demo template's keys (tests.conftest.make_test_settings), so its PII decrypts.
    return {
        **os.environ,
        "UNIONCARD_ENVIRONMENT": "development",
        "UNIONCARD_VAR_DIR": str(var_dir),
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "UNIONCARD_DATA_KEYS": "t1:" + base64.urlsafe_b64encode(b"k" * 32).decode(),
        "UNIONCARD_LOOKUP_KEY": "test-lookup-key-0123456789abcdef",
        "UNIONCARD_LOG_LEVEL": "WARNING",
        "UNIONCARD_JOB_RUNNER": "true",
        "UNIONCARD_JOB_POLL_MS": "100",
        "UNIONCARD_JOB_HEARTBEAT_SECONDS": "1",
        "UNIONCARD_JOB_STALE_SECONDS": "3",
        "UNIONCARD_JOB_MAX_ATTEMPTS": str(max_attempts),
        "UNIONCARD_ROSTER_BATCH_SIZE": "200",
    }


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "cardsvc.app:create_app",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if http_get(port, "/health/live", timeout=1)[0] == 200:
            return proc
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("the app did not start")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _client(port: int) -> httpx.Client:
    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    r = c.post("/api/v1/staff/session", json={"username": "xl.admin", "password": "UnionCard-2026"})
    assert r.status_code == 200, r.text
    c.headers["x-csrf-token"] = r.json()["csrf_token"]
    return c


async def _members(db_url: str) -> int:
    conn = await asyncpg.connect(plain_pg_url(db_url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM member"))
    finally:
        await conn.close()


def _wait(c: httpx.Client, job: str, until: Any, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        out = c.get(f"{IMPORTS}/{job}").json()
        if until(out) or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


@pytest.mark.parametrize("max_attempts", [3, 1], ids=["resumes", "fails_with_reason"])
async def test_restart_during_roster_import(db_url: str, tmp_path: Path, max_attempts: int) -> None:
    env = _env(db_url, tmp_path / "var", max_attempts)
    roster = write_csv(tmp_path / "roster.csv", sample_rows(ROWS, XL_UNIONS, seed=5, start=600_000))
    before = await _members(db_url)
    port = free_port()
    proc = _start(env, port)
    try:
        with contextlib.closing(_client(port)) as c:
            r = c.post(
                IMPORTS,
                files={"file": ("roster.csv", roster.read_bytes())},
                data={"dry_run": "false"},
            )
            assert r.status_code in (200, 201, 202), r.text
            job = r.json()["id"]
            mid = _wait(
                c,
                job,
                lambda o: (
                    o["rows_done"] >= 1000 or (o["status"] != "queued" and o["rows_done"] > 0)
                ),
                60,
            )
            assert mid["status"] == "running" and 0 < mid["rows_done"] < ROWS, mid
        _kill(proc)  # no shutdown hook runs: the job stays "running" with a stale heartbeat

        proc = _start(env, port)
        with contextlib.closing(_client(port)) as c:
            out = _wait(c, job, lambda o: o["status"] in ("succeeded", "failed"), 120)
    finally:
        _kill(proc)

    after = await _members(db_url)
    if max_attempts > 1:
        assert out["status"] == "succeeded" and out["attempts"] == 2, out
        assert out["rows_done"] == ROWS and out["counts"]["created"] == ROWS, out
        assert after == before + ROWS
    else:
        assert out["status"] == "failed", out
        assert out["error"]["code"] == "job_abandoned", out
        assert out["error"]["message"] and out["error"]["message_en"], out
        # The committed batches stay (their rows are checkpointed), nothing of the open one.
        assert 0 < out["rows_done"] < ROWS and after == before + out["rows_done"], (out, after)
