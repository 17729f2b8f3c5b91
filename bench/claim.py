"""A voucher campaign opening: a burst of claims at the hour, never oversold.

1. Creates a scratch PostgreSQL database, migrates and seeds it: MEMBERS members (each with a
   member session in Redis, as the phone sign-in leaves it) and a first-come campaign of STOCK
   vouchers (one per member) opening a few seconds after the server is up.
2. Starts the app with granian, 2 workers, production settings, Redis.
3. Measures ``GET /health/live`` (the framework's ceiling), then sends REQUESTS claims over
   HTTP/1.1 keep-alive (each member twice, with distinct request ids, in random order) from
   CLIENTS connections, all waiting for the opening instant: the storm.
4. Stops the server and inserts the same voucher rows (one INSERT per row, CLIENTS asyncpg
   connections) into a second campaign: the database's ceiling for the rows a claim writes.
5. Checks the truth in the database: no voucher beyond the stock (``oversold``), no member over
   the limit, every 201 with its row (``lost``).

Two ratios: refusals/s after sell-out ÷ ``/health/live`` rps (goal ≥ 0.3: the sold-out answer
comes from Redis, not the database) and claims/s ÷ raw INSERT rows/s (goal ≥ 0.25). Beside
them, the workers' CPU per request of the whole storm, per refusal after sell-out (sampled every
0.25 s) and per ``/health/live``: figures that move less with the machine's load than rates.

Usage: ``.venv/bin/python bench/claim.py [--members 50000] [--stock 10000] [--requests 100000]
[--clients 64] [--port 8150] [--quick] [--profile DIR]`` (``--quick``: a fifth of those sizes;
``--profile``: py-spy stacks of each worker during the storm, mostly its refusals). Setup
(migrations, members COPYed in, sessions written in pipelines) took 68 s at the default sizes with
the machine's load average at 15, 27 s of it the migrations; the storm lasts the requests over the
server's rate. Env: ``BENCH_PG`` (admin URL), ``BENCH_REDIS`` (default redis://127.0.0.1:6379/6,
flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from _harness import (
    Conn,
    children,
    cpu_seconds,
    flush_redis,
    health_ceiling,
    migrate,
    pct,
    profile,
    psql,
    scratch_database,
    server_env,
    start_server,
    stop_server,
    var_dir,
)

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/6")
OPEN_DELAY = 4.0  # seconds between the storm's clients being ready and the opening


async def seed_members(env: dict[str, str], members: int) -> dict[str, Any]:
    """An org and ``members`` members with a phone, COPYed in (the claim reads only the
    member's facts by phone hash; no cards, merchants or programmes are needed)."""
    import asyncpg

    for k, v in env.items():
        if k.startswith("UNIONCARD_"):
            os.environ[k] = v
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.settings import Settings

    cipher = PiiCipher.from_settings(Settings.from_env())
    org_id = uuid.uuid4()
    org_path = f"{org_id}/"
    now = datetime.now(UTC)
    conn = await asyncpg.connect(env["UNIONCARD_DATABASE_URL"].replace("+asyncpg", ""))
    try:
        await conn.execute(
            "INSERT INTO org (id, code, name, level, path, status, created_at, updated_at)"
            " VALUES ($1, 'BENCH', '基准测试总工会', 'provincial', $2, 'active', $3, $3)",
            org_id,
            org_path,
            now,
        )
        cols = [
            "id",
            "member_no",
            "name",
            "id_number_enc",
            "id_number_hash",
            "data_key_id",
            "birth_date",
            "gender",
            "org_id",
            "org_path",
            "status",
            "categories",
            "extra",
            "region_code",
            "joined_on",
            "phone_hash",
            "created_at",
            "updated_at",
        ]
        born, joined = datetime(1985, 1, 1).date(), datetime(2020, 1, 1).date()
        rows = [
            (
                uuid.uuid4(),
                f"B{i:09d}",
                "张三明",
                "x",
                f"{i:064x}",
                "b1",
                born,
                "M",
                org_id,
                org_path,
                "active",
                "[]",
                "{}",
                "420502",
                joined,
                f"bench-phone-{i:08d}",
                now,
                now,
            )
            for i in range(members)
        ]
        await conn.copy_records_to_table("member", records=rows, columns=cols)
        await conn.execute("ANALYZE member")
    finally:
        await conn.close()
    return {
        "org_id": str(org_id),
        "phone_hashes": [r[15] for r in rows],
        # A session's phone is stored encrypted; the app refuses one it cannot decrypt.
        "phone_enc": cipher.encrypt("phone", "+8613800000000"),
    }


async def sessions(world: dict[str, Any]) -> list[tuple[str, str]]:
    """(cookie token, CSRF token) of every member: the session records the phone sign-in
    leaves (``open_member_session``'s), written through the app's own store in pipelines;
    one is read back with the app's reader, so a change of format fails here, not as 401s."""
    import secrets

    from redis.asyncio import Redis

    from cardsvc.kernel.stores import make_store_registry
    from cardsvc.memberauth.sessions import _PREFIX, load_member_session

    redis = Redis.from_url(REDIS)
    out: list[tuple[str, str]] = []
    hashes = world["phone_hashes"]
    for i in range(0, len(hashes), 5000):
        async with redis.pipeline(transaction=False) as pipe:
            store = make_store_registry(pipe).get("sessions")
            for h in hashes[i : i + 5000]:
                token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
                payload = {"ph": h, "pe": world["phone_enc"], "csrf": csrf}
                await store.set(_PREFIX + token, json.dumps(payload), expires_in=7200)
                out.append((token, csrf))
            await pipe.execute()
    got = await load_member_session(make_store_registry(redis).get("sessions"), out[-1][0])
    await redis.aclose()
    if got is None or got.csrf != out[-1][1] or got.phone_hash != hashes[-1]:
        raise RuntimeError("the bench's sessions do not read back as the app's")
    return out


async def campaign(env: dict[str, str], world: dict[str, Any], stock: int, opens: datetime) -> str:
    from benefits.vouchers.campaigns import create_campaign, move_campaign
    from benefits.vouchers.models import CampaignMode
    from cardsvc.kernel.db import make_engine
    from cardsvc.kernel.settings import Settings

    engine = make_engine(Settings.from_env().database_url)  # seed() exported the env
    org = uuid.UUID(world["org_id"])
    async with engine.connect() as conn:
        c = await create_campaign(
            conn,
            code=f"BENCH-{uuid.uuid4().hex[:6]}",
            name="基准消费券",
            owner_org_id=org,
            owner_org_path=f"{org}/",
            mode=CampaignMode.first_come,
            terms={"value": {"kind": "amount_off", "off_fen": 1000}, "valid_days": 7},
            stock=stock,
            per_member=1,
            opens_at=opens,
            closes_at=opens + timedelta(hours=1),
        )
        await move_campaign(conn, c.id, "publish", datetime.now(UTC))
    await engine.dispose()
    return str(c.id)


async def storm(
    port: int,
    clients: int,
    cid: str,
    plan: list[tuple[str, str, str]],
    opens_at: float,
    workers: list[int],
) -> dict[str, Any]:
    """Every (token, csrf, request id) in ``plan`` claimed once, starting at ``opens_at``; the
    workers' CPU seconds sampled meanwhile (for the CPU of the refusals after sell-out)."""
    it = iter(plan)
    cpu: list[tuple[float, float]] = []
    running = True

    async def sample() -> None:
        while running:
            cpu.append((time.perf_counter(), cpu_seconds(workers)))
            await asyncio.sleep(0.25)

    path = f"/api/v1/me/vouchers/campaigns/{cid}/claim"
    results: list[tuple[float, int, str, float]] = []  # (done at, status, code/id, latency)

    async def loop() -> None:
        c = Conn("127.0.0.1", port)
        await c.request("GET", "/health/live")  # connected before the opening
        await asyncio.sleep(max(0.0, opens_at - time.time()))
        for token, csrf, key in it:
            head = (
                f"Cookie: uc_member={token}\r\nX-CSRF-Token: {csrf}\r\n"
                "Content-Type: application/json\r\n"
            )
            t0 = time.perf_counter()
            status, body = await c.request(
                "POST", path, json.dumps({"request_id": key}).encode(), head
            )
            t1 = time.perf_counter()
            data = json.loads(body) if body else {}
            what = data.get("id") if status in (200, 201) else data.get("code", "")
            results.append((t1, status, str(what), t1 - t0))
        c.close()

    # The storm's clock starts at the opening, not while the clients wait for it.
    t0 = time.perf_counter() + max(0.0, opens_at - time.time())
    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(loop() for _ in range(clients)))
    running = False
    await sampler
    end = time.perf_counter()
    cpu.append((end, cpu_seconds(workers)))
    return {"results": results, "t0": t0, "end": end, "cpu": cpu}


