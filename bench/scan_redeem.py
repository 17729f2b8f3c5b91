"""Scan + redeem through the merchant API, end to end, against its ceilings (issue 6).

1. Creates a scratch PostgreSQL database, migrates it with ``unioncard database upgrade`` and
   seeds it: MEMBERS members with cards, a signing key, one merchant with a store and a terminal
   key, one programme (10 % off, federation-funded, a per-member monthly count limit; no shared
   budget row, so redemptions of distinct members do not serialise).
2. Starts the app with granian, 2 workers, production settings (Redis, JSON logs off, terminal
   rate limit off, no background job runner).
3. Measures, on that server: ``GET /health/live`` (the framework's ceiling), then 32 concurrent
   clients for 20 s, each doing a scan and a redemption per member (distinct members and cards,
   rotating codes minted beforehand). Clients speak HTTP/1.1 keep-alive over raw asyncio streams,
   so the client costs the shared 2 cores as little as possible.
4. Stops the server and runs pgbench (32 clients) on the redemption's own SQL (BEGIN, programme
   head with the idempotency probe, ledger INSERT, counter upsert, COMMIT): the database's
   ceiling.
5. Checks that the ledger holds exactly the successful redemptions.

Usage: ``.venv/bin/python bench/scan_redeem.py [--seconds 20] [--clients 32]``
Env: ``BENCH_PG`` (admin URL, default postgresql://postgres@127.0.0.1:5432/test),
``BENCH_REDIS`` (default redis://127.0.0.1:6379/13, flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
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


def make_app() -> Any:
    """The server's app factory (``granian --factory scan_redeem:make_app``).

    ``create_app`` as is once it mounts the merchants plugin; until then the terminal routes
    are registered on it here, with the ``terminal`` dependency and the key gate.
    """
    from litestar import Router
    from litestar.di import Provide

    from cardsvc.app import create_app
    from merchants.auth import GATE_STATE_KEY, TerminalGate, provide_terminal
    from merchants.terminal_api import TerminalRedeemController

    app = create_app()
    if GATE_STATE_KEY not in app.state:
        app.state[GATE_STATE_KEY] = TerminalGate.from_settings(app.state.settings, app.state.redis)
        app.register(
            Router(
                "/",
                route_handlers=[TerminalRedeemController],
                dependencies={"terminal": Provide(provide_terminal)},
            )
        )
    return app


# --- environment ---------------------------------------------------------------------------


def server_env(db_url: str, var_dir: Path) -> dict[str, str]:
    key = base64.urlsafe_b64encode(b"b" * 32).decode()
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
        "UNIONCARD_ENVIRONMENT": "production",
        "UNIONCARD_VAR_DIR": str(var_dir),
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_REDIS_URL": REDIS_URL,
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


async def seed(members: int, env: dict[str, str]) -> dict[str, Any]:
    """Members with cards, a signing key, a merchant terminal, a programme; minted codes."""
    for k, v in env.items():
        if k.startswith("UNIONCARD_"):
            os.environ[k] = v
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from benefits.service import create_program, publish_program
    from cardsvc.cards.keys import ensure_signing_key, load_signer
    from cardsvc.cards.models import Card
    from cardsvc.cards.service import mint_token
    from cardsvc.cards.token import Kind
    from cardsvc.db import import_all_models, make_engine
    from cardsvc.members.models import Member
    from cardsvc.orgs.models import Org
    from cardsvc.pii import PiiCipher
    from cardsvc.settings import Settings
    from cardsvc.staff.principal import SYSTEM
    from merchants.models import MerchantCategory
    from merchants.service import MerchantInput, create_merchant, create_store
    from merchants.terminals import create_terminal

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
        for chunk in range(0, members, 5000):
            await session.execute(insert(Member), member_rows[chunk : chunk + 5000])
            await session.execute(insert(Card), card_rows[chunk : chunk + 5000])
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
    # Codes are minted here (the phone's job), valid long enough for the whole run.
    codes = [
        mint_token(
            SimpleNamespace(status_index=c["status_index"], generation=1),  # type: ignore[arg-type]
            signer,
            kind=Kind.rotating,
            not_before=now,
            validity=timedelta(minutes=10),
        ).text
        for c in card_rows
    ]
    return {
        "key": issued.plain,
        "program_id": str(p.id),
        "merchant_id": str(merchant.id),
        "version_id": str(p.current_version_id),
        "store_id": str(store.id),
        "codes": codes,
    }


# --- a lean HTTP/1.1 keep-alive client ----------------------------------------------------------


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

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
        raw = await self.reader.readuntil(b"\r\n\r\n")
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

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


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


async def scan_redeem(
    port: int, clients: int, seconds: float, world: dict[str, Any], codes: list[str]
) -> dict[str, Any]:
    auth = f"Authorization: Bearer {world['key']}\r\nContent-Type: application/json\r\n"
    stop = time.perf_counter() + seconds
    it = iter(codes)
    pair_lat: list[float] = []
    scan_lat: list[float] = []
    redeem_lat: list[float] = []
    errors: list[str] = []
    ok = 0

    async def loop() -> None:
        nonlocal ok
        c = Conn("127.0.0.1", port)
        while time.perf_counter() < stop:
            code = next(it, None)
            if code is None:
                errors.append("ran out of seeded members")
                return
            t0 = time.perf_counter()
            s, body = await c.request(
                "POST",
                "/api/v1/scans",
                json.dumps({"code": code, "amount_fen": AMOUNT}).encode(),
                auth,
            )
            t1 = time.perf_counter()
            if s != 200:
                errors.append(f"scan {s} {body[:200]!r}")
                continue
            r, body = await c.request(
                "POST",
                "/api/v1/redemptions",
                json.dumps(
                    {"code": code, "program_id": world["program_id"], "amount_fen": AMOUNT}
                ).encode(),
                auth + f"Idempotency-Key: {uuid.uuid4().hex}\r\n",
            )
            t2 = time.perf_counter()
            if r != 201:
                errors.append(f"redeem {r} {body[:200]!r}")
                continue
            ok += 1
            scan_lat.append(t1 - t0)
            redeem_lat.append(t2 - t1)
            pair_lat.append(t2 - t0)
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    return {
        "ok": ok,
        "elapsed": elapsed,
        "pair": pair_lat,
        "scan": scan_lat,
        "redeem": redeem_lat,
        "errors": errors,
    }


# --- pgbench: the redemption's own SQL ------------------------------------------------------


def pgbench_script(world: dict[str, Any]) -> str:
    """BEGIN; head + idempotency probe; ledger INSERT; counter upsert; COMMIT — as redeem()."""
    period = datetime.now(UTC).strftime("M%Y-%m")
    # The idempotency probe takes a bound value, as redeem() does: a volatile expression such as
    # md5(random()) there would defeat the index and measure a sequential scan instead.
    return f"""\\set amount random(100, 10000)
