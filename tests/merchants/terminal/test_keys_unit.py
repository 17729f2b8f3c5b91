"""Pure parts: the key format and the sliding-window arithmetic."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from cardsvc.kernel.ratelimit import WINDOW_SECONDS, MemoryCounter, decide
from merchants.keys import KEY_PREFIX, generate_key, hash_key, matches, parse_prefix


def test_key_format() -> None:
    keys = [generate_key() for _ in range(200)]
    assert len({k.plain for k in keys}) == 200 and len({k.prefix for k in keys}) == 200
    for k in keys:
        assert k.plain.startswith(KEY_PREFIX) and k.plain.isascii()
        assert parse_prefix(k.plain) == k.prefix and len(k.prefix) == 12
        assert k.secret_hash == hashlib.sha256(k.plain.encode()).hexdigest() == hash_key(k.plain)
        assert matches(k.plain, k.secret_hash)
        assert not matches(k.plain[:-1] + ("x" if k.plain[-1] != "x" else "y"), k.secret_hash)


def test_parse_rejects_what_is_not_a_key() -> None:
    k = generate_key().plain
    for bad in (
        "",
        "uck_",
        k + "a",
        k[:-1],
        k.upper(),
        "ucx" + k[3:],
        k.replace("_", "-"),
        k[:4] + "IIIIIIII" + k[12:],
        " " + k[1:],
        k[:-1] + "-",
    ):
        assert parse_prefix(bad) is None, bad


def test_decide_basics() -> None:
    d = decide(prev=0, curr=3, elapsed=10, limit=3, backend="memory")
    assert d.allowed and d.remaining == 0
    d = decide(prev=0, curr=4, elapsed=10, limit=3, backend="memory")
    # 3 in this minute: at 60 s they become "previous" and weigh 3 × (60 − e)/60; a 4th fits
    # once that is ≤ 2, at e = 20 s of the next minute: 50 + 20.
    assert not d.allowed and d.retry_after == 70
    # Half of a full previous minute still counts halfway through this one.
    d = decide(prev=10, curr=6, elapsed=30, limit=10, backend="memory")
    assert not d.allowed and 1 <= d.retry_after <= 30


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 50),
    start=st.floats(0, 3600, allow_nan=False),
    gaps=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=200),
)
def test_retry_after_is_enough_and_the_limit_holds(
    limit: int, start: float, gaps: list[float]
) -> None:
    """Whatever the traffic: no 60 s span admits more than 2× the limit (the sliding estimate
    is approximate), and a refused client that waits Retry-After is admitted."""
    counter, now = MemoryCounter(), start
    admitted: list[float] = []
    for gap in gaps:
        now += gap
        d = counter.hit("k", now, limit)
        if d.allowed:
            admitted.append(now)
        else:
            assert 1 <= d.retry_after <= 2 * WINDOW_SECONDS
            # a probe on a copy of the state: after Retry-After it gets through
            probe = MemoryCounter()
            probe._counts = {k: list(v) for k, v in counter._counts.items()}
            assert probe.hit("k", now + d.retry_after, limit).allowed
    for i, t in enumerate(admitted):
        in_span = sum(1 for u in admitted[i:] if u < t + WINDOW_SECONDS)
        assert in_span <= 2 * limit