async def raw_inserts(db_url: str, world: dict[str, Any], rows: int, clients: int) -> float:
    """Rows/s of the same voucher INSERTs straight through asyncpg (autocommit, one per row)."""
    import asyncpg

    conn = await asyncpg.connect(db_url)
    cid = uuid.uuid4()
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO voucher_campaign (id, code, name, owner_org_id, owner_org_path, status, mode,"
        " terms, stock, per_member, opens_at, closes_at, created_at, updated_at) VALUES"
        " ($1, 'RAW', 'raw', $2, $3, 'published', 'first_come', '{}', $4, 1, $5, $6, $5, $5)",
        cid,
        uuid.UUID(world["org_id"]),
        f"{world['org_id']}/",
        rows,
        now,
        now + timedelta(hours=1),
    )
    await conn.close()
    pool = await asyncpg.create_pool(db_url, min_size=clients, max_size=clients)
    todo = iter(range(rows))
    sql = (
        "INSERT INTO voucher (id, campaign_id, member_id, slot, nth, request_key, status,"
        " claimed_at, expires_at) VALUES ($1, $2, $3, $4, 0, $5, 'active', $6, $7)"
        " ON CONFLICT DO NOTHING RETURNING id"
    )

    async def loop() -> None:
        async with pool.acquire() as c:
            stmt = await c.prepare(sql)
            for slot in todo:
                at = datetime.now(UTC)
                await stmt.fetchval(uuid.uuid4(), cid, uuid.uuid4(), slot, uuid.uuid4().hex, at, at)

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - t0
    await pool.close()
    return rows / elapsed