\\set probe random(1, 2000000000)
BEGIN;
SELECT p.id, p.code, p.status, p.current_version_id, p.owner_org_path,
       (SELECT r.checkout_id FROM benefit_redemption r
         WHERE r.merchant_id = '{world["merchant_id"]}' AND r.idempotency_key = 'probe-' || :probe
           AND r.line = 0) AS existing
FROM benefit_program p WHERE p.id = '{world["program_id"]}';
INSERT INTO benefit_redemption (id, checkout_id, line, merchant_id, store_id, terminal_id,
    member_id, member_org_path, card_id, program_id, program_version_id, version_number,
    amount_fen, discount_fen, payable_fen, units, subsidy_fen, value_fen, occurred_at,
    idempotency_key, fingerprint, token_id, takes)
SELECT u, u, 0, '{world["merchant_id"]}', '{world["store_id"]}', NULL, gen_random_uuid(),
    'bench/', NULL, '{world["program_id"]}', '{world["version_id"]}', 1,
    :amount, :amount / 10, :amount - :amount / 10, 1, :amount / 10, :amount / 10, now(),
    md5(random()::text), md5(random()::text), substr(md5(random()::text), 1, 24),
    '[{{"p": "member_month_count", "m": "count", "s": "x", "k": "{period}", "n": 1,
       "l": 1000}}]'
FROM (SELECT gen_random_uuid() AS u) s;
INSERT INTO benefit_counter (id, program_id, policy_key, metric, scope_key, period_key, used,
                             "limit", last_take)
VALUES (gen_random_uuid(), '{world["program_id"]}', 'member_month_count', 'count',
        gen_random_uuid()::text, '{period}', 1, 1000, 1)
