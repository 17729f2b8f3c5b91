"""CI's soak: ``bench/soak.py --seconds 30`` (mixed traffic, 2 workers, PostgreSQL + Redis).

A pytest test rather than a line in ``.ci/run``: ``make test`` runs it on every machine, its
failure is reported with the others, and ``-m 'not soak'`` leaves it out of a quick run. It
uses a redis-server of its own, so flushing it touches nobody's data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.faults import (
    RedisServer,
    redis_server,  # noqa: F401 (fixture)
    run_soak,
    server_errors,
)

pytestmark = [pytest.mark.soak, pytest.mark.postgres, pytest.mark.redis]


def test_soak_30s(redis_server: RedisServer, tmp_path: Path) -> None:  # noqa: F811
    rc, summary, output = run_soak(
        tmp_path, seconds=30, redis_url=redis_server.url, members=2000, clients=12, timeout=300
    )
    assert summary, output[-3000:]
    figures = summary["figures"]
    assert server_errors(summary) == {} and figures["errors_5xx"] == 0, summary["samples"]
    assert figures["unexpected"] == 0, summary["samples"]
    assert figures["reconcile_ok"] == 1 and summary["reconcile"]["drifts"] == [], output[-3000:]
    assert figures["ledger_ok"] == 1, output[-3000:]
    # Every kind of request was made and answered.
    assert all(
        sum(summary["status"].get(ep, {}).values()) > 0
        for ep in ("scan", "redeem", "retry", "replay", "reversal", "token", "report")
    ), summary["status"]
    assert rc == 0, output[-3000:]
