"""Liveness and readiness: readiness names the part that fails (database, redis)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text


@get("/health/live", tags=["health"], summary="Process is up", sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", tags=["health"], summary="Database and Redis reachable")
async def ready(state: State) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the name says where
        checks["database"] = f"error: {type(exc).__name__}"
    if state.redis is not None:
        try:
            async with asyncio.timeout(2):
                await state.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    failing = [name for name, status in checks.items() if status != "ok"]
    body: dict[str, Any] = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return Response(body, status_code=200 if not failing else 503)