ON CONFLICT (program_id, policy_key, metric, scope_key, period_key)
DO UPDATE SET used = benefit_counter.used + 1, last_take = 1, "limit" = 1000
WHERE benefit_counter.used + 1 <= 1000
RETURNING used, last_take;
COMMIT;
"""


def run_pgbench(db_url: str, world: dict[str, Any], clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(pgbench_script(world))
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            fh.name,
            db_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(fh.name)
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if m is None:
        raise RuntimeError(out)
    return float(m.group(1))


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-qtAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--members", type=int, default=40_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", help="write py-spy collapsed stacks of each worker to this dir")
    args = ap.parse_args()

    name = f"uc_bench_scan_{os.getpid()}"
    head = ADMIN_URL.rsplit("/", 1)[0]
    db_url = f"{head}/{name}"
    psql(ADMIN_URL, f'CREATE DATABASE "{name}"')
    subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=True, capture_output=True)
    var_dir = Path(tempfile.mkdtemp(prefix="uc-bench-"))
    env = server_env(db_url, var_dir)
    server: subprocess.Popen[bytes] | None = None
    try:
        t = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv/bin/unioncard"), "database", "upgrade", "--no-prompt"],
            env={**env, "LITESTAR_APP": "cardsvc.app:create_app"},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        world = asyncio.run(seed(args.members, env))
        print(
            f"setup: migrated and seeded {args.members} members in {time.perf_counter() - t:.1f} s",
            flush=True,
        )

        port = free_port()
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/granian"),
                "--interface",
                "asgi",
                "--factory",
                "--workers",
                str(args.workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
                "scan_redeem:make_app",
            ],
            env=env,
            cwd=ROOT / "bench",
            start_new_session=True,
        )
        wait_ready(port)

        codes: list[str] = world["codes"]
        random.Random(1).shuffle(codes)
        live = asyncio.run(health_ceiling(port, args.clients, 5))
        warm = asyncio.run(scan_redeem(port, args.clients, 3, world, codes[:4000]))
        if warm["errors"]:
            raise RuntimeError(f"warm-up errors: {warm['errors'][:3]}")
        workers = worker_pids(server.pid)
        cpu_before = cpu_seconds(workers)
        spies = [
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--duration",
                    str(int(args.seconds)),
                    "-o",
                    f"{args.profile}/worker-{pid}.txt",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in (workers if args.profile else [])
        ]
        res = asyncio.run(scan_redeem(port, args.clients, args.seconds, world, codes[4000:]))
        server_cpu = cpu_seconds(workers) - cpu_before
        for spy in spies:
            spy.wait(30)
        stop_server(server)
        server = None

        ledger = int(
            psql(
                db_url,
                f"SELECT count(*) FROM benefit_redemption "
                f"WHERE merchant_id = '{world['merchant_id']}'",
            )
        )
        tps = run_pgbench(db_url, world, args.clients, 10)
        expected = warm["ok"] + res["ok"]
        pairs = res["ok"] / res["elapsed"]
        ratio = pairs / tps
        errors = len(res["errors"])
        print()
        print(f"{'what':<44}{'figure':>12}")
        print(f"{'GET /health/live, requests/s (ceiling)':<44}{live:>12.0f}")
        print(f"{'pgbench redemption SQL, TPS (ceiling)':<44}{tps:>12.0f}")
        print(f"{'scan+redeem pairs/s (redemptions/s)':<44}{pairs:>12.0f}")
        print(f"{'HTTP requests/s (2 per pair)':<44}{2 * pairs:>12.0f}")
        print(
            f"{'pair latency p50 / p99 (ms)':<44}"
            f"{pct(res['pair'], 0.5):>6.1f} /{pct(res['pair'], 0.99):>5.1f}"
        )
        print(
            f"{'scan p50 / p99 (ms)':<44}"
            f"{pct(res['scan'], 0.5):>6.1f} /{pct(res['scan'], 0.99):>5.1f}"
        )
        print(
            f"{'redeem p50 / p99 (ms)':<44}"
            f"{pct(res['redeem'], 0.5):>6.1f} /{pct(res['redeem'], 0.99):>5.1f}"
        )
        print(
            f"{'server CPU per pair (ms, both workers)':<44}{1000 * server_cpu / max(res['ok'], 1):>12.2f}"
        )
        print(f"{'errors':<44}{errors:>12}")
        print(f"{'ledger rows / successful redemptions':<44}{ledger:>6} /{expected:>5}")
        print(f"{'redemptions/s ÷ pgbench TPS (goal ≥ 0.10)':<44}{ratio:>12.3f}")
        for e in res["errors"][:5]:
            print("  error:", e)
        print(
            f"pairs_per_s={pairs:.0f} requests_per_s={2 * pairs:.0f} "
            f"p50_ms={pct(res['pair'], 0.5):.1f} p99_ms={pct(res['pair'], 0.99):.1f} "
            f"errors={errors} health_live_rps={live:.0f} pgbench_tps={tps:.0f} "
            f"ledger_ok={int(ledger == expected)} "
            f"server_cpu_ms_per_pair={1000 * server_cpu / max(res['ok'], 1):.2f} ratio={ratio:.3f}"
        )
        if errors or ledger != expected:
            sys.exit(1)
    finally:
        if server is not None:
            stop_server(server)
        psql(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], capture_output=True)


def worker_pids(root: int) -> list[int]:
    """The server's worker processes (granian's children), whose CPU time we account."""
    out = subprocess.run(["pgrep", "-P", str(root)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()] or [root]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


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
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


if __name__ == "__main__":
    main()
