"""The till's latency while staff pull reports: reports on the read replica vs on the primary.

The world of ``bench/scan_redeem.py`` in a scratch database, its ledger filled with LEDGER
synthetic redemptions of the bench org's members over the last 300 days (the redemptions
report goes through them), and three app servers (granian, 2 workers each, production
settings): the till's, and two for staff reports, one with ``UNIONCARD_DATABASE_REPLICA_URL``
(its reports read the streaming replica) and one without (they read the primary). Separate
servers, as in production, so that what differs is the database's load, not the workers' CPU
(a report's rows are summed in Python). ROUNDS times, against each report server in turn:
TILL clients doing scan+redeem pairs on the till's server (always on the primary) while REPORTS
clients fetch the redemptions report. The figure is the till's pair p99 with the reports on
the replica, its baseline the same with the reports on the primary; ``ratio`` = replica ÷
primary (below 1: the replica took load off the till). On one machine the replica shares the
primary's CPUs, so this shows the contention inside PostgreSQL, not the relief of a second
host.

The replica must stream already (``.ci/replica.sh``: port 5433).
Usage: ``.venv/bin/python bench/replica.py [--seconds 15] [--rounds 2] [--port P]`` (P, P+1, P+2)
Env: ``BENCH_PG`` (admin URL), ``BENCH_REPLICA`` (default postgresql://postgres@127.0.0.1:5433),
``BENCH_REDIS``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from typing import Any

from _harness import (
    REDIS_URL,
    STAFF_PASSWORD,
    STAFF_USER,
    Conn,
    flush_redis,
    free_port,
    migrate,
    pct,
    psql,
    scratch_database,
    seed,
    server_env,
    start_server,
    stop_server,
    var_dir,
)
from scan_redeem import scan_redeem

REPLICA = os.environ.get("BENCH_REPLICA", "postgresql://postgres@127.0.0.1:5433")


def fill_ledger(db_url: str, world: dict[str, Any], rows: int) -> None:
    """``rows`` redemptions of the bench org's members, spread over the last 300 days."""
    org_path = f"{world['org_id']}/"
    psql(
        db_url,
        f"""INSERT INTO benefit_redemption (id, checkout_id, line, merchant_id, store_id,
            terminal_id, member_id, member_org_path, card_id, program_id, program_version_id,
            version_number, amount_fen, discount_fen, payable_fen, units, subsidy_fen,
            value_fen, occurred_at, idempotency_key, fingerprint, token_id, takes)
        SELECT u, u, 0, '{world["merchant_id"]}', '{world["store_id"]}', NULL,
            gen_random_uuid(), '{org_path}', NULL, '{world["program_id"]}',
            '{world["version_id"]}', 1, 8800, 880, 7920, 1, 880, 880,
            now() - (g % 300) * interval '1 day' - (g % 997) * interval '1 minute',
            md5(g::text || 'fill'), md5(g::text), substr(md5(g::text || 't'), 1, 24), '[]'
        FROM (SELECT gen_random_uuid() AS u, g FROM generate_series(1, {rows}) g) s;
        ANALYZE benefit_redemption""",
    )


