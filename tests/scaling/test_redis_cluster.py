"""Everything the app keeps in Redis, on a real three-node Redis Cluster started by the test.

The cluster runs on free local ports in a temporary folder (``redis-server --cluster-enabled
yes`` ×3, then ``redis-cli --cluster create … --cluster-replicas 0``) and is stopped at the end;
the shared Redis of the other tests is not touched. The app reaches it through
``UNIONCARD_REDIS_URL=redis+cluster://host:port,host:port``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from litestar.testing import AsyncTestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.kernel.kv import KVUnavailable, RedisKV
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.kernel.settings import Settings
from cardsvc.kernel.stores import make_redis, make_store_registry
from cardsvc.memberauth.senders import RecordingSender
from merchants.terminal.redeem import TokenBurner
from merchants.terminal.wiring import RedeemServices
from tests.benefits.vouchers.conftest import claim as claim_voucher
from tests.benefits.vouchers.conftest import published_campaign
from tests.conftest import REDIS_URL, make_test_settings
from tests.support.front import Front
from tests.support.pos import make_pos
from tests.support.staff import login

pytestmark = pytest.mark.redis
NODES = 3


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(n: int) -> list[int]:
    """Ports free for a node and for its cluster bus (port + 10000)."""
    found: list[int] = []
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 50000 and _free(port + 10000) and port not in found:
            found.append(port)
            if len(found) == n:
                return found
    raise RuntimeError("no free ports for a Redis Cluster")


def _ping(port: int) -> bool:
    try:
        with SyncRedis(port=port, socket_connect_timeout=0.2) as r:
            return bool(r.ping())
    except OSError:
        return False
    except Exception:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    if not REDIS_URL:
        pytest.skip("UNIONCARD_TEST_REDIS_URL not set")
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server / redis-cli not installed")
    folder = tmp_path_factory.mktemp("redis-cluster")
    ports = _ports(NODES)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node = folder / str(port)
            node.mkdir()
            log = (node / "redis.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [
                        server,
                        "--port", str(port),
                        "--bind", "127.0.0.1",
                        "--cluster-enabled", "yes",
                        "--cluster-config-file", str(node / "nodes.conf"),
                        "--cluster-node-timeout", "3000",
                        "--dir", str(node),
                        "--save", "",
                        "--appendonly", "no",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while not all(_ping(p) for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster nodes did not start")
            time.sleep(0.1)
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        while True:
            states = []
            for p in ports:
                with SyncRedis(port=p) as r:
                    states.append(r.cluster("info").get("cluster_state"))
            if all(s == "ok" for s in states):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not become ready")
            time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:  # only the servers this fixture started
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def cluster_url(ports: list[int]) -> str:
    # Two of the three nodes as seeds: the client discovers the third.
    return f"redis+cluster://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"


def _keys_per_node(ports: list[int]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for p in ports:
        with SyncRedis(port=p) as r:
            out[p] = list(r.scan_iter(count=1000))
    return out


@pytest.fixture
async def rc(cluster: list[int]) -> AsyncIterator[RedisCluster]:
    client = make_redis(Settings(redis_url=cluster_url(cluster)))
    assert isinstance(client, RedisCluster)
    await client.flushall()  # the test's own cluster
    yield client
    await client.aclose()


async def test_short_lived_keys_and_limits_on_the_cluster(rc: RedisCluster) -> None:
    kv = RedisKV(rc)
    assert await kv.set_nx("tok:{abc}", b"owner", 60)
    assert not await kv.set_nx("tok:{abc}", b"other", 60)
    assert await kv.get("tok:{abc}") == b"owner"
    assert await kv.getdel("tok:{abc}") == b"owner" and await kv.get("tok:{abc}") is None
    assert [(await kv.incr("rl:{x}", 30))[0] for _ in range(3)] == [1, 2, 3]
    assert 0 < await rc.ttl("uc:rl:{x}") <= 30

    limiter = RateLimiter(rc)
    assert [(await limiter.hit("otp-phone:p1", 2, 60)).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]

    # Replay protection of rotating card codes: one owner per token id.
    # burn() and release() read only the services' kv
    burner, services = TokenBurner(), cast(RedeemServices, SimpleNamespace(kv=kv))
    assert await burner.burn(services, "t-1", b"req-1", 60)
    assert await burner.burn(services, "t-1", b"req-1", 60)
    assert not await burner.burn(services, "t-1", b"req-2", 60)
    await burner.release(services, "t-1")
    assert await burner.burn(services, "t-1", b"req-2", 60)


async def test_terminal_rate_limit_keys_share_a_slot(rc: RedisCluster) -> None:
    t0 = 1_800_000_030.0
    limiter = RateLimiter(rc, clock=lambda: t0)
    decisions = [await limiter.hit("uck_cluster1", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert {d.backend for d in decisions} == {"redis"} and not limiter.degraded
    # The minute counters read together (one pipeline) live in one slot.
    window = int(t0 // 60)
    names = [f"unioncard:{{rl:uck_cluster1}}:60:{w}" for w in (window, window - 1)]
    assert rc.keyslot(names[0]) == rc.keyslot(names[1])
    assert await rc.get(names[0]) == b"3"


async def test_litestar_stores_on_the_cluster(rc: RedisCluster) -> None:
    sessions = make_store_registry(rc).get("sessions")
    await sessions.set("s:abc", b"payload", expires_in=60)
    assert await sessions.get("s:abc", renew_for=120) == b"payload"  # a one-key script
    ttl = await sessions.expires_in("s:abc")
    assert ttl is not None and 60 < ttl <= 120
    await sessions.delete("s:abc")
    assert await sessions.get("s:abc") is None


async def test_the_app_runs_on_the_cluster(
    cluster: list[int], engine: AsyncEngine, demo: dict[str, Any], db_url: str, var_dir: Path
) -> None:
    flush = make_redis(Settings(redis_url=cluster_url(cluster)))
    assert flush is not None
    await flush.flushall()
    await flush.aclose()
    settings = dataclasses.replace(
        make_test_settings(db_url, var_dir), redis_url=cluster_url(cluster)
    )
    app = create_app(settings)
    assert isinstance(app.state.redis, RedisCluster)
    sender = RecordingSender()
    app.state.sender = sender
    async with AsyncTestClient(app=app) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"

        # Staff session (Litestar store on the cluster).
        await login(client, "xl.admin")
        assert (await client.get("/api/v1/members?limit=1")).status_code == 200
        client.cookies.clear()
        client.headers.pop("x-csrf-token", None)

        # Member sign-in: one-time code, resend limit, single use, member session.
        phone = "13912345681"
        assert (await client.post("/api/v1/me/otp", json={"phone": phone})).status_code == 202
        again = await client.post("/api/v1/me/otp", json={"phone": phone})
        assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
        match = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
        assert match
        body = {"phone": phone, "code": match.group(1)}
        ok = await client.post("/api/v1/me/session", json=body)
        assert ok.status_code == 200, ok.text
        reused = await client.post("/api/v1/me/session", json=body)
        assert reused.status_code == 401 and reused.json()["code"] == "otp_invalid"
        client.cookies.clear()

        # Merchant: redeem with a rotating code; its id is burned; a replay is refused.
        pos = await make_pos(engine, app, demo, n=2)
        prog = await pos.program(f"CL{uuid.uuid4().hex[:6].upper()}")
        t = pos.terminal()
        code = await pos.code(pos.member())
        redeem = {"code": code, "program_id": str(prog.id), "amount_fen": 10000}
        r = await client.post("/api/v1/redemptions", json=redeem, headers=pos.headers(t, "c-1"))
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/redemptions", json=redeem, headers=pos.headers(t, "c-2"))
        assert r.status_code == 409 and r.json()["code"] == "token_replayed"

    keys = _keys_per_node(cluster)
    found = [k for ks in keys.values() for k in ks]
    assert any(b"tok:" in k for k in found) and any(b"otp-resend" in k for k in found)
    assert any(k.startswith(b"unioncard_sessions:") for k in found)
    # The keys are spread over the nodes: this really ran on a cluster.
    assert sum(1 for ks in keys.values() if ks) >= 2, keys


async def test_an_unreachable_cluster_degrades_like_an_unreachable_server() -> None:
    # Nothing listens there: the cluster client's "no reachable node" is not a RedisError.
    dead = make_redis(Settings(redis_url=f"redis+cluster://127.0.0.1:{_ports(1)[0]}"))
    assert isinstance(dead, RedisCluster)
    try:
        kv = RedisKV(dead)
        with pytest.raises(KVUnavailable):
            await kv.set_nx("tok:{t}", b"x", 60)
        limiter = RateLimiter(dead)
        d = await limiter.hit("uck_down", 3)
        assert d.allowed and d.backend == "memory" and limiter.degraded
        # The burn is skipped (the ledger's unique token id still refuses a replay).
        burner = TokenBurner()
        assert await burner.burn(cast(RedeemServices, SimpleNamespace(kv=kv)), "t-9", b"r", 60)
    finally:
        await dead.aclose()


async def test_the_shared_test_redis_is_a_plain_server() -> None:
    """The cluster above runs beside, not instead of, the configured test Redis."""
    assert REDIS_URL
    client = Redis.from_url(REDIS_URL)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_voucher_claims_on_the_cluster(
    cluster: list[int], engine: AsyncEngine, demo: dict[str, Any], db_url: str, var_dir: Path
) -> None:
    """The claim reads the member's session in its admission peek's round trip: a pipeline
    whose two keys (the session, the campaign's hash tag) may sit on two nodes."""
    flush = make_redis(Settings(redis_url=cluster_url(cluster)))
    assert flush is not None
    await flush.flushall()
    await flush.aclose()
    settings = dataclasses.replace(
        make_test_settings(db_url, var_dir), redis_url=cluster_url(cluster)
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        front = await Front(app, client).sign_in()
        c = await published_campaign(front, stock=1)
        org = await front.grassroots("HB-YC-XL")
        people = [await front.member(org) for _ in range(4)]
        key = uuid.uuid4().hex
        granted = await claim_voucher(front, people[0].phone, c["id"], key)
        assert granted.status_code == 201, granted.text
        for p in people[1:]:  # their sessions land on various nodes
            refused = await claim_voucher(front, p.phone, c["id"])
            assert (refused.status_code, refused.json()["code"]) == (409, "voucher_sold_out")
        again = await claim_voucher(front, people[0].phone, c["id"], key)
        assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]
        path = f"/api/v1/me/vouchers/campaigns/{c['id']}/claim"
        unsigned = await client.post(path, json={"request_id": uuid.uuid4().hex})
        assert unsigned.status_code == 401
    keys = _keys_per_node(cluster)
    vc = {p for p, ks in keys.items() if any(b"{vc:" in k for k in ks)}
    sessions = {
        p for p, ks in keys.items() if any(k.startswith(b"unioncard_sessions:m:") for k in ks)
    }
    assert len(vc) == 1 and sessions - vc, keys  # the session and the peek on two nodes
