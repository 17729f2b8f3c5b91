"""Fast admission of voucher claims: window, member limit and stock in one atomic step.

The database (``benefits.vouchers.models``) stays the source of truth; this only decides fast
who may try to insert a voucher row, and answers the refusals of a sold-out campaign without
touching the database. Two implementations with the same semantics:

* :class:`RedisAdmission`: one Lua script per claim (atomic on the server, so any number of app
  workers share it); the keys of a campaign share one hash tag, so it also runs on a cluster;
* :class:`MemoryAdmission`: the same steps in process, for the embedded mode (one process).

State per campaign: ``meta`` (opens/closes in epoch ms, stock, per-member limit, next fresh
slot), ``free`` (slots given back by a claim whose insert failed), ``members`` (claims per
member) and ``requests`` (request key → the slot and nth it was given, so a retry gets the same).
When the state is missing (a new campaign, Redis restarted or flushed) the caller rebuilds it
from the database (:func:`benefits.vouchers.rebuild.rebuild`) and asks again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

REDIS_ERRORS = (RedisError, RedisClusterException, OSError, asyncio.TimeoutError)


def epoch_ms(at: datetime) -> int:
    """The store's clock: milliseconds since the epoch."""
    return int(at.timestamp() * 1000)


class AdmissionUnavailable(Exception):
    """The admission store did not answer: claims wait rather than go unchecked."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A campaign's admission state rebuilt from the database."""

    opens_ms: int
    closes_ms: int
    stock: int
    per_member: int
    next_slot: int
    free: list[int]
    members: dict[str, int]
    requests: dict[str, str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ok``/``again`` (with slot and nth), ``cold``, ``not_open``, ``closed``, ``sold_out``,
    ``limit``; a peek answers ``open`` instead of admitting."""

    outcome: str
    slot: int = -1
    nth: int = -1


def _verdict(raw: list[Any]) -> Verdict:
    outcome = raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])
    if len(raw) < 2 or raw[1] is None:
        return Verdict(outcome)
    got = raw[1].decode() if isinstance(raw[1], bytes) else str(raw[1])
    slot, _, nth = got.partition(":")
    return Verdict(outcome, int(slot), int(nth))


class Admission(Protocol):
    async def admit(self, campaign: str, now_ms: int, member: str, request: str) -> Verdict: ...

    async def peek(self, campaign: str, now_ms: int, request: str) -> Verdict:
        """The campaign-wide answer (closed, sold out, …) or ``again`` for a known request,
        without a member: the refusals a storm mostly gets, from the admission store alone."""
        ...

    async def release(self, campaign: str, member: str, request: str, slot: int | None) -> None:
        """Undo an admission whose insert failed; ``slot`` None: the slot is taken, drop it."""
        ...

    async def load(self, campaign: str, snap: Snapshot) -> None: ...

    async def forget(self, campaign: str) -> None: ...

    async def lock(self, campaign: str, seconds: int) -> bool: ...

    async def unlock(self, campaign: str) -> None: ...


# KEYS: meta, free, members, requests. ARGV: now_ms, member ('' = peek), request key.
# A request admitted before is answered first (a retry gets its voucher even after sell-out).
_ADMIT = """
local m = redis.call('HMGET', KEYS[1], 'opens', 'closes', 'stock', 'per', 'next')
if not m[1] then return {'cold'} end
if ARGV[3] ~= '' then
  local prior = redis.call('HGET', KEYS[4], ARGV[3])
  if prior then return {'again', prior} end
end
local now = tonumber(ARGV[1])
if now < tonumber(m[1]) then return {'not_open'} end
if now >= tonumber(m[2]) then return {'closed'} end
if tonumber(m[5]) >= tonumber(m[3]) and redis.call('LLEN', KEYS[2]) == 0 then
  return {'sold_out'}
end
if ARGV[2] == '' then return {'open'} end
local n = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if n >= tonumber(m[4]) then return {'limit'} end
local slot = redis.call('LPOP', KEYS[2])
if not slot then
  slot = m[5]
  redis.call('HSET', KEYS[1], 'next', tonumber(m[5]) + 1)
end
redis.call('HSET', KEYS[3], ARGV[2], n + 1)
local got = slot .. ':' .. n
redis.call('HSET', KEYS[4], ARGV[3], got)
return {'ok', got}
"""

# The peek with a GET of a fifth key (the caller's, e.g. the request's session record) in the
# same script: its value third in the answer (nil when absent; the second kept in place).
_PEEK_READING = f"""
local function admit()
{_ADMIT}
end
local r = admit()
r[2] = r[2] or false
r[3] = redis.call('GET', KEYS[5])
return r
"""

# KEYS: meta, free, members, requests. ARGV: member, request key, slot ('' = drop it).
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HDEL', KEYS[4], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], ARGV[1], -1)
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
return 1
"""


@dataclass
class RedisAdmission:
    redis: Redis | RedisCluster
    prefix: str = "unioncard:"

    def __post_init__(self) -> None:
        self._admit = self.redis.register_script(_ADMIT)
        self._peek_reading = self.redis.register_script(_PEEK_READING)
        self._release = self.redis.register_script(_RELEASE)

    def _keys(self, campaign: str) -> list[str]:
        tag = f"{self.prefix}{{vc:{campaign}}}:"
        return [tag + "meta", tag + "free", tag + "members", tag + "requests"]

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            raise AdmissionUnavailable(str(exc)) from exc

    async def admit(self, campaign: str, now_ms: int, member: str, request: str) -> Verdict:
        return _verdict(
            await self._run(self._admit, self._keys(campaign), [now_ms, member, request])
        )

    async def peek(self, campaign: str, now_ms: int, request: str) -> Verdict:
        return _verdict(await self._run(self._admit, self._keys(campaign), [now_ms, "", request]))

    async def peek_reading(
        self, campaign: str, now_ms: int, request: str, key: str
    ) -> tuple[Verdict, bytes | None]:
        """The peek and a GET of ``key`` (the caller's, e.g. the request's session record) in
        one round trip: one script on a single server (one command, the cheapest for the
        client); a pipeline on a cluster, where ``key`` may sit in another slot (the script
        by its digest, so that the pipeline asks no SCRIPT EXISTS first)."""
        keys = self._keys(campaign)
        args: list[Any] = [now_ms, "", request]
        if not isinstance(self.redis, RedisCluster):
            raw = await self._run(self._peek_reading, [*keys, key], args)
            return _verdict(raw), raw[2]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.evalsha(self._admit.sha, len(keys), *keys, *args)
                record, raw = await pipe.execute(raise_on_error=False)
        except REDIS_ERRORS as exc:
            raise AdmissionUnavailable(str(exc)) from exc
        if isinstance(raw, NoScriptError):  # a restarted or flushed server: load it and ask
            raw = await self._run(self._admit, keys, args)
        for got in (record, raw):
            if isinstance(got, Exception):
                raise AdmissionUnavailable(str(got))
        return _verdict(raw), record

    async def release(self, campaign: str, member: str, request: str, slot: int | None) -> None:
        args = [member, request, "" if slot is None else slot]
        await self._run(self._release, self._keys(campaign), args)

    async def load(self, campaign: str, snap: Snapshot) -> None:
        meta, free, members, requests = self._keys(campaign)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(meta, free, members, requests)
                if snap.free:
                    pipe.rpush(free, *snap.free)
                if snap.members:
                    pipe.hset(members, mapping=snap.members)  # type: ignore[arg-type]
                if snap.requests:
                    pipe.hset(requests, mapping=snap.requests)  # type: ignore[arg-type]
                # Last: a claim sees the campaign as loaded only once everything else is there.
                pipe.hset(
                    meta,
                    mapping={
                        "opens": snap.opens_ms,
                        "closes": snap.closes_ms,
                        "stock": snap.stock,
                        "per": snap.per_member,
                        "next": snap.next_slot,
                    },
                )
                await pipe.execute()
        except REDIS_ERRORS as exc:
            raise AdmissionUnavailable(str(exc)) from exc

    async def forget(self, campaign: str) -> None:
        try:
            await self.redis.delete(*self._keys(campaign))
        except REDIS_ERRORS as exc:
            raise AdmissionUnavailable(str(exc)) from exc

    async def lock(self, campaign: str, seconds: int) -> bool:
        key = f"{self.prefix}{{vc:{campaign}}}:lock"
        try:
            return bool(await self.redis.set(key, b"1", ex=seconds, nx=True))
        except REDIS_ERRORS as exc:
            raise AdmissionUnavailable(str(exc)) from exc

    async def unlock(self, campaign: str) -> None:
        try:
            await self.redis.delete(f"{self.prefix}{{vc:{campaign}}}:lock")
        except REDIS_ERRORS as exc:
            raise AdmissionUnavailable(str(exc)) from exc


@dataclass
class _State:
    snap: Snapshot
    next_slot: int
    free: list[int]
    members: dict[str, int]
    requests: dict[str, tuple[int, int]]


@dataclass
class MemoryAdmission:
    """The script's steps on a dict; no await between reading and writing, so each is atomic."""

    campaigns: dict[str, _State] = field(default_factory=dict)
    locks: set[str] = field(default_factory=set)

    def _common(self, campaign: str, now_ms: int, request: str) -> Verdict | _State:
        st = self.campaigns.get(campaign)
        if st is None:
            return Verdict("cold")
        prior = st.requests.get(request) if request else None
        if prior is not None:
            return Verdict("again", *prior)
        if now_ms < st.snap.opens_ms:
            return Verdict("not_open")
        if now_ms >= st.snap.closes_ms:
            return Verdict("closed")
        if st.next_slot >= st.snap.stock and not st.free:
            return Verdict("sold_out")
        return st

    async def admit(self, campaign: str, now_ms: int, member: str, request: str) -> Verdict:
        st = self._common(campaign, now_ms, request)
        if isinstance(st, Verdict):
            return st
        n = st.members.get(member, 0)
        if n >= st.snap.per_member:
            return Verdict("limit")
        if st.free:
            slot = st.free.pop(0)
        else:
            slot, st.next_slot = st.next_slot, st.next_slot + 1
        st.members[member] = n + 1
        st.requests[request] = (slot, n)
        return Verdict("ok", slot, n)

    async def peek(self, campaign: str, now_ms: int, request: str) -> Verdict:
        st = self._common(campaign, now_ms, request)
        return st if isinstance(st, Verdict) else Verdict("open")

    async def release(self, campaign: str, member: str, request: str, slot: int | None) -> None:
        st = self.campaigns.get(campaign)
        if st is None or st.requests.pop(request, None) is None:
            return
        st.members[member] = st.members.get(member, 1) - 1
        if slot is not None:
            st.free.append(slot)

    async def load(self, campaign: str, snap: Snapshot) -> None:
        requests = {}
        for key, got in snap.requests.items():
            slot, _, nth = got.partition(":")
            requests[key] = (int(slot), int(nth))
        self.campaigns[campaign] = _State(
            snap, snap.next_slot, list(snap.free), dict(snap.members), requests
        )

    async def forget(self, campaign: str) -> None:
        self.campaigns.pop(campaign, None)

    async def lock(self, campaign: str, seconds: int) -> bool:
        if campaign in self.locks:
            return False
        self.locks.add(campaign)
        return True

    async def unlock(self, campaign: str) -> None:
        self.locks.discard(campaign)


def make_admission(redis: Redis | RedisCluster | None) -> RedisAdmission | MemoryAdmission:
    return RedisAdmission(redis) if redis is not None else MemoryAdmission()