def caught_up(db_url: str, replica_url: str) -> None:
    lsn = psql(db_url, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + 120
    while psql(replica_url, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") != "t":
        if time.monotonic() > deadline:
            raise RuntimeError("the replica did not catch up within two minutes")
        time.sleep(0.1)


def replica_transactions(replica_url: str) -> int:
    """Transactions the replica has run in the bench database (its own statistics)."""
    return int(
        psql(
            replica_url,
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()",
        )
    )


async def staff_cookie(port: int) -> str:
    c = Conn("127.0.0.1", port)
    body = json.dumps({"username": STAFF_USER, "password": STAFF_PASSWORD}).encode()
    status, _ = await c.request(
        "POST", "/api/v1/staff/session", body, "Content-Type: application/json\r\n"
    )
    cookie = c.cookie("uc_staff")
    c.close()
    if status not in (200, 201) or not cookie:
        raise RuntimeError(f"staff sign-in answered {status}")
    return cookie


async def reports(
    port: int, clients: int, seconds: float, world: dict[str, Any], cookie: str
) -> dict[str, Any]:
    stop = time.perf_counter() + seconds
    lat: list[float] = []
    errors: list[str] = []
    path = f"/api/v1/reports/redemptions?org_id={world['org_id']}"

    async def loop() -> None:
        c = Conn("127.0.0.1", port)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            status, body = await c.request("GET", path, b"", f"Cookie: uc_staff={cookie}\r\n")
            if status != 200:
                errors.append(f"report {status} {body[:200]!r}")
                continue
            lat.append(time.perf_counter() - t0)
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return {"ok": len(lat), "elapsed": time.perf_counter() - t0, "lat": lat, "errors": errors}


async def phase(
    till_port: int,
    report_port: int,
    args: argparse.Namespace,
    world: dict[str, Any],
    codes: list[str],
    cookie: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    till, rep = await asyncio.gather(
        scan_redeem(till_port, args.till, args.seconds, world, codes),
        reports(report_port, args.reports, args.seconds, world, cookie),
    )
    return till, rep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--till", type=int, default=16, help="till clients (scan+redeem)")
    ap.add_argument("--reports", type=int, default=4, help="report clients")
    ap.add_argument("--members", type=int, default=40_000)  # codes for every phase
    ap.add_argument("--ledger", type=int, default=100_000)
    ap.add_argument("--port", type=int, default=free_port(), help="the till server's; +1, +2")
    args = ap.parse_args()
    if psql(f"{REPLICA}/postgres", "SELECT pg_is_in_recovery()") != "t":
        sys.exit(f"no streaming replica at {REPLICA} (run .ci/replica.sh)")
    flush_redis(REDIS_URL)
    try:
        with scratch_database("uc_bench_replica") as db_url:
            ok = run(args, db_url)
    finally:
        flush_redis(REDIS_URL)
    if not ok:
        sys.exit(1)


def run(args: argparse.Namespace, db_url: str) -> bool:
    replica_url = f"{REPLICA}/{db_url.rsplit('/', 1)[1]}"
    env = server_env(db_url, var_dir())
    t = time.perf_counter()
    migrate(env)
    world = asyncio.run(seed(args.members, env, staff=True))
    fill_ledger(db_url, world, args.ledger)
    caught_up(db_url, replica_url)
    print(
        f"setup: {args.members} members, {args.ledger} ledger rows, replica caught up "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    envs = {
        "replica": {
            **env,
            "UNIONCARD_DATABASE_REPLICA_URL": replica_url,
            "UNIONCARD_REPLICA_MAX_LAG_SECONDS": "30",
        },
        "primary": env,
    }
    envs["till"] = env
    ports = {"replica": args.port + 1, "primary": args.port + 2, "till": args.port}
    codes: list[str] = world["codes"]
    random.Random(1).shuffle(codes)
    share = len(codes) // (2 * args.rounds + 2)
    chunks = iter(codes[i * share : (i + 1) * share] for i in range(2 * args.rounds + 2))
    results: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
        "replica": [],
        "primary": [],
    }
    on_replica = {"replica": 0, "primary": 0}
    servers = {name: start_server(envs[name], ports[name], 2) for name in envs}
    try:
        cookies = {name: asyncio.run(staff_cookie(ports[name])) for name in results}
        for name in results:  # warm-up: connections, plans, the workers' caches
            asyncio.run(
                phase(ports["till"], ports[name], _short(args), world, next(chunks), cookies[name])
            )
        for _ in range(args.rounds):
            for name in results:
                before = replica_transactions(replica_url)
                till, rep = asyncio.run(
                    phase(ports["till"], ports[name], args, world, next(chunks), cookies[name])
                )
                on_replica[name] += replica_transactions(replica_url) - before
                results[name].append((till, rep))
                print(
                    f"reports on the {name}: till p99 {pct(till['pair'], 0.99):.1f} ms, "
                    f"{till['ok'] / till['elapsed']:.0f} pairs/s, "
                    f"{rep['ok'] / rep['elapsed']:.1f} reports/s",
                    flush=True,
                )
    finally:
        for server in servers.values():
            stop_server(server)
    return report(results, on_replica)


def _short(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "seconds": 3})


def report(
    results: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]], on_replica: dict[str, int]
) -> bool:
    f: dict[str, dict[str, float]] = {}
    errors = 0
    for name, runs in results.items():
        pairs = [x for till, _ in runs for x in till["pair"]]
        rep_lat = [x for _, rep in runs for x in rep["lat"]]
        f[name] = {
            "p50": pct(pairs, 0.5),
            "p99": pct(pairs, 0.99),
            "pairs": sum(t["ok"] for t, _ in runs) / sum(t["elapsed"] for t, _ in runs),
            "reports": sum(r["ok"] for _, r in runs) / sum(r["elapsed"] for _, r in runs),
            "report_p50": pct(rep_lat, 0.5),
        }
        errors += sum(len(t["errors"]) + len(r["errors"]) for t, r in runs)
        for e in sorted({e for t, r in runs for e in (*t["errors"], *r["errors"])})[:3]:
            print(f"error ({name}): {e}")
    ratio = f["replica"]["p99"] / f["primary"]["p99"]
    print()
    print(f"{'reports read on the':<40}{'replica':>12}{'primary':>12}")
    for key, label in (
        ("p50", "till pair latency p50 (ms)"),
        ("p99", "till pair latency p99 (ms)"),
        ("pairs", "till scan+redeem pairs/s"),
        ("reports", "redemption reports/s"),
        ("report_p50", "report latency p50 (ms)"),
    ):
        print(f"{label:<40}{f['replica'][key]:>12.1f}{f['primary'][key]:>12.1f}")
    print(
        f"{'transactions run on the replica':<40}{on_replica['replica']:>12}"
        f"{on_replica['primary']:>12}"
    )
    print(f"{'errors':<40}{errors:>12}")
    print(f"{'till p99: replica ÷ primary (≤ 1 good)':<40}{ratio:>12.3f}")
    print(
        f"till_p99_reports_on_replica_ms={f['replica']['p99']:.1f} "
        f"till_p99_reports_on_primary_ms={f['primary']['p99']:.1f} "
        f"reports_per_s_replica={f['replica']['reports']:.1f} "
        f"reports_per_s_primary={f['primary']['reports']:.1f} "
        f"replica_transactions={on_replica['replica']} errors={errors} "
        f"figure=till_p99_reports_on_replica_ms baseline=till_p99_reports_on_primary_ms "
        f"ratio={ratio:.3f}"
    )
    # The replica server's reports must have read the replica, the other's not (beyond the
    # statistics queries of this bench, a few transactions).
    return not errors and on_replica["replica"] > 2 * (on_replica["primary"] + 5)


if __name__ == "__main__":
    main()
