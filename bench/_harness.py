"""What the HTTP benchmarks share: a scratch database, the seed, the server, a lean client.

``bench/scan_redeem.py`` and ``bench/soak.py`` (and the fault tests in ``tests/hardening``, which
run ``soak.py``) use these: create and migrate a scratch PostgreSQL database, seed members with
cards, a merchant terminal and a programme, start the app with granian (N workers, production
settings, Redis), drive it with an HTTP/1.1 keep-alive client over raw asyncio streams, and
read the workers' memory. Not a benchmark itself (``bench/all.py`` skips ``_*.py``).

Env: ``BENCH_PG`` (admin URL, default postgresql://postgres@127.0.0.1:5432/test),
``BENCH_REDIS`` (default redis://127.0.0.1:6379/13), ``BENCH_DB_PREFIX`` (put before the scratch
databases' names, default none).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
USCC = "91420502MA4TEXT011"
PROGRAM_CODE = "BENCH-DINE"
AMOUNT = 8800
STAFF_USER = "bench.admin"
STAFF_PASSWORD = "Bench-Password-2026"


# --- environment ---------------------------------------------------------------------------


def server_env(db_url: str, var_dir: Path, redis_url: str = REDIS_URL) -> dict[str, str]:
    """Production settings with fixed bench keys; the terminal rate limit and job runner off."""
    key = base64.urlsafe_b64encode(b"b" * 32).decode()
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "UNIONCARD_ENVIRONMENT": "production",
        "UNIONCARD_VAR_DIR": str(var_dir),
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_REDIS_URL": redis_url,
        "UNIONCARD_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "UNIONCARD_DATA_KEYS": f"b1:{key}",
        "UNIONCARD_LOOKUP_KEY": "bench-lookup-key-0123456789abcdef",
        "UNIONCARD_LOG_LEVEL": "WARNING",
        "UNIONCARD_TERMINAL_RATE_LIMIT_PER_MINUTE": "0",
        "UNIONCARD_JOB_RUNNER": "false",
        "UNIONCARD_SMS_SENDER": "memory",
        "UNIONCARD_DB_POOL_SIZE": "20",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- seeding -------------------------------------------------------------------------------


async def seed(
    members: int,
    env: dict[str, str],
    *,
    codes: bool = True,
    phones: int = 0,
    staff: bool = False,
) -> dict[str, Any]:
    """Members with cards, a signing key, a merchant terminal, a programme.

    ``codes``: one rotating code per card, minted now and valid 10 minutes (``world["codes"]``);
    ``world["mint"](i)`` mints a fresh one for card ``i`` at any time. ``phones``: the first N
    members get a phone hash (``world["phone_hashes"]``), for member sessions. ``staff``: a
    federation admin ``STAFF_USER`` on the bench org, for staff report queries.
    """
    for k, v in env.items():
        if k.startswith("UNIONCARD_"):
            os.environ[k] = v
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from benefits.public import create_program, publish_program
    from cardsvc.cards.keys import ensure_signing_key, load_signer
    from cardsvc.cards.minting import mint_token
    from cardsvc.cards.models import Card, CardIndex
    from cardsvc.cards.token import Kind
    from cardsvc.kernel.db import import_all_models, make_engine
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.principal import SYSTEM
    from cardsvc.kernel.settings import Settings
    from cardsvc.members.models import Member, MemberIdentity
    from cardsvc.orgs.models import Org
    from merchants.models import MerchantCategory
    from merchants.onboarding.service import MerchantInput, create_merchant, create_store
    from merchants.onboarding.terminals import create_terminal

    import_all_models()
    settings = Settings.from_env()
    cipher = PiiCipher.from_settings(settings)
    engine = make_engine(settings.database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    org_id = uuid.uuid4()
    org_path = f"{org_id}/"
    now = datetime.now(UTC)
    async with maker() as session, session.begin():
        await session.execute(
            insert(Org),
            [
                {
                    "id": org_id,
                    "code": "BENCH",
                    "name": "基准测试总工会",
                    "level": "provincial",
                    "path": org_path,
                    "status": "active",
                }
            ],
        )
        member_rows, card_rows = [], []
        for i in range(members):
            mid = uuid.uuid4()
            member_rows.append(
                {
                    "id": mid,
                    "member_no": f"B{i:09d}",
                    "name": "张三明",
                    "id_number_enc": "x",
                    "id_number_hash": f"{i:064x}",
                    "data_key_id": "b1",
                    "birth_date": date(1985, 1, 1),
                    "gender": "M",
                    "org_id": org_id,
                    "org_path": org_path,
                    "status": "active",
                    "categories": [],
                    "extra": {},
                    "region": "420502",
                    "joined_on": date(2020, 1, 1),
                    "phone_hash": f"bench-phone-{i:08d}" if i < phones else None,
                }
            )
            card_rows.append(
                {
                    "id": uuid.uuid4(),
                    "member_id": mid,
                    "number": f"9{i:015d}",
                    "generation": 1,
                    "status": "active",
                    "status_index": i + 1,
                    "issued_at": now,
                }
            )
        # The lookup tables the services write with each member and card (docs/distribution.toml).
        identities = [
            {"id_number_hash": m["id_number_hash"], "member_id": m["id"]} for m in member_rows
        ]
        indexes = [
            {"status_index": c["status_index"], "member_id": c["member_id"], "card_id": c["id"]}
            for c in card_rows
        ]
        for chunk in range(0, members, 5000):
            await session.execute(insert(Member), member_rows[chunk : chunk + 5000])
            await session.execute(insert(MemberIdentity), identities[chunk : chunk + 5000])
            await session.execute(insert(Card), card_rows[chunk : chunk + 5000])
            await session.execute(insert(CardIndex), indexes[chunk : chunk + 5000])
        await ensure_signing_key(session, cipher)
        merchant = await create_merchant(
            session,
            SYSTEM,
            cipher,
            MerchantInput(
                org_id=org_id,
                legal_name="宜昌市基准测试餐饮有限公司",
                display_name="基准餐厅",
                uscc=USCC,
                category=MerchantCategory.dining,
                region="420502",
                contact_name="王师傅",
                contact_phone="13907170001",
            ),
        )
        store = await create_store(
            session,
            SYSTEM,
            merchant.id,
            name="基准门店",
            address="宜昌市西陵区解放路 1 号",
            region="420502",
        )
        _, issued = await create_terminal(session, SYSTEM, store.id, name="1 号收银台")
        signer = await load_signer(session, cipher)
        if staff:
            from cardsvc.kernel.permissions import Role
            from cardsvc.staff.service import create_staff

            await create_staff(
                session,
                SYSTEM,
                username=STAFF_USER,
                display_name="基准测试管理员",
                password=STAFF_PASSWORD,
                grants=[(Role.federation_admin, org_id)],
            )
    async with engine.connect() as conn:
        p = await create_program(
            conn,
            code=PROGRAM_CODE,
            owner_org_id=org_id,
            owner_org_path=org_path,
            rules={
                "name": "餐饮九折(基准)",
                "benefit": {"kind": "percent_off", "basis_points": 1000, "funded_by": "federation"},
                "scope": {"merchant_categories": ["dining"]},
                "limits": [
                    {"metric": "count", "scope": "member", "period": "month", "limit": 1000}
                ],
            },
        )
        p = await publish_program(conn, program_id=p.id)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    await engine.dispose()

    def mint(i: int, validity: timedelta = timedelta(minutes=10)) -> str:
        """A fresh rotating code of card ``i`` (the phone's job), valid from a second ago."""
        card = SimpleNamespace(status_index=i + 1, generation=1)
        start = datetime.now(UTC) - timedelta(seconds=1)
        return mint_token(
            card,  # type: ignore[arg-type]  # a stand-in: mint_token reads these two fields
            signer,
            kind=Kind.rotating,
            not_before=start,
            validity=validity,
        ).text

    return {
        "key": issued.plain,
        "org_id": str(org_id),
        "program_id": str(p.id),
        "merchant_id": str(merchant.id),
        "version_id": str(p.current_version_id),
        "store_id": str(store.id),
        "members": members,
        "codes": [mint(i) for i in range(members)] if codes else [],
        "mint": mint,
        "phone_hashes": [f"bench-phone-{i:08d}" for i in range(phones)],
        # A session's phone is stored encrypted; the app refuses one it cannot decrypt.
        "phone_enc": cipher.encrypt("phone", "+8613800000000"),
    }


# --- a lean HTTP/1.1 keep-alive client ----------------------------------------------------------


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.head = b""  # the last response's status line and headers

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        raw = self.head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        lower = raw.lower()
        m = re.search(rb"content-length: *(\d+)", lower)
        if m:
            payload = await self.reader.readexactly(int(m.group(1)))
        else:  # chunked
            payload = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                payload += chunk[:-2]
        if b"connection: close" in lower:
            self.writer.close()
            self.writer = None
        return status, payload

    def header(self, name: str) -> str | None:
        """A header of the last response (the first one of that name)."""
        m = re.search(rb"\r\n" + name.lower().encode() + rb": *([^\r]*)", self.head.lower())
        return m.group(1).decode() if m else None

    def cookie(self, name: str) -> str | None:
        """The value of a cookie set by the last response."""
        m = re.search(rb"set-cookie: *" + name.encode() + rb"=([^;\r]*)", self.head, re.I)
        return m.group(1).decode() if m else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def pct(data: list[float], q: float) -> float:
    data = sorted(data)
    return data[min(len(data) - 1, int(q * len(data)))] * 1000 if data else 0.0


async def health_ceiling(port: int, clients: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        c = Conn("127.0.0.1", port)
        while time.perf_counter() < stop:
            status, _ = await c.request("GET", "/health/live")
            if status != 200:
                raise RuntimeError(f"/health/live answered {status}")
            done += 1
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return done / (time.perf_counter() - t0)


# --- scratch database, server, processes -------------------------------------------------------


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-qtAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


@contextlib.contextmanager
def scratch_database(prefix: str, admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A fresh PostgreSQL database (its URL), dropped afterwards whatever happens."""
    # BENCH_DB_PREFIX: for a shared server where each user owns a namespace of database names.
    name = f"{os.environ.get('BENCH_DB_PREFIX', '')}{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    psql(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        psql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    subprocess.run(["redis-cli", "-u", url, "FLUSHDB"], capture_output=True, check=False)


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/unioncard"), "database", "upgrade", "--no-prompt"],
        env={**env, "LITESTAR_APP": "cardsvc.app:create_app"},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def unioncard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the operators' CLI against the bench database (output captured, exit code kept)."""
    return subprocess.run(
        [str(ROOT / ".venv/bin/unioncard"), *args],
        env={**env, "LITESTAR_APP": "cardsvc.app:create_app"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def start_server(
    env: dict[str, str], port: int, workers: int, *, respawn: bool = False
) -> subprocess.Popen[bytes]:
    """``cardsvc.app:create_app`` under granian in its own process group; waits until live."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/granian"),
            "--interface",
            "asgi",
            "--factory",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            *(["--respawn-failed-workers", "--respawn-interval", "0.5"] if respawn else []),
            "cardsvc.app:create_app",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        wait_ready(port)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


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
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def profile(pids: list[int], seconds: float, out_dir: str | None) -> list[subprocess.Popen[bytes]]:
    """py-spy sampling each of ``pids`` for ``seconds`` into ``out_dir``/worker-PID.txt
    (collapsed stacks; ``pip install py-spy``); nothing without ``out_dir``. Wait on the
    processes returned before reading the files."""
    if not out_dir:
        return []
    os.makedirs(out_dir, exist_ok=True)
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")  # the venv's
    return [
        subprocess.Popen(
            [
                *(spy, "record", "--pid", str(pid), "--format", "raw", "--nonblocking"),
                "--gil",  # only the thread holding the GIL: where the workers' CPU goes
                *("--duration", str(int(seconds)), "-o", f"{out_dir}/worker-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def var_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="uc-bench-"))
