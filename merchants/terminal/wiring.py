"""What the scan / redeem endpoints need from the app, gathered once per worker.

The composition root puts ``settings``, ``cipher``, ``kv`` (short-lived keys), ``limiter`` and
``keyring`` (the card verifier's key cache) into the app state. Apps that lack some of them
(tests building a partial app, the embedded mode before the card routes are mounted) get
in-process equivalents, so the endpoints never fail for want of wiring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar.datastructures import State

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.kv import KV, make_kv
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.kernel.replicas import STATE_KEY as READS_KEY
from cardsvc.kernel.replicas import ReadRouter
from cardsvc.public import KeyRing
from merchants.terminal.scanlog import ScanLogWriter

logger = logging.getLogger("unioncard.merchants")

STATE_KEY = "merchant_redeem"
REVERSAL_WINDOW_SECONDS = 24 * 3600
STATIC_CARD_REDEMPTIONS_PER_HOUR = 10
SCAN_LOG_RETENTION_DAYS = 90
CLOCK_SKEW_SECONDS = 30
SCAN_LOG_FLUSH_MS = 200


@dataclass
class RedeemServices:
    keyring: KeyRing
    kv: KV
    limiter: RateLimiter
    time_zone: str = "Asia/Shanghai"
    skew_seconds: int = CLOCK_SKEW_SECONDS
    reversal_window_seconds: int = REVERSAL_WINDOW_SECONDS
    static_per_hour: int = STATIC_CARD_REDEMPTIONS_PER_HOUR
    # The clock of every decision (token validity, redemption time, reversal window); tests
    # move it instead of sleeping.
    clock: Callable[[], datetime] = field(default=utc_now)
    # Set on first use from the request's engine when the app state has none.
    scan_log: ScanLogWriter | None = None
    # The read replicas' router: a member's redemption keeps their reads on the primary.
    reads: ReadRouter | None = None


def _setting(settings: Any, name: str, default: Any) -> Any:
    return getattr(settings, name, default) if settings is not None else default


def services_of(state: State) -> RedeemServices:
    found = state.get(STATE_KEY)
    if found is not None:
        return found
    settings = state.get("settings")
    keyring = state.get("keyring")
    if keyring is None:
        keyring = KeyRing(state["cipher"])
        state["keyring"] = keyring
    kv = state.get("kv")
    if kv is None:
        kv = make_kv(state.get("redis"))
    limiter = state.get("limiter") or RateLimiter(state.get("redis"))
    engine = state.get("engine")
    flush_ms = int(_setting(settings, "scan_log_flush_ms", SCAN_LOG_FLUSH_MS))
    services = RedeemServices(
        keyring=keyring,
        kv=kv,
        limiter=limiter,
        time_zone=_setting(settings, "time_zone", "Asia/Shanghai"),
        skew_seconds=int(_setting(settings, "clock_skew_seconds", CLOCK_SKEW_SECONDS)),
        reversal_window_seconds=int(
            _setting(settings, "reversal_window_seconds", REVERSAL_WINDOW_SECONDS)
        ),
        static_per_hour=int(
            _setting(settings, "static_card_redemptions_per_hour", STATIC_CARD_REDEMPTIONS_PER_HOUR)
        ),
        scan_log=ScanLogWriter(engine, interval=flush_ms / 1000) if engine is not None else None,
        reads=state.get(READS_KEY),
    )
    state[STATE_KEY] = services
    return services
