"""The one rate limiter, in-process: a limit or a window of 0 turns it off."""

from __future__ import annotations

from cardsvc.kernel.ratelimit import RateLimiter


async def test_a_zero_limit_or_window_lets_everything_through() -> None:
    limiter = RateLimiter(clock=lambda: 1_800_000_010.0)
    for limit, window in ((0, 60), (3, 0)):
        decisions = [await limiter.hit("otp-resend:p", limit, window) for _ in range(5)]
        assert all(d.allowed and d.backend == "off" for d in decisions)


async def test_the_window_is_per_key_and_length() -> None:
    limiter = RateLimiter(clock=lambda: 1_800_000_010.0)
    assert [(await limiter.hit("k", 2, 3600)).allowed for _ in range(3)] == [True, True, False]
    assert (await limiter.hit("k", 2, 60)).allowed  # the same key with another window
    assert (await limiter.hit("other", 2, 3600)).allowed