def figures(res: dict[str, Any]) -> dict[str, Any]:
    rows = res["results"]
    ok = [r for r in rows if r[1] == 201]
    last_ok = max((r[0] for r in ok), default=res["t0"])
    claim_s = len(ok) / max(last_ok - res["t0"], 1e-6)
    after = [r for r in rows if r[1] == 409 and r[0] > last_ok]
    refusal_s = len(after) / max(res["end"] - last_ok, 1e-6)
    refused = [r for r in rows if r[1] == 409]
    # Workers' CPU from the first sample after the last 201 to the end, per refusal after it.
    since = next(((t, c) for t, c in res["cpu"] if t >= last_ok), res["cpu"][-1])
    late = [r for r in after if r[0] >= since[0]]
    cpu_after = (res["cpu"][-1][1] - since[1]) * 1000 / max(len(late), 1)
    return {
        "cpu_ms_per_refusal_after": cpu_after,
        "ok": ok,
        "claims_s": claim_s,
        "refusals_s_after": refusal_s,
        "refusals_s": len(refused) / max(res["end"] - res["t0"], 1e-6),
        "other": [r for r in rows if r[1] not in (200, 201, 409)],
        "lat": [r[3] for r in rows],
        "after_lat": [r[3] for r in after],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=50_000)
    ap.add_argument("--stock", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=8150)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a fifth of the issue's sizes (10,000 members, 2,000 vouchers, 20,000 claims)",
    )
    ap.add_argument("--profile", help="write py-spy collapsed stacks of each worker to this dir")
    args = ap.parse_args()
    if args.quick:
        args.members, args.stock, args.requests = 10_000, 2_000, 20_000
    flush_redis(REDIS)
    try:
        with scratch_database("vouchers_bench") as db_url:
            env = server_env(db_url, var_dir(), REDIS)
            # One pooled connection per client, as the raw INSERTs have (the same concurrency).
            env["UNIONCARD_DB_POOL_SIZE"] = str(max(1, args.clients // args.workers))
            ok = run(args, db_url, env)
    finally:
        flush_redis(REDIS)
    if not ok:
        sys.exit(1)


def run(args: argparse.Namespace, db_url: str, env: dict[str, str]) -> bool:
    t = time.perf_counter()
    migrate(env)
    t_migrate = time.perf_counter() - t
    world = asyncio.run(seed_members(env, args.members))
    tokens = asyncio.run(sessions(world))
    print(
        f"setup: {args.members} members with sessions in {time.perf_counter() - t:.1f} s"
        f" (migrations {t_migrate:.1f} s)",
        flush=True,
    )
    rnd = random.Random(1)
    plan = [(*tokens[i % len(tokens)], uuid.uuid4().hex) for i in range(args.requests)]
    rnd.shuffle(plan)
    server = start_server(env, args.port, args.workers)
    try:
        workers = children(server.pid)
        cpu0, t_live = cpu_seconds(workers), time.perf_counter()
        live = asyncio.run(health_ceiling(args.port, args.clients, 5))
        live_cpu_ms = (cpu_seconds(workers) - cpu0) * 1000 / (live * (time.perf_counter() - t_live))
        opens_at = time.time() + OPEN_DELAY
        cid = asyncio.run(campaign(env, world, args.stock, datetime.fromtimestamp(opens_at, UTC)))
        cpu0 = cpu_seconds(workers)
        # Sampled from the opening for about as long as the storm lasts at ~3,000 requests/s.
        spies = profile(workers, OPEN_DELAY + args.requests / 3000, args.profile)
        res = asyncio.run(storm(args.port, args.clients, cid, plan, opens_at, workers))
        for spy in spies:
            spy.wait()
        cpu_ms = (cpu_seconds(workers) - cpu0) * 1000 / max(len(res["results"]), 1)
    finally:
        stop_server(server)
    f = figures(res)
    rows = int(psql(db_url, f"SELECT count(*) FROM voucher WHERE campaign_id = '{cid}'"))
    over_limit = int(
        psql(
            db_url,
            "SELECT count(*) FROM (SELECT member_id FROM voucher WHERE campaign_id = "
            f"'{cid}' GROUP BY member_id HAVING count(*) > 1) m",
        )
    )
    ids = set(psql(db_url, f"SELECT id FROM voucher WHERE campaign_id = '{cid}'").split())
    lost = sum(1 for r in f["ok"] if r[2] not in ids)
    oversold = max(0, rows - args.stock)
    raw = asyncio.run(
        raw_inserts(
            env["UNIONCARD_DATABASE_URL"].replace("+asyncpg", ""), world, args.stock, args.clients
        )
    )
    r_refuse = f["refusals_s_after"] / live
    r_claim = f["claims_s"] / raw
    print()
    print(f"{'what':<52}{'figure':>12}")
    print(f"{'GET /health/live, requests/s (ceiling)':<52}{live:>12.0f}")
    print(f"{'raw asyncpg voucher INSERT, rows/s (ceiling)':<52}{raw:>12.0f}")
    print(f"{'claims (201) / stock':<52}{len(f['ok']):>6} /{args.stock:>5}")
    print(f"{'successful claims/s (opening to sell-out)':<52}{f['claims_s']:>12.0f}")
    print(f"{'refusals/s (whole storm)':<52}{f['refusals_s']:>12.0f}")
    print(f"{'refusals/s after sell-out':<52}{f['refusals_s_after']:>12.0f}")
    print(f"{'latency p50 / p99 (ms)':<52}{pct(f['lat'], 0.5):>6.1f} /{pct(f['lat'], 0.99):>5.1f}")
    print(
        f"{'after sell-out p50 / p99 (ms)':<52}{pct(f['after_lat'], 0.5):>6.1f} /{pct(f['after_lat'], 0.99):>5.1f}"
    )
    print(
        f"{'voucher rows / oversold / over member limit / lost':<52}{rows:>6} /{oversold} /{over_limit} /{lost}"
    )
    print(f"{'other answers (not 201/409)':<52}{len(f['other']):>12}")
    print(
        f"{'workers CPU ms: per request / refusal after / live':<52}"
        f"{cpu_ms:>5.2f} /{f['cpu_ms_per_refusal_after']:>5.2f} /{live_cpu_ms:>5.2f}"
    )
    print(f"{'refusals/s after sell-out ÷ /health/live (≥ 0.3)':<52}{r_refuse:>12.3f}")
    print(f"{'claims/s ÷ raw INSERT rows/s (≥ 0.25)':<52}{r_claim:>12.3f}")
    for r in f["other"][:5]:
        print("  other:", r[1], r[2])
    print(
        f"claims_per_s={f['claims_s']:.0f} refusals_per_s={f['refusals_s']:.0f} "
        f"refusals_after_sellout_per_s={f['refusals_s_after']:.0f} "
        f"p50_ms={pct(f['lat'], 0.5):.1f} p99_ms={pct(f['lat'], 0.99):.1f} "
        f"cpu_ms_per_request={cpu_ms:.2f} cpu_ms_per_refusal_after={f['cpu_ms_per_refusal_after']:.2f} "
        f"cpu_ms_per_live={live_cpu_ms:.2f} health_live_rps={live:.0f} raw_insert_rows_per_s={raw:.0f} oversold={oversold} "
        f"member_limit_exceeded={over_limit} lost={lost} other={len(f['other'])} "
        f"refusal_ratio={r_refuse:.3f} claim_ratio={r_claim:.3f} ratio={r_refuse:.3f}"
    )
    return oversold == 0 and over_limit == 0 and lost == 0


if __name__ == "__main__":
    main()
