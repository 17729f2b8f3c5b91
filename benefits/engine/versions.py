"""Compiled programme versions, cached in-process.

A published version never changes, so its parsed rules (and the zone and policy order derived
from them) are cached by version id for the life of the process: the redemption hot path reads
only the programme row and finds the rules here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from benefits.engine.statements import SaStatements, Statements
from benefits.rules.limits import plan_order
from benefits.rules.periods import zone
from benefits.rules.programme import LimitPolicy, OnExceed, ProgramRules
from benefits.rules.validation import parse_rules

_CACHE_MAX = 4096
_cache: dict[uuid.UUID, CompiledRules] = {}


@dataclass(frozen=True, slots=True)
class CompiledRules:
    version_id: uuid.UUID | None  # None: an unpublished draft
    number: int
    rules: ProgramRules
    tz: ZoneInfo
    policies: tuple[LimitPolicy, ...]  # in processing / locking order
    # Worked out once per version, not per redemption: the policies by key, and whether any
    # clamps (which keeps a redemption off the one-statement path).
    by_key: Mapping[str, LimitPolicy]
    clamps: bool
    # per policy key: its scope, period and on-exceed values and whether it is a budget
    labels: Mapping[str, tuple[str, str, str, bool]]


def compile_rules(
    data: Mapping[str, Any], *, version_id: uuid.UUID | None = None, number: int = 0
) -> CompiledRules:
    rules = parse_rules(data)
    return CompiledRules(
        version_id,
        number,
        rules,
        zone(rules.timezone),
        plan_order(rules.limits),
        {p.key: p for p in rules.limits},
        any(p.on_exceed is OnExceed.clamp for p in rules.limits),
        {
            p.key: (p.scope.value, p.period.value, p.on_exceed.value, p.is_budget)
            for p in rules.limits
        },
    )


def cached(version_id: uuid.UUID) -> CompiledRules | None:
    return _cache.get(version_id)


def cached_versions(version_ids: list[uuid.UUID]) -> dict[uuid.UUID, CompiledRules] | None:
    """:func:`load_versions` when the cache has them all (no await), else ``None``."""
    out: dict[uuid.UUID, CompiledRules] = {}
    for vid in version_ids:
        if (hit := _cache.get(vid)) is None:
            return None
        out[vid] = hit
    return out


async def load_versions(
    source: AsyncConnection | Statements, version_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CompiledRules]:
    """Compiled rules for ``version_ids``, from the cache or one query for the rest."""
    out: dict[uuid.UUID, CompiledRules] = {}
    missing: list[uuid.UUID] = []
    for vid in version_ids:
        hit = _cache.get(vid)
        if hit is None:
            missing.append(vid)
        else:
            out[vid] = hit
    if missing:
        statements = SaStatements(source) if isinstance(source, AsyncConnection) else source
        for vid, number, rules in await statements.version_rows(missing):
            compiled = compile_rules(rules, version_id=vid, number=number)
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()  # crude but bounded; versions are cheap to reload
            _cache[vid] = compiled
            out[vid] = compiled
    return out


# --- the scan's candidates --------------------------------------------------------------------
# Which programmes are live for an org changes only when staff publish, pause, resume or end
# one, yet every scan asks: each worker keeps the answer per org path for a few seconds. A scan
# on another worker may so show a programme's old status that long; a redemption never relies
# on it (it re-reads status and current version in its own transaction). Changes made in this
# process forget the cache at once (benefits.programmes.lifecycle).
LIVE_TTL_SECONDS = 2.0
_LIVE_MAX = 4096
_live: dict[str, tuple[float, list[Any]]] = {}


def live_programs_cached(org_path: str) -> list[Any] | None:
    hit = _live.get(org_path)
    return hit[1] if hit is not None and time.monotonic() < hit[0] else None


def remember_live_programs(org_path: str, rows: list[Any]) -> None:
    if len(_live) >= _LIVE_MAX:
        _live.clear()
    _live[org_path] = (time.monotonic() + LIVE_TTL_SECONDS, rows)


def forget_live_programs() -> None:
    _live.clear()
