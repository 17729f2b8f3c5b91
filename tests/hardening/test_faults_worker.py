"""An app worker killed (SIGKILL) during a load run (``bench/soak.py``, granian, 2 workers).

The requests it had in flight get no answer; the tills retry them with the same
Idempotency-Key on the surviving worker. Afterwards: no 5xx, granian has respawned the worker,
the ledger holds exactly the redemptions the tills were told happened (no partial rows: a
killed transaction is rolled back whole), and ``unioncard benefits reconcile`` finds the
counters equal to the ledger.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import (
    RedisServer,
    children,
    redis_server,  # noqa: F401 (fixture)
    run_soak,
    server_errors,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_worker_killed_during_load(
    redis_server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    seen: dict[str, Any] = {}

    def kill_worker(_port: int, pid: int) -> None:
        time.sleep(5)
        workers = children(pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        seen["killed"] = workers[0]
        deadline = time.time() + 20
        while time.time() < deadline:
            now = children(pid)
            if len(now) == 2 and workers[0] not in now:
                seen["respawned"] = now
                break
            time.sleep(0.2)

    rc, summary, output = run_soak(
        tmp_path, seconds=18, redis_url=redis_server.url, during=kill_worker, timeout=240
    )
    assert summary, output[-3000:]
    assert "respawned" in seen, (seen, output[-2000:])
    assert server_errors(summary) == {}, summary["samples"]
    figures = summary["figures"]
    assert figures["ledger_ok"] == 1, output[-3000:]
    assert figures["reconcile_ok"] == 1 and summary["reconcile"]["drifts"] == [], output[-3000:]
    assert figures["unexpected"] == 0, summary["samples"]
    assert rc == 0, output[-3000:]
