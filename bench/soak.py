"""Soak: mixed traffic for minutes on PostgreSQL + Redis with 2 workers; nothing may degrade.

1. Creates and migrates a scratch PostgreSQL database and seeds it (``_harness.seed``): MEMBERS
   members with cards, one merchant terminal, one programme, a federation admin, and member
   sessions (in Redis) for the first 200 members.
2. Starts the app with granian (2 workers, production settings, Redis, workers respawned if
   they die). The terminal rate limit is on but set out of reach, so every request still goes
   through the limiter's Redis pipeline.
3. Baseline in the same run: ``GET /health/live`` requests/s for a few seconds.
4. CLIENTS concurrent clients for SECONDS, each picking, per request: a scan (25 %), a
   redemption with a fresh rotating code (30 %), a retry of an earlier redemption with its
   Idempotency-Key (10 %, must replay), a used phone code under a new key (3 %, must be
   refused as ``token_replayed``), a reversal of an earlier redemption (5 %), a member's
   card-token refresh (20 %) and a staff report query (7 %, redemptions or members report).
   A redemption or reversal that gets no answer (connection dropped) or a 503 is retried with
   the same Idempotency-Key, as a till would; a 401 on a member or staff request signs in
   again (sessions live in Redis).
5. Prints throughput, p50/p99 per endpoint, answers by status, 5xx (must be 0), the workers'
   memory at start and end, and ``unioncard benefits reconcile --no-fix`` (must find no
   drift); checks that the ledger holds exactly the redemptions the clients were told happened.

Usage: ``.venv/bin/python bench/soak.py [--seconds 600] [--clients 16] [--members 5000]``
``--redis-url`` (default ``BENCH_REDIS``), ``--json FILE`` (the summary, per-second answers
included, for the fault tests in ``tests/hardening``). Exit 1 if any 5xx, drift or ledger
mismatch. Prints ``soak: load started port=… pid=…`` when the timed load begins.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from _harness import (
    AMOUNT,
    REDIS_URL,
    STAFF_PASSWORD,
    STAFF_USER,
    Conn,
    children,
    flush_redis,
    free_port,
    health_ceiling,
    migrate,
    pct,
    psql,
    rss_mb,
    scratch_database,
    seed,
    server_env,
    start_server,
    stop_server,
    unioncard,
    var_dir,
)

PHONES = 200
# (endpoint, weight): the traffic mix
MIX = [
    ("scan", 25),
    ("redeem", 30),
    ("retry", 10),
    ("replay", 3),
    ("reversal", 5),
    ("token", 20),
    ("report", 7),
]
# Answers that are the expected outcome of each request kind (anything else is counted).
EXPECTED = {
    "scan": {200},
    "redeem": {200, 201},  # 200: a retry after a dropped connection found it committed
    "retry": {200},
    "replay": {409},  # a used phone code under a new key: token_replayed
    "reversal": {200, 201},
    "token": {200},
    "report": {200},
}
IDEMPOTENT_ATTEMPTS = 20


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    status: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    # per wall-clock second: "endpoint status" -> count (for the fault tests)
    series: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    dropped: Counter[str] = field(default_factory=Counter)  # connection lost, no answer
    signins: int = 0
    wrong_refusals: int = 0
    redeemed: set[str] = field(default_factory=set)  # idempotency keys told "done"
    samples: list[str] = field(default_factory=list)

    def note(self, endpoint: str, status: int, seconds: float, body: bytes) -> None:
        self.latency[endpoint].append(seconds)
        self.status[endpoint][status] += 1
        self.series[int(time.time())][f"{endpoint} {status}"] += 1
        if status not in EXPECTED[endpoint] and len(self.samples) < 20:
            self.samples.append(f"{endpoint} {status} {body[:200]!r}")


@dataclass
class World:
    port: int
    key: str
    program_id: str
    org_id: str
    members: int
    mint: Any
    phone_hashes: list[str]
    phone_enc: str
    redis_url: str
    staff_cookie: str = ""
    member_cookies: dict[int, str] = field(default_factory=dict)
    done: deque[tuple[str, str, str]] = field(default_factory=lambda: deque(maxlen=2000))


async def member_signin(world: World, slot: int, stats: Stats) -> None:
    """A member session, as the phone sign-in leaves it (written straight into Redis)."""
    from redis.asyncio import Redis

    from cardsvc.kernel.stores import make_store_registry
    from cardsvc.memberauth.sessions import open_member_session

    redis = Redis.from_url(world.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        s = await open_member_session(
            make_store_registry(redis).get("sessions"),
            phone_hash=world.phone_hashes[slot],
            phone_enc=world.phone_enc,
            max_age=3600,
        )
        world.member_cookies[slot] = s.token
        stats.signins += 1
    finally:
        await redis.aclose()


async def staff_signin(world: World, conn: Conn, stats: Stats) -> None:
    body = json.dumps({"username": STAFF_USER, "password": STAFF_PASSWORD}).encode()
    status, _ = await conn.request(
        "POST", "/api/v1/staff/session", body, "Content-Type: application/json\r\n"
    )
    if status in (200, 201) and (cookie := conn.cookie("uc_staff")):
        world.staff_cookie = cookie
        stats.signins += 1


async def timed(
    conn: Conn, stats: Stats, endpoint: str, method: str, path: str, body: bytes, headers: str
) -> tuple[int, bytes] | None:
    """One request; None (and the connection reset) if the connection dropped unanswered."""
    t0 = time.perf_counter()
    try:
        status, payload = await asyncio.wait_for(conn.request(method, path, body, headers), 30)
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        conn.close()
        stats.dropped[endpoint] += 1
        return None
    stats.note(endpoint, status, time.perf_counter() - t0, payload)
    return status, payload


async def idempotent(
    conn: Conn, stats: Stats, endpoint: str, path: str, body: bytes, headers: str
) -> tuple[int, bytes] | None:
    """A mutation retried with the same Idempotency-Key until it gets a definite answer."""
    for _ in range(IDEMPOTENT_ATTEMPTS):
        got = await timed(conn, stats, endpoint, "POST", path, body, headers)
        if got is None:
            await asyncio.sleep(0.2)
            continue
        if got[0] == 503:
            await asyncio.sleep(0.5)
            continue
        return got
    return None


async def client(world: World, stats: Stats, stop: float, seed_: int) -> None:
    rnd = random.Random(seed_)
    conn = Conn("127.0.0.1", world.port)
    auth = f"Authorization: Bearer {world.key}\r\nContent-Type: application/json\r\n"
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    while time.time() < stop:
        kind = rnd.choices(kinds, weights)[0]
        if kind in ("retry", "replay", "reversal") and not world.done:
            kind = "redeem"
        if kind == "scan":
            code = world.mint(rnd.randrange(world.members))
            body = json.dumps({"code": code, "amount_fen": AMOUNT}).encode()
            await timed(conn, stats, "scan", "POST", "/api/v1/scans", body, auth)
        elif kind == "redeem":
            code = world.mint(rnd.randrange(world.members))
            key = uuid.uuid4().hex
            body = json.dumps(
                {"code": code, "program_id": world.program_id, "amount_fen": AMOUNT}
            ).encode()
            got = await idempotent(
                conn,
                stats,
                "redeem",
                "/api/v1/redemptions",
                body,
                auth + f"Idempotency-Key: {key}\r\n",
            )
            if got is not None and got[0] in (200, 201):
                stats.redeemed.add(key)
                world.done.append((key, body.decode(), json.loads(got[1])["id"]))
        elif kind == "retry":
            key, body_s, _ = rnd.choice(world.done)
            await timed(
                conn,
                stats,
                "retry",
                "POST",
                "/api/v1/redemptions",
                body_s.encode(),
                auth + f"Idempotency-Key: {key}\r\n",
            )
        elif kind == "replay":
            _, body_s, _ = rnd.choice(world.done)
            got = await timed(
                conn,
                stats,
                "replay",
                "POST",
                "/api/v1/redemptions",
                body_s.encode(),
                auth + f"Idempotency-Key: replay-{uuid.uuid4().hex}\r\n",
            )
            if got is not None and got[0] == 409 and b"token_replayed" not in got[1]:
                stats.wrong_refusals += 1  # refused, but not as a replay
                stats.samples.append(f"replay 409 {got[1][:200]!r}")
        elif kind == "reversal":
            _, _, rid = world.done.popleft()
            body = json.dumps({"reason": "顾客退单 soak"}).encode()
            await idempotent(
                conn,
                stats,
                "reversal",
                f"/api/v1/redemptions/{rid}/reversal",
                body,
                auth + f"Idempotency-Key: rev-{uuid.uuid4().hex}\r\n",
            )
        elif kind == "token":
            slot = rnd.randrange(len(world.phone_hashes))
            if slot not in world.member_cookies:
                with contextlib.suppress(Exception):  # Redis down: try again next time
                    await member_signin(world, slot, stats)
            cookie = world.member_cookies.get(slot, "none")
            got = await timed(
                conn,
                stats,
                "token",
                "GET",
                "/api/v1/me/card/token",
                b"",
                f"Cookie: uc_member={cookie}\r\n",
            )
            if got is not None and got[0] == 401:
                world.member_cookies.pop(slot, None)  # the session was lost (Redis restart)
        else:
            which = rnd.choice(("redemptions", "members"))
            got = await timed(
                conn,
                stats,
                "report",
                "GET",
                f"/api/v1/reports/{which}?org_id={world.org_id}",
                b"",
                f"Cookie: uc_staff={world.staff_cookie or 'none'}\r\n",
            )
            if got is not None and got[0] == 401:
                await staff_signin(world, conn, stats)
    conn.close()


async def load(world: World, clients: int, seconds: float) -> tuple[Stats, float]:
    stats = Stats()
    conn = Conn("127.0.0.1", world.port)
    await staff_signin(world, conn, stats)
    conn.close()
    for slot in range(len(world.phone_hashes)):
        await member_signin(world, slot, stats)
    t0 = time.perf_counter()
    stop = time.time() + seconds
    await asyncio.gather(*(client(world, stats, stop, i) for i in range(clients)))
    return stats, time.perf_counter() - t0


def workers_rss(server_pid: int) -> list[float]:
    return [round(rss_mb(pid), 1) for pid in children(server_pid)]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600, help="length of the timed load")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--redis-url", default=REDIS_URL, help="flushed before and after")
    ap.add_argument("--json", dest="json_out", help="write the summary here (JSON)")
    ap.add_argument(
        "--mix", help="weights, e.g. scan=25,redeem=30 (others 0); default: the mix above"
    )
    args = ap.parse_args()
    if args.mix:
        given = dict(part.split("=") for part in args.mix.split(","))
        MIX[:] = [(k, int(given.get(k, 0))) for k, _ in MIX]

    flush_redis(args.redis_url)
    try:
        with scratch_database("uc_bench_soak") as db_url:
            ok = run(args, db_url)
    finally:
        flush_redis(args.redis_url)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, db_url: str) -> bool:
    env = server_env(db_url, var_dir(), args.redis_url)
    env["UNIONCARD_TERMINAL_RATE_LIMIT_PER_MINUTE"] = "100000000"
    t = time.perf_counter()
    migrate(env)
    seeded = asyncio.run(seed(args.members, env, codes=False, phones=PHONES, staff=True))
    print(f"setup: migrated and seeded {args.members} members in {time.perf_counter() - t:.1f} s")
    port = free_port()
    server = start_server(env, port, args.workers, respawn=True)
    world = World(
        port=port,
        key=seeded["key"],
        program_id=seeded["program_id"],
        org_id=seeded["org_id"],
        members=args.members,
        mint=seeded["mint"],
        phone_hashes=seeded["phone_hashes"],
        phone_enc=seeded["phone_enc"],
        redis_url=args.redis_url,
    )
    try:
        live = asyncio.run(health_ceiling(port, args.clients, 3 if args.seconds < 120 else 10))
        rss_start = workers_rss(server.pid)
        print(f"soak: load started port={port} pid={server.pid}", flush=True)
        stats, elapsed = asyncio.run(load(world, args.clients, args.seconds))
        rss_end = workers_rss(server.pid)
    finally:
        stop_server(server)

    recon = unioncard(env, "benefits", "reconcile", "--no-fix")
    try:
        report = json.loads(recon.stdout.strip().splitlines()[0])
    except (ValueError, IndexError):
        report = {"ok": False, "error": recon.stdout[-500:] + recon.stderr[-500:]}
    reconcile_ok = recon.returncode == 0 and bool(report.get("ok"))
    keys = set(
        psql(db_url, "SELECT idempotency_key FROM benefit_redemption WHERE line = 0").split()
    )
    ledger_ok = keys == stats.redeemed

    total = sum(sum(c.values()) for c in stats.status.values())
    rps = total / elapsed
    five = sum(n for c in stats.status.values() for s, n in c.items() if s >= 500)
    status500 = sum(c[500] for c in stats.status.values())
    unexpected = stats.wrong_refusals + sum(
        n for ep, c in stats.status.items() for s, n in c.items() if s not in EXPECTED[ep]
    )
    redemptions = stats.status["redeem"][201]

    print()
    print(f"{'endpoint':<10}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}  answers")
    for ep, _ in MIX:
        lat = stats.latency.get(ep, [])
        answers = " ".join(f"{s}:{n}" for s, n in sorted(stats.status[ep].items()))
        print(f"{ep:<10}{len(lat):>10}{pct(lat, 0.5):>9.1f}{pct(lat, 0.99):>9.1f}  {answers}")
    print()
    print(f"{'what':<46}{'figure':>14}")
    print(f"{'run, seconds (clients)':<46}{elapsed:>10.0f} ({args.clients})")
    print(f"{'GET /health/live requests/s (same-run ceiling)':<46}{live:>14.0f}")
    print(f"{'requests/s, all endpoints':<46}{rps:>14.0f}")
    print(f"{'redemptions/s (new)':<46}{redemptions / elapsed:>14.1f}")
    print(f"{'5xx answers (must be 0)':<46}{five:>14}")
    print(f"{'unexpected answers (any status)':<46}{unexpected:>14}")
    print(f"{'connections dropped unanswered':<46}{sum(stats.dropped.values()):>14}")
    print(f"{'worker RSS at start, MB':<46}{' / '.join(map(str, rss_start)):>14}")
    print(f"{'worker RSS at end, MB':<46}{' / '.join(map(str, rss_end)):>14}")
    print(f"{'ledger = redemptions the clients were told':<46}{'yes' if ledger_ok else 'NO':>14}")
    print(
        f"{'reconcile (counters vs ledger)':<46}"
        f"{'no drift' if reconcile_ok else 'DRIFT':>14}  "
        f"{report.get('counters_checked', '?')} counters, "
        f"{report.get('redemptions_read', '?')} redemptions"
    )
    for s in stats.samples[:5]:
        print("  unexpected:", s)
    figures: dict[str, Any] = {
        "seconds": round(elapsed),
        "requests_per_s": round(rps),
        "redemptions_per_s": round(redemptions / elapsed, 1),
    }
    for ep, _ in MIX:
        lat = stats.latency.get(ep, [])
        figures[f"{ep}_p50_ms"] = round(pct(lat, 0.5), 1)
        figures[f"{ep}_p99_ms"] = round(pct(lat, 0.99), 1)
    figures |= {
        "errors_5xx": five,
        "unexpected": unexpected,
        "rss_start_mb": round(sum(rss_start)),
        "rss_end_mb": round(sum(rss_end)),
        "reconcile_ok": int(reconcile_ok),
        "ledger_ok": int(ledger_ok),
        "health_live_rps": round(live),
        "ratio": round(rps / live, 3) if live else 0,
    }
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(
                {
                    "figures": figures,
                    "status": {ep: dict(c) for ep, c in stats.status.items()},
                    "status_500": status500,
                    "dropped": dict(stats.dropped),
                    "series": {str(k): dict(v) for k, v in sorted(stats.series.items())},
                    "reconcile": report,
                    "samples": stats.samples,
                },
                fh,
            )
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return five == 0 and reconcile_ok and ledger_ok


if __name__ == "__main__":
    main()
