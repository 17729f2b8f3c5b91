"""Fixtures and helpers of the fault tests (``test_faults_*.py``): import what a module needs.

* ``db_url``: PostgreSQL only, a private copy of the seeded demo federation (these tests kill
  PostgreSQL connections; SQLite has none to kill).
* :class:`RedisServer`: a redis-server of the test's own on a free port (never the shared
  one), to stop and start again.
* :func:`run_soak`: ``bench/soak.py`` as a subprocess against a scratch database, with a
  callback once its timed load has started (to inject a fault), returning its JSON summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _PREFIX, PG_URL, _asyncpg_url, _pg_admin, _replace_db, _template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="db_url", params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def pg_demo_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    tpl, _ = _template("postgres", request.getfixturevalue("demo_templates"), tmp_path_factory)
    name = f"{_PREFIX}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}" STRATEGY FILE_COPY'))
    yield _replace_db(_asyncpg_url(PG_URL or ""), name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def plain_pg_url(url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…`` (for asyncpg.connect, psql)."""
    return "postgresql://" + url.split("://", 1)[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throw-away redis-server (no persistence) that a test may stop and start again."""

    def __init__(self, workdir: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server is not installed")
        self.exe = exe
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def run_soak(
    tmp_path: Path,
    *,
    seconds: float,
    redis_url: str,
    during: Callable[[int, int], None] | None = None,
    members: int = 1000,
    clients: int = 8,
    timeout: float = 240,
) -> tuple[int, dict[str, Any], str]:
    """Run ``bench/soak.py``; ``during(port, server_pid)`` runs in a thread once the load has
    started. Returns the exit code, the JSON summary and the output."""
    assert PG_URL
    out_json = tmp_path / "soak.json"
    env = {**os.environ, "BENCH_PG": PG_URL.replace("+asyncpg", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench/soak.py"),
            "--seconds",
            str(seconds),
            "--members",
            str(members),
            "--clients",
            str(clients),
            "--redis-url",
            redis_url,
            "--json",
            str(out_json),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    fault: threading.Thread | None = None
    errors: list[BaseException] = []
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("soak: load started") and during is not None:
                fields = dict(w.split("=") for w in line.split()[3:])

                def _inject(port: int = int(fields["port"]), pid: int = int(fields["pid"])) -> None:
                    try:
                        during(port, pid)
                    except BaseException as exc:  # re-raised in the test's thread
                        errors.append(exc)

                fault = threading.Thread(target=_inject)
                fault.start()
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if fault is not None:
        fault.join(60)
    output = "".join(lines)
    if errors:
        raise errors[0]
    summary = json.loads(out_json.read_text()) if out_json.exists() else {}
    return rc, summary, output


def http_get(port: int, path: str, timeout: float = 5) -> tuple[int, bytes]:
    """A one-off GET on a fresh connection (status, body); (0, b"") if nothing answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return 0, b""
    head, _, body = data.partition(b"\r\n\r\n")
    return (int(head[9:12]) if len(head) >= 12 else 0), body


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (granian's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def answers_between(summary: dict[str, Any], start: float, end: float) -> dict[str, int]:
    """``"endpoint status" -> count`` of the answers given in wall-clock seconds [start, end)."""
    total: dict[str, int] = {}
    for second, counts in summary["series"].items():
        if start <= int(second) < end:
            for k, n in counts.items():
                total[k] = total.get(k, 0) + n
    return total


def server_errors(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Answers with a 5xx status, per endpoint."""
    return {
        ep: {s: n for s, n in counts.items() if int(s) >= 500}
        for ep, counts in summary["status"].items()
        if any(int(s) >= 500 for s in counts)
    }
